"""One of several processes hammering the dial gate for the same people (see the race tests in
test_gate.py and test_gate_batch.py)."""

from __future__ import annotations

import datetime as dt

from compliance.attempts import CallResult, complete, mark_dialing
from compliance.models import Outcome
from infra.db import make_engine, make_sessionmaker
from tests.compliance.gate_fixtures import TUESDAY_10AM, Account, make_gate


def hammer(url: str, accounts: list[Account], rounds: int, worker: int) -> int:
    """Asks for every person `rounds` times and completes each allowed call as connected.

    Returns how many calls the gate allowed."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    gate = make_gate(sessions)
    allowed = 0
    for round_number in range(rounds):
        for account in accounts:
            # Same morning for everyone: only the frequency caps can stop these calls.
            at = TUESDAY_10AM + dt.timedelta(minutes=round_number, seconds=worker)
            result = gate.reserve(account.request(at))
            if not result.allowed:
                continue
            allowed += 1
            assert result.attempt_uuid is not None
            with sessions.begin() as session:
                mark_dialing(session, result.attempt_uuid, at)
                complete(session, result.attempt_uuid, CallResult(Outcome.NO_ANSWER, ended_at=at))
    engine.dispose()
    return allowed


def hammer_in_batches(url: str, accounts: list[Account], rounds: int, worker: int) -> int:
    """Like `hammer`, but asks for everyone in one batch per round, each worker in its own order
    (so the batches' locks are requested in different orders). Returns how many calls were allowed."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    gate = make_gate(sessions)
    order = accounts[worker:] + accounts[:worker]
    if worker % 2:
        order.reverse()
    allowed = 0
    for round_number in range(rounds):
        at = TUESDAY_10AM + dt.timedelta(minutes=round_number, seconds=worker)
        for result in gate.reserve_many([account.request(at) for account in order]):
            if not result.allowed:
                continue
            allowed += 1
            assert result.attempt_uuid is not None
            with sessions.begin() as session:
                mark_dialing(session, result.attempt_uuid, at)
                complete(session, result.attempt_uuid, CallResult(Outcome.NO_ANSWER, ended_at=at))
    engine.dispose()
    return allowed
