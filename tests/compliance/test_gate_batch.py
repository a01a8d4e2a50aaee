"""A hopper's batch through the dial gate: stored exactly as decided, and safe under races."""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import zoneinfo

import pytest
import sqlalchemy as sa

from campaigns.account_facts import load_account_facts
from campaigns.models import Debt, DebtKind
from compliance import policy as rules
from compliance.gate import DialRequest, build_case, load_compliance_records
from compliance.models import AttemptDebt, ContactAttempt, ContactRestriction, GateDecision, RestrictionKind
from tests.compliance.gate_fixtures import TUESDAY_10AM, add_people, make_gate
from tests.compliance.gate_race_worker import hammer_in_batches
from tests.conftest import Database

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def _second_debt(db: Database, person_id: int) -> int:
    with db.sessions.begin() as session:
        client_id = session.scalars(sa.select(Debt.client_id).where(Debt.person_id == person_id)).first()
        assert client_id is not None
        debt = Debt(
            client_id=client_id, person_id=person_id, account_ref=f"B{person_id}", kind=DebtKind.MEDICAL
        )
        session.add(debt)
        session.flush()
        return debt.id


def test_a_batch_stores_every_decision_as_decided(db: Database) -> None:
    """Decisions, attempts and their debts read back through the models equal what was decided,
    timestamps included when the request's clock is not UTC."""
    accounts = add_people(db.sessions, 3)
    with db.sessions.begin() as session:
        session.add(
            ContactRestriction(
                person_id=accounts[2].person_id,
                kind=RestrictionKind.NO_CALLS,
                requested_at=TUESDAY_10AM - dt.timedelta(days=1),
            )
        )
    extra_debt = _second_debt(db, accounts[0].person_id)
    at = TUESDAY_10AM.astimezone(CHICAGO)
    requests = [account.request(at) for account in accounts]
    requests[0] = dataclasses.replace(requests[0], debt_ids=(accounts[0].debt_id, extra_debt))
    gate = make_gate(db.sessions)
    with db.sessions() as session:
        facts = load_account_facts(session, [request.person_id for request in requests])
        records = load_compliance_records(session, [request.person_id for request in requests], at)
        cases = [
            build_case(facts[request.person_id], records[request.person_id], request, "us-federal")
            for request in requests
        ]

    results = gate.reserve_many(requests)

    assert [result.allowed for result in results] == [True, True, False]
    with db.sessions() as session:
        for request, case, result in zip(requests, cases, results, strict=True):
            decision = session.get(GateDecision, result.decision_id)
            assert decision is not None
            assert decision.person_id == request.person_id
            assert decision.decided_at == at
            assert decision.number == request.number
            assert decision.mode is request.mode
            assert decision.policy_name == "us-federal"
            assert decision.policy_version == rules.load_policy("us-federal").version_for(case)
            assert decision.inputs_digest == rules.inputs_digest(case)
            assert decision.allowed is result.allowed
            assert decision.rule == result.verdict["rule"]
            assert decision.next_allowed_at == result.next_allowed_at
            assert decision.verdict == result.verdict
        attempts = {
            attempt.person_id: attempt for attempt in session.scalars(sa.select(ContactAttempt)).all()
        }
        links = session.execute(sa.select(AttemptDebt.attempt_id, AttemptDebt.debt_id)).all()
    assert attempts.keys() == {accounts[0].person_id, accounts[1].person_id}
    for result, account in zip(results[:2], accounts, strict=False):
        attempt = attempts[account.person_id]
        assert (attempt.id, attempt.uuid) == (result.attempt_id, result.attempt_uuid)
        assert attempt.gate_decision_id == result.decision_id
        assert attempt.status == "reserved"
        assert attempt.reserved_at == at
    assert results[2].attempt_id is None
    assert results[2].attempt_uuid is None
    assert sorted(links) == sorted(
        [
            (results[0].attempt_id, accounts[0].debt_id),
            (results[0].attempt_id, extra_debt),
            (results[1].attempt_id, accounts[1].debt_id),
        ]
    )


def test_a_batch_where_every_call_is_refused_stores_only_decisions(db: Database) -> None:
    accounts = add_people(db.sessions, 2)
    night = TUESDAY_10AM.replace(hour=4)  # 23:00 in Chicago the evening before
    results = make_gate(db.sessions).reserve_many([account.request(night) for account in accounts])
    assert [result.allowed for result in results] == [False, False]
    with db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(GateDecision)) == 2


def test_an_unknown_person_fails_the_whole_batch(db: Database) -> None:
    [account] = add_people(db.sessions, 1)
    stranger = DialRequest(
        person_id=account.person_id + 1000,
        number=account.number,
        debt_ids=(),
        mode=account.request(TUESDAY_10AM).mode,
        at=TUESDAY_10AM,
    )
    with pytest.raises(LookupError, match=str(account.person_id + 1000)):
        make_gate(db.sessions).reserve_many([account.request(TUESDAY_10AM), stranger])
    with db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(GateDecision)) == 0


@pytest.mark.slow
def test_racing_batches_never_exceed_the_cap(pg_database: Database) -> None:
    """Four processes ask for the same five people in batches, each in its own order; each
    person gets exactly seven calls and no batch deadlocks."""
    accounts = add_people(pg_database.sessions, 5)
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        allowed = pool.starmap(
            hammer_in_batches, [(pg_database.url, accounts, 6, worker) for worker in range(4)]
        )
    assert sum(allowed) == 7 * len(accounts)
    with pg_database.sessions() as session:
        per_person = dict(
            session.execute(
                sa.select(ContactAttempt.person_id, sa.func.count()).group_by(ContactAttempt.person_id)
            ).all()
        )
    assert per_person == {account.person_id: 7 for account in accounts}
