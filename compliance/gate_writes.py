"""The dial gate's writes for one batch: its decisions, the attempts they allowed, their debts.

On PostgreSQL the whole batch is one statement whatever its size: the rows travel as three JSON
documents and data-modifying CTEs link each attempt to its decision and each debt to its
attempt. Elsewhere (SQLite, the embedded mode) the same rows go in as three multi-row inserts.
Either way no ORM unit of work is involved. Rows are matched by person: a batch holds one call
per person.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from compliance.batch_sql import insert_returning_ids, table_of
from compliance.models import AttemptDebt, ContactAttempt, GateDecision

Row = Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class StoredIds:
    decisions: dict[int, int]  # person id -> decision id
    attempts: dict[int, int]  # person id -> attempt id, for the allowed calls


def store_batch(
    session: Session, decisions: Sequence[Row], attempts: Sequence[Row], debts: Mapping[int, Sequence[int]]
) -> StoredIds:
    """`decisions`: one row per person; `attempts`: one row per allowed person, without its
    `gate_decision_id` (filled in here); `debts`: the debt ids each allowed person's call is about."""
    if session.get_bind().dialect.name == "postgresql":
        return _store_in_one_statement(session, decisions, attempts, debts)
    return _store_row_sets(session, decisions, attempts, debts)


def _store_row_sets(
    session: Session, decisions: Sequence[Row], attempts: Sequence[Row], debts: Mapping[int, Sequence[int]]
) -> StoredIds:
    decision_ids = dict(
        zip(
            (row["person_id"] for row in decisions),
            insert_returning_ids(session, GateDecision, decisions),
            strict=True,
        )
    )
    attempt_ids = dict(
        zip(
            (row["person_id"] for row in attempts),
            insert_returning_ids(
                session,
                ContactAttempt,
                [{**row, "gate_decision_id": decision_ids[row["person_id"]]} for row in attempts],
            ),
            strict=True,
        )
    )
    links = [
        {"attempt_id": attempt_id, "debt_id": debt}
        for person_id, attempt_id in attempt_ids.items()
        for debt in debts.get(person_id, ())
    ]
    if links:
        session.execute(sa.insert(table_of(AttemptDebt)), links)
    return StoredIds(decision_ids, attempt_ids)


_DECISION_COLUMNS = [column.name for column in table_of(GateDecision).columns if column.name != "id"]
_ATTEMPT_COLUMNS = [
    "uuid", "client_id", "campaign_id", "person_id", "phone_id", "number", "direction", "mode",
    "status", "agent_id", "reserved_at",
]  # fmt: skip
_ONE_STATEMENT = sa.text(
    f"""
    WITH decisions AS (
        INSERT INTO gate_decisions ({", ".join(_DECISION_COLUMNS)})
        SELECT {", ".join(_DECISION_COLUMNS)}
        FROM json_populate_recordset(NULL::gate_decisions, CAST(:decisions AS json))
        RETURNING id, person_id
    ), attempts AS (
        INSERT INTO contact_attempts ({", ".join(_ATTEMPT_COLUMNS)}, gate_decision_id)
        SELECT {", ".join(f"attempt.{name}" for name in _ATTEMPT_COLUMNS)}, decisions.id
        FROM json_populate_recordset(NULL::contact_attempts, CAST(:attempts AS json)) AS attempt
        JOIN decisions USING (person_id)
        RETURNING id, person_id
    ), links AS (
        INSERT INTO attempt_debts (attempt_id, debt_id)
        SELECT attempts.id, link.debt_id
        FROM json_to_recordset(CAST(:links AS json)) AS link(person_id bigint, debt_id bigint)
        JOIN attempts USING (person_id)
    )
    SELECT 'decision' AS kind, id, person_id FROM decisions
    UNION ALL
    SELECT 'attempt', id, person_id FROM attempts
    """
)


def _stored_timestamp(value: object) -> str:
    """Timestamps are stored as naive UTC (see `infra.db.UTCDateTime`), which refuses naive input."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"cannot store {value!r} in a gate record")
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: give a timezone")
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat()


def _json(rows: object) -> str:
    return json.dumps(rows, default=_stored_timestamp)


def _store_in_one_statement(
    session: Session, decisions: Sequence[Row], attempts: Sequence[Row], debts: Mapping[int, Sequence[int]]
) -> StoredIds:
    for rows, columns in ((decisions, _DECISION_COLUMNS), (attempts, _ATTEMPT_COLUMNS)):
        if rows and sorted(rows[0]) != sorted(columns):
            raise ValueError(f"gate rows hold {sorted(rows[0])}, the statement writes {sorted(columns)}")
    links = [
        {"person_id": row["person_id"], "debt_id": debt}
        for row in attempts
        for debt in debts.get(row["person_id"], ())
    ]
    stored = StoredIds({}, {})
    for kind, row_id, person_id in session.execute(
        _ONE_STATEMENT,
        {"decisions": _json(decisions), "attempts": _json(attempts), "links": _json(links)},
    ):
        (stored.decisions if kind == "decision" else stored.attempts)[person_id] = row_id
    return stored
