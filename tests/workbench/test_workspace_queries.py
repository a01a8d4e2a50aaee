"""The statements one workspace build sends to the database: a small fixed number, whatever the
size of the account, so a query per debt, promise or note (an N+1) cannot come back unnoticed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from campaigns.models import (
    Callback,
    CallbackStatus,
    Debt,
    DebtKind,
    Note,
    Payment,
    Phone,
    PhoneType,
    Promise,
    PromiseInstalment,
    PromiseStatus,
)
from compliance.models import (
    AttemptStatus,
    ContactAttempt,
    ContactRestriction,
    DialingMode,
    Notice,
    NoticeType,
    Outcome,
    RestrictionKind,
)
from infra.models import Role
from tests.conftest import Database
from tests.workbench.conftest import add_client, add_user
from tests.workbench.test_agent_workspace import NOW, Call, add_account, connect_call
from workbench.agent_calls import DISCLOSED_MARK, VERIFIED_MARK
from workbench.agent_workspace import workspace_context
from workbench.sessions import WebSession
from workbench.viewer import ClientScope, Viewer

# Statements of one build: the attempt, the person, the right-party steps, promises, callbacks,
# the disposition codes, and the dial gate's own reads (four of the account, five of holds,
# consents and attempts). The account shown once the right party is verified adds debts, the
# call's debts, phones, payments, recent calls, instalments, notes, restrictions and the names of
# the users the history mentions.
LOCKED_STATEMENTS = 15
UNLOCKED_STATEMENTS = 24
DAY = dt.timedelta(days=1)


def add_history(db: Database, call: Call, agent_id: int, size: int) -> None:
    """`size` of every kind of record the workspace shows: debts with payments, promises with
    instalments, holds, phones, restrictions, past calls, notes and callbacks."""
    with db.sessions() as session, session.begin():
        attempt_id = session.scalars(
            sa.select(ContactAttempt.id).where(ContactAttempt.uuid == call.attempt_uuid)
        ).one()
        for index in range(size):
            debt = Debt(
                client_id=call.client_id,
                person_id=call.person_id,
                account_ref=f"ACC-{call.person_id}-X{index}",
                kind=DebtKind.MEDICAL,
                principal_minor=50_000 + index,
                placed_on=dt.date(2025, 2, 1),
            )
            session.add(debt)
            session.flush()
            session.add(
                Payment(debt_id=debt.id, amount_minor=1_000, currency="USD", paid_at=NOW - DAY, method="card")
            )
            promise = Promise(
                person_id=call.person_id,
                debt_id=debt.id,
                attempt_id=attempt_id,
                status=PromiseStatus.ACTIVE,
                total_minor=2_000,
                currency="USD",
                created_at=NOW - index * DAY,
            )
            session.add(promise)
            session.flush()
            session.add_all(
                PromiseInstalment(
                    promise_id=promise.id, seq=seq, due_on=dt.date(2025, 7, seq), amount_minor=1_000
                )
                for seq in (1, 2)
            )
            session.add(
                Notice(
                    person_id=call.person_id,
                    type=NoticeType.DISPUTE,
                    received_at=NOW - 2 * DAY,
                    debt_ids=[debt.id],
                    resolved_at=NOW - DAY if index % 2 else None,
                )
            )
            session.add(
                Phone(
                    person_id=call.person_id,
                    number=f"+1773555{index:04d}",
                    type=PhoneType.LANDLINE,
                    position=2,
                )
            )
            session.add(
                ContactRestriction(
                    person_id=call.person_id,
                    kind=RestrictionKind.INCONVENIENT_TIME,
                    time_from=dt.time(12),
                    time_to=dt.time(13),
                    days=["mon"],
                    requested_at=NOW - 3 * DAY,
                    withdrawn_at=NOW - DAY if index % 2 else None,
                )
            )
            session.add(
                ContactAttempt(
                    uuid=f"{call.attempt_uuid[:-4]}{index:04d}",
                    client_id=call.client_id,
                    person_id=call.person_id,
                    number=call.number,
                    mode=DialingMode.PREVIEW,
                    status=AttemptStatus.COMPLETED,
                    outcome=Outcome.NO_ANSWER,
                    agent_id=agent_id,
                    reserved_at=NOW - (index + 1) * DAY,
                )
            )
            session.add(
                Note(person_id=call.person_id, author_id=agent_id, body=f"Note {index}", created_at=NOW)
            )
            session.add(
                Callback(
                    person_id=call.person_id,
                    due_at=NOW + DAY,
                    time_zone="America/Chicago",
                    owner_user_id=agent_id,
                    status=CallbackStatus.PENDING,
                    attempt_id=attempt_id,
                    created_at=NOW,
                )
            )


def unlock(db: Database, call: Call) -> None:
    """The system notes the verification and the disclosure leave on the call."""
    with db.sessions() as session, session.begin():
        attempt_id = session.scalars(
            sa.select(ContactAttempt.id).where(ContactAttempt.uuid == call.attempt_uuid)
        ).one()
        for mark in (VERIFIED_MARK, DISCLOSED_MARK):
            session.add(
                Note(person_id=call.person_id, attempt_id=attempt_id, body=f"{mark}: test.", created_at=NOW)
            )


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))  # the statement text

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def build(db: Database, call: Call, agent_id: int) -> tuple[int, dict[str, Any]]:
    """The statements of one workspace build, and what it built."""
    viewer = Viewer(
        agent_id,
        "jo",
        "Jo Collector",
        Role.AGENT,
        ClientScope(frozenset({call.client_id})),
        WebSession("session-id", agent_id, "csrf", NOW),
    )
    with db.sessions() as session, session.begin():
        session.execute(sa.select(1))  # the transaction's own start is not the workspace's
        with counting(db) as statements:
            context = workspace_context(session, viewer, call.attempt_uuid, NOW, "us-federal")
    return len(statements), context


@pytest.fixture
def agent_id(db: Database) -> int:
    add_client(db, "ACME", "Acme Bank")
    return add_user(db, "jo", Role.AGENT, display_name="Jo Collector", clients=["ACME"])


def call_with_history(db: Database, agent_id: int, size: int) -> Call:
    person_id, debt_id, number = add_account(db, "ACME", ref=f"P{size}")
    call = connect_call(db, person_id, debt_id, number, agent_id)
    add_history(db, call, agent_id, size)
    return call


def test_a_workspace_build_sends_a_fixed_handful_of_statements_whatever_the_account_holds(
    db: Database, agent_id: int
) -> None:
    small, large = (call_with_history(db, agent_id, size) for size in (1, 6))
    locked = {call.attempt_uuid: build(db, call, agent_id) for call in (small, large)}
    for call in (small, large):
        unlock(db, call)
    unlocked = {call.attempt_uuid: build(db, call, agent_id) for call in (small, large)}

    assert all(context["account"] is None for _, context in locked.values())
    _, context = unlocked[large.attempt_uuid]
    account, strip = context["account"], context["strip"]
    assert (len(account.debts), len(account.promises), len(account.phones)) == (7, 6, 7)
    assert len(strip.meters) == 7
    assert len(context["callbacks_on_call"]) == 6
    assert {entry.kind for entry in account.timeline} == {
        "attempt",
        "note",
        "promise",
        "payment",
        "hold",
        "restriction",
        "callback",
    }
    assert locked[small.attempt_uuid][0] == locked[large.attempt_uuid][0] <= LOCKED_STATEMENTS
    assert unlocked[small.attempt_uuid][0] == unlocked[large.attempt_uuid][0] <= UNLOCKED_STATEMENTS
