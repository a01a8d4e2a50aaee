"""The dial gate on a real database: check and reserve in one step, decisions stored and linked."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pytest
import sqlalchemy as sa

from compliance.attempts import CallResult, cancel, complete, mark_dialing
from compliance.models import (
    AttemptDebt,
    ContactAttempt,
    ContactRestriction,
    GateDecision,
    Outcome,
    RestrictionKind,
)
from tests.compliance.gate_fixtures import TUESDAY_10AM, add_people, make_gate
from tests.compliance.gate_race_worker import hammer
from tests.conftest import Database


def _complete(db: Database, attempt_uuid: str, outcome: Outcome, at: dt.datetime) -> None:
    with db.sessions.begin() as session:
        mark_dialing(session, attempt_uuid, at)
        complete(session, attempt_uuid, CallResult(outcome, ended_at=at))


def test_allowed_call_is_reserved_with_its_decision(db: Database) -> None:
    [account] = add_people(db.sessions, 1)
    result = make_gate(db.sessions).reserve(account.request(TUESDAY_10AM))
    assert result.allowed, result.verdict
    with db.sessions() as session:
        attempt = session.scalars(sa.select(ContactAttempt)).one()
        decision = session.get(GateDecision, result.decision_id)
        debts = session.scalars(sa.select(AttemptDebt.debt_id)).all()
    assert decision is not None
    assert attempt.uuid == result.attempt_uuid
    assert attempt.status == "reserved"
    assert attempt.gate_decision_id == decision.id
    assert debts == [account.debt_id]
    assert decision.allowed
    assert len(decision.inputs_digest) == 64
    assert decision.policy_version
    assert decision.verdict == result.verdict


def test_denied_call_stores_the_decision_and_no_attempt(db: Database) -> None:
    [account] = add_people(db.sessions, 1)
    night = TUESDAY_10AM.replace(hour=4)  # 23:00 in Chicago the evening before
    result = make_gate(db.sessions).reserve(account.request(night))
    assert not result.allowed
    assert result.verdict["rule"] == "regf.hours.local_time"
    assert result.next_allowed_at is not None
    assert result.next_allowed_at >= night
    with db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(GateDecision)) == 1


def test_eighth_counted_call_in_seven_days_is_refused(db: Database) -> None:
    """12 CFR 1006.14(b)(2)(i)(A): seven calls in seven days is the most; the 8th is refused."""
    [account] = add_people(db.sessions, 1)
    gate = make_gate(db.sessions)
    for day in range(7):
        at = TUESDAY_10AM + dt.timedelta(days=day)
        result = gate.reserve(account.request(at))
        assert result.allowed, (day, result.verdict)
        assert result.attempt_uuid is not None
        _complete(db, result.attempt_uuid, Outcome.NO_ANSWER, at)
    eighth = gate.reserve(account.request(TUESDAY_10AM + dt.timedelta(days=6, hours=2)))
    assert not eighth.allowed
    assert eighth.verdict["rule"] == "regf.frequency.seven_in_seven"


def test_busy_and_cancelled_attempts_stop_counting(db: Database) -> None:
    """Busy is not connected to the dialed number (1006.14(b)(3)(ii)); a cancelled reservation never
    went out."""
    [account] = add_people(db.sessions, 1)
    gate = make_gate(db.sessions)
    for minute in range(20):
        at = TUESDAY_10AM + dt.timedelta(minutes=minute)
        result = gate.reserve(account.request(at))
        assert result.allowed, (minute, result.verdict)
        assert result.attempt_uuid is not None
        if minute % 2:
            _complete(db, result.attempt_uuid, Outcome.BUSY, at)
        else:
            with db.sessions.begin() as session:
                cancel(session, result.attempt_uuid)


def test_in_flight_reservations_count(db: Database) -> None:
    [account] = add_people(db.sessions, 1)
    gate = make_gate(db.sessions)
    results = [
        gate.reserve(account.request(TUESDAY_10AM + dt.timedelta(minutes=minute))) for minute in range(8)
    ]
    assert [result.allowed for result in results] == [True] * 7 + [False]


def test_do_not_call_restriction_blocks_every_number(db: Database) -> None:
    [account] = add_people(db.sessions, 1)
    with db.sessions.begin() as session:
        session.add(
            ContactRestriction(
                person_id=account.person_id,
                kind=RestrictionKind.NO_CALLS,
                requested_at=TUESDAY_10AM - dt.timedelta(days=1),
            )
        )
    result = make_gate(db.sessions).reserve(account.request(TUESDAY_10AM))
    assert not result.allowed
    assert result.verdict["next_allowed_at"] is None


@pytest.mark.slow
def test_racing_processes_never_exceed_the_cap(pg_database: Database) -> None:
    """Four processes ask for the same five people at once; each gets exactly seven calls."""
    accounts = add_people(pg_database.sessions, 5)
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        allowed = pool.starmap(hammer, [(pg_database.url, accounts, 6, worker) for worker in range(4)])
    assert sum(allowed) == 7 * len(accounts)
    with pg_database.sessions() as session:
        per_person = dict(
            session.execute(
                sa.select(ContactAttempt.person_id, sa.func.count()).group_by(ContactAttempt.person_id)
            ).all()
        )
    assert per_person == {account.person_id: 7 for account in accounts}


def test_a_batch_decides_each_person_on_their_own_facts(db: Database) -> None:
    accounts = add_people(db.sessions, 3)
    with db.sessions.begin() as session:
        session.add(
            ContactRestriction(
                person_id=accounts[1].person_id,
                kind=RestrictionKind.NUMBER,
                number=accounts[1].number,
                requested_at=TUESDAY_10AM - dt.timedelta(days=1),
            )
        )
    results = make_gate(db.sessions).reserve_many([account.request(TUESDAY_10AM) for account in accounts])
    assert [result.allowed for result in results] == [True, False, True]
    assert results[1].verdict["rule"] == "regf.media.no_calls"
    with db.sessions() as session:
        attempts = session.scalars(
            sa.select(ContactAttempt.person_id).order_by(ContactAttempt.person_id)
        ).all()
    assert attempts == [accounts[0].person_id, accounts[2].person_id]


def test_a_batch_holds_one_call_per_person(db: Database) -> None:
    [account] = add_people(db.sessions, 1)
    with pytest.raises(ValueError, match="one call per person"):
        make_gate(db.sessions).reserve_many([account.request(TUESDAY_10AM)] * 2)
