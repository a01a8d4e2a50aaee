"""The audit chain on both databases: appending, tamper detection, triggers and concurrent writers."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import itertools
import json
import multiprocessing
import multiprocessing.synchronize
import os
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.audit import (
    GENESIS_HASH,
    AuditAnchor,
    ProblemKind,
    canonical_json,
    compute_hash,
    format_timestamp,
    record,
    verify,
)
from compliance.models import AuditChainHead, AuditEvent
from infra.db import make_engine, make_sessionmaker, transaction
from tests.conftest import Database


def append(db: Database, count: int, *, actor: str = "system:test") -> None:
    for n in range(count):
        with transaction(db.sessions) as session:
            record(
                session,
                actor=actor,
                action="test.event",
                entity_type="thing",
                entity_id=str(n),
                payload={"n": n, "amount": decimal.Decimal("12.50")},
                client_id=7,
            )


def tamper(db: Database, *statements: str) -> None:
    """Change audit rows the way someone with full database access could: drop the guard first."""
    with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            connection.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        for statement in statements:
            connection.exec_driver_sql(statement)


def head_of(db: Database) -> AuditAnchor:
    with db.engine.connect() as connection:
        row = connection.execute(sa.select(AuditChainHead.seq, AuditChainHead.hash)).one()
    return AuditAnchor(row.seq, row.hash)


class Colour(enum.Enum):
    RED = "red"


def test_canonical_json_converts_common_types_deterministically() -> None:
    moment = dt.datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    payload = {
        "b": decimal.Decimal("12.50"),
        "a": moment,
        "d": dt.date(2026, 3, 1),
        "é": Colour.RED,
        "id": uuid.UUID(int=1),
        "tags": {"y", "x"},
        "nested": {"z": [1, None], "a": True},
    }
    assert canonical_json(payload) == (
        '{"a":"2026-03-01T17:00:00.000005Z","b":"12.50","d":"2026-03-01",'
        '"id":"00000000-0000-0000-0000-000000000001","nested":{"a":true,"z":[1,null]},'
        '"tags":["x","y"],"é":"red"}'
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"when": dt.datetime(2026, 1, 1)}, ValueError),  # naive: which zone?
        ({"x": float("nan")}, ValueError),
        ({"x": decimal.Decimal("Infinity")}, ValueError),
        ({"x": object()}, TypeError),
        ({"x": b"bytes"}, TypeError),
    ],
)
def test_canonical_json_refuses_values_without_one_meaning(
    value: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        canonical_json(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=50)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_canonical_json_ignores_key_order_and_round_trips(payload: dict[str, Any]) -> None:
    reordered = dict(reversed(list(payload.items())))
    assert canonical_json(reordered) == canonical_json(payload)
    assert json.loads(canonical_json(payload)) == payload


BASE_LINK: dict[str, Any] = {
    "seq": 4,
    "occurred_at": dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC),
    "actor": "user:12",
    "action": "promise.created",
    "entity_type": "promise",
    "entity_id": "55",
    "client_id": 3,
    "payload": '{"amount":"10.00"}',
}


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("seq", 5),
        ("occurred_at", dt.datetime(2026, 3, 1, 17, 0, 0, 1, tzinfo=dt.UTC)),
        ("actor", "user:13"),
        ("action", "promise.cancelled"),
        ("entity_type", "payment"),
        ("entity_id", None),
        ("client_id", None),
        ("payload", '{"amount":"10.01"}'),
    ],
)
def test_every_field_is_covered_by_the_hash(field: str, other: object) -> None:
    original = compute_hash(GENESIS_HASH, **BASE_LINK)
    assert compute_hash(GENESIS_HASH, **{**BASE_LINK, field: other}) != original
    assert compute_hash("1" * 64, **BASE_LINK) != original


def test_timestamps_are_utc_to_the_microsecond() -> None:
    moment = dt.datetime(2026, 3, 1, 1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_timestamp(moment) == "2026-02-28T23:02:03.000000Z"


def test_an_intact_chain_verifies(db: Database) -> None:
    append(db, 5)
    with transaction(db.sessions) as session:  # several events in one transaction
        for n in range(2):
            record(
                session,
                actor="user:1",
                action="note.added",
                entity_type="note",
                entity_id=None,
                payload={"n": n},
            )

    result = verify(db.engine, batch_size=2)

    assert result.intact, result.summary()
    assert result.events_checked == 7
    assert result.head == head_of(db)
    assert result.head.seq == 7
    with db.sessions() as session:
        assert verify(session).intact
        stored = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [event.seq for event in stored] == list(range(1, 8))
    assert stored[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(stored))
    assert stored[0].payload == '{"amount":"12.50","n":0}'


def test_an_empty_chain_verifies(db: Database) -> None:
    result = verify(db.engine)
    assert result.intact
    assert result.events_checked == 0
    assert result.head == AuditAnchor(0, GENESIS_HASH)


def test_an_event_rolls_back_with_its_transaction(db: Database) -> None:
    append(db, 1)
    with db.sessions() as session:
        session.begin()
        record(
            session, actor="system:test", action="test.event", entity_type="thing", entity_id="x", payload={}
        )
        session.rollback()
    append(db, 1)
    assert verify(db.engine).intact
    assert head_of(db).seq == 2


def test_bad_actor_is_refused(db: Database) -> None:
    with db.sessions() as session, session.begin(), pytest.raises(ValueError, match="actor"):
        record(session, actor="alice", action="x", entity_type="t", entity_id=None, payload={})


def test_append_only_triggers_refuse_update_and_delete(db: Database) -> None:
    append(db, 2)
    for statement in (
        "UPDATE audit_events SET payload = '{}' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 2",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(sa.text(statement))
    assert verify(db.engine).intact


def test_an_edited_event_is_named(db: Database) -> None:
    append(db, 5)
    tamper(db, """UPDATE audit_events SET payload = '{"amount":"1.00","n":2}' WHERE seq = 3""")

    result = verify(db.engine, batch_size=2)

    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (3, ProblemKind.ALTERED)
    assert result.events_checked == 2
    assert "seq 3" in result.summary()


def test_an_edited_actor_is_named(db: Database) -> None:
    append(db, 3)
    tamper(db, "UPDATE audit_events SET actor = 'user:99' WHERE seq = 2")
    result = verify(db.engine)
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (2, ProblemKind.ALTERED)


def test_an_event_rewritten_with_a_recomputed_hash_breaks_the_next_link(db: Database) -> None:
    append(db, 5)
    with db.engine.connect() as connection:
        row = connection.execute(sa.select(AuditEvent.__table__).where(AuditEvent.seq == 3)).one()
    forged_payload = '{"amount":"0.01","n":2}'
    forged = compute_hash(
        row.prev_hash,
        seq=3,
        occurred_at=row.occurred_at,
        actor=row.actor,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        client_id=row.client_id,
        payload=forged_payload,
    )
    tamper(db, f"UPDATE audit_events SET payload = '{forged_payload}', hash = '{forged}' WHERE seq = 3")

    result = verify(db.engine)

    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (4, ProblemKind.BROKEN_LINK)
    assert "seq 3" in result.problem.detail


def test_a_deleted_event_is_named(db: Database) -> None:
    append(db, 5)
    tamper(db, "DELETE FROM audit_events WHERE seq = 3")
    result = verify(db.engine)
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (3, ProblemKind.MISSING)


def test_swapped_payloads_are_detected(db: Database) -> None:
    append(db, 5)
    tamper(
        db,
        "UPDATE audit_events SET payload = (SELECT payload FROM audit_events WHERE seq = 4) WHERE seq = 2",
        """UPDATE audit_events SET payload = '{"amount":"12.50","n":1}' WHERE seq = 4""",
    )
    result = verify(db.engine)
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (2, ProblemKind.ALTERED)


def test_reordered_events_are_named_with_their_original_position(db: Database) -> None:
    append(db, 5)
    tamper(
        db,
        "UPDATE audit_events SET seq = -2 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 4",
        "UPDATE audit_events SET seq = 4 WHERE seq = -2",
    )
    result = verify(db.engine)
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (2, ProblemKind.MOVED)
    assert "seq 4" in result.problem.detail


def test_a_removed_first_event_is_named(db: Database) -> None:
    append(db, 3)
    tamper(db, "DELETE FROM audit_events WHERE seq = 1")
    result = verify(db.engine)
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (1, ProblemKind.MISSING)


def test_a_truncated_tail_is_caught_by_the_head(db: Database) -> None:
    append(db, 5)
    tamper(db, "DELETE FROM audit_events WHERE seq >= 4")
    result = verify(db.engine)
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (4, ProblemKind.HEAD_MISMATCH)
    assert result.events_checked == 3


def test_an_event_written_around_the_head_is_caught(db: Database) -> None:
    append(db, 2)
    with db.engine.begin() as connection:
        last = connection.execute(sa.select(AuditEvent.__table__).where(AuditEvent.seq == 2)).one()._asdict()
        connection.execute(
            sa.insert(AuditEvent).values({**last, "seq": 3, "prev_hash": last["hash"], "hash": "f" * 64})
        )
    result = verify(db.engine)
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (3, ProblemKind.HEAD_MISMATCH)


def test_an_anchor_catches_a_consistently_rewritten_tail(db: Database) -> None:
    append(db, 5)
    anchor = verify(db.engine).head
    event_four = verify(db.engine, anchor=AuditAnchor(4, "0" * 64))
    assert event_four.problem is not None
    assert event_four.problem.kind is ProblemKind.ANCHOR_MISMATCH
    with db.engine.connect() as connection:
        hash_four = connection.execute(sa.select(AuditEvent.hash).where(AuditEvent.seq == 4)).scalar_one()
    # Cut the last event and move the head back: the chain alone looks whole again.
    tamper(
        db,
        "DELETE FROM audit_events WHERE seq = 5",
        f"UPDATE audit_chain_head SET seq = 4, hash = '{hash_four}'",
    )
    assert verify(db.engine).intact

    result = verify(db.engine, anchor=anchor)

    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (5, ProblemKind.ANCHOR_MISMATCH)


def _append_from_process(url: str, count: int, start: multiprocessing.synchronize.Event) -> None:
    # Durability is not under test; waiting for each commit's WAL flush would only slow it down.
    options = {} if url.startswith("sqlite") else {"connect_args": {"options": "-c synchronous_commit=off"}}
    engine = make_engine(url, **options)
    sessions = make_sessionmaker(engine)
    start.wait()
    for n in range(count):
        with transaction(sessions) as session:
            record(
                session,
                actor=f"system:worker-{os.getpid()}",
                action="test.concurrent",
                entity_type="thing",
                entity_id=str(n),
                payload={"n": n},
            )
    engine.dispose()


@pytest.mark.slow
def test_concurrent_processes_extend_one_chain(db: Database) -> None:
    # Forked children start at once; each opens its own engine and never touches the parent's.
    context = multiprocessing.get_context("fork")
    start = context.Event()
    workers = [context.Process(target=_append_from_process, args=(db.url, 200, start)) for _ in range(4)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]

    result = verify(db.engine)

    assert result.intact, result.summary()
    assert result.events_checked == 800
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(AuditEvent.seq, AuditEvent.actor, AuditEvent.entity_id).order_by(AuditEvent.seq)
        ).all()
    assert [row.seq for row in rows] == list(range(1, 801))
    by_actor: dict[str, list[int]] = {}
    for row in rows:
        by_actor.setdefault(row.actor, []).append(int(str(row.entity_id)))
    assert sorted(by_actor.values()) == [list(range(200))] * 4
