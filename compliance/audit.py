"""The tamper-evident audit chain.

Every event stores the hash of the event before it, and its own hash covers that previous hash
and its canonical content. Changing, deleting, inserting or moving an event therefore breaks the
chain from that point on, and `verify` names the first event where it breaks. The single
`audit_chain_head` row always names the last event, so cutting events off the end shows up too.

Someone with full database access could rewrite the whole chain from the altered event onwards;
keeping the head hash that `arrears audit verify` prints somewhere else (an "anchor") and checking
against it later closes that gap.

Appending takes a row lock on the head inside the caller's transaction, so concurrent writers in
any number of processes extend one chain, and an event commits or rolls back with the data it
describes. The lock is held until that transaction ends: record late in a transaction, and keep
transactions that record short, because every writer of the audit chain waits for it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from compliance.models import AuditChainHead, AuditEvent
from infra.db import utcnow

GENESIS_HASH = "0" * 64
HEAD_ID = 1
VERIFY_BATCH_SIZE = 1000

# "user:12", "system:import": who did it, as a kind and an identifier within that kind.
ACTOR_PATTERN = re.compile(r"[a-z][a-z0-9_-]*:\S+")

_events = cast(sa.Table, AuditEvent.__table__)
_head = cast(sa.Table, AuditChainHead.__table__)


def _json_default(value: object) -> object:
    """Deterministic JSON forms for the non-JSON values that payloads commonly carry."""
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be audited")
        # str keeps the scale the value was given with: 12.50 stays "12.50".
        return str(value)
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=canonical_json)
    raise TypeError(f"{type(value).__name__} values cannot be audited: convert them first")


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no whitespace, non-ASCII kept as is."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def format_timestamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC to the microsecond; naive datetimes are refused rather than guessed."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give a timezone")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(
    prev_hash: str,
    *,
    seq: int,
    occurred_at: dt.datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    client_id: int | None,
    payload: str,
) -> str:
    """The hash of one link: sha256 over the previous hash and the event's canonical content.

    `payload` is the stored canonical JSON text, hashed as a string so the hash never depends on
    how a JSON library would re-encode it.
    """
    content = canonical_json(
        {
            "seq": seq,
            "occurred_at": format_timestamp(occurred_at),
            "actor": actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "client_id": client_id,
            "payload": payload,
        }
    )
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def _check_length(name: str, value: str | None, limit: int) -> None:
    # PostgreSQL would refuse an over-long value at commit and SQLite would keep it; refuse it
    # here so both databases behave alike and the caller learns which field is wrong.
    if value is not None and len(value) > limit:
        raise ValueError(f"audit {name} is longer than {limit} characters: {value[:80]!r}")


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    payload: dict[str, Any],
    client_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the session's current transaction."""
    if not ACTOR_PATTERN.fullmatch(actor):
        raise ValueError(f"audit actor {actor!r} must look like 'user:12' or 'system:import'")
    for name, value, limit in (
        ("actor", actor, 100),
        ("action", action, 64),
        ("entity_type", entity_type, 64),
        ("entity_id", entity_id, 64),
    ):
        _check_length(name, value, limit)
    # Encode before taking the lock, so a bad payload fails without making other writers wait.
    payload_text = canonical_json(payload)

    head = session.execute(
        sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == HEAD_ID).with_for_update()
    ).one()
    seq = head.seq + 1
    # Taken under the lock, so timestamps never go backwards along the chain on one clock.
    occurred_at = utcnow()
    digest = compute_hash(
        head.hash,
        seq=seq,
        occurred_at=occurred_at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        client_id=client_id,
        payload=payload_text,
    )
    event = AuditEvent(
        seq=seq,
        occurred_at=occurred_at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        client_id=client_id,
        payload=payload_text,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(event)
    session.flush()
    session.execute(sa.update(_head).where(_head.c.id == HEAD_ID).values(seq=seq, hash=digest))
    return event


class ProblemKind(enum.StrEnum):
    ALTERED = "altered"  # the event's content no longer matches its hash
    MOVED = "moved"  # an intact event sits at another position than it was written at
    MISSING = "missing"  # sequence numbers are missing: events were deleted
    BROKEN_LINK = "broken_link"  # the event does not follow the one before it
    HEAD_MISMATCH = "head_mismatch"  # the chain head does not name the last event
    ANCHOR_MISMATCH = "anchor_mismatch"  # the chain no longer contains a hash kept elsewhere


@dataclasses.dataclass(frozen=True)
class AuditProblem:
    seq: int
    kind: ProblemKind
    detail: str


@dataclasses.dataclass(frozen=True)
class AuditAnchor:
    """A (seq, hash) pair noted outside the database; the chain must still contain it."""

    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> AuditAnchor:
        seq, separator, digest = text.partition(":")
        if not separator or not seq.isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"anchor {text!r} must be SEQ:HASH, e.g. 812:{'ab' * 32}")
        return cls(int(seq), digest)

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclasses.dataclass(frozen=True)
class AuditVerification:
    events_checked: int  # events found intact before the first problem (all of them when intact)
    head: AuditAnchor  # the chain head as read when verification started
    problem: AuditProblem | None

    @property
    def intact(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem is None:
            return f"audit chain intact: {self.events_checked} events, head {self.head}"
        return (
            f"audit chain BROKEN at seq {self.problem.seq} ({self.problem.kind}): {self.problem.detail}; "
            f"{self.events_checked} events intact before it"
        )


Fetch = Callable[[sa.Select[Any]], Sequence[sa.Row[Any]]]


def _fetcher(source: Session | Engine) -> Fetch:
    if isinstance(source, Session):
        return lambda statement: source.execute(statement).all()

    def fetch(statement: sa.Select[Any]) -> Sequence[sa.Row[Any]]:
        # One short transaction per batch: verifying a long chain never holds writers back.
        with source.connect() as connection:
            return connection.execute(statement).all()

    return fetch


def _row_hash(row: sa.Row[Any], *, seq: int) -> str:
    return compute_hash(
        row.prev_hash,
        seq=seq,
        occurred_at=row.occurred_at,
        actor=row.actor,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        client_id=row.client_id,
        payload=row.payload,
    )


def _content_problem(fetch: Fetch, row: sa.Row[Any]) -> AuditProblem:
    """Tell a moved event from an altered one: an event moved intact still hashes correctly at
    the position right after the event its prev_hash names."""
    if row.prev_hash == GENESIS_HASH:
        written_at: int | None = 1
    else:
        found = fetch(sa.select(_events.c.seq).where(_events.c.hash == row.prev_hash))
        written_at = found[0].seq + 1 if found else None
    if written_at is not None and written_at != row.seq and _row_hash(row, seq=written_at) == row.hash:
        return AuditProblem(row.seq, ProblemKind.MOVED, f"holds the event written as seq {written_at}")
    return AuditProblem(row.seq, ProblemKind.ALTERED, "content does not match the stored hash")


def _check_row(fetch: Fetch, row: sa.Row[Any], expected_seq: int, previous_hash: str) -> AuditProblem | None:
    if row.seq != expected_seq:
        missing = (
            f"seq {expected_seq} is missing"
            if row.seq == expected_seq + 1
            else f"seqs {expected_seq}..{row.seq - 1} are missing"
        )
        return AuditProblem(expected_seq, ProblemKind.MISSING, f"{missing} (deleted events)")
    if _row_hash(row, seq=row.seq) != row.hash:
        return _content_problem(fetch, row)
    if row.prev_hash != previous_hash:
        return AuditProblem(
            row.seq,
            ProblemKind.BROKEN_LINK,
            f"prev_hash does not match the hash of seq {row.seq - 1}: that event was rewritten with a "
            "recomputed hash, or events were replaced",
        )
    return None


def _check_head(fetch: Fetch, head: AuditAnchor, last: AuditAnchor) -> AuditProblem | None:
    if last.seq < head.seq:
        return AuditProblem(
            last.seq + 1,
            ProblemKind.HEAD_MISMATCH,
            f"the chain head names seq {head.seq} but the last event is seq {last.seq} (truncated)",
        )
    if last.hash != head.hash:
        return AuditProblem(
            head.seq, ProblemKind.HEAD_MISMATCH, "the chain head's hash differs from the event's"
        )
    # Appenders move the head in the same transaction as the event, so a head read after the
    # highest seq always covers it; an event beyond it was written around the chain.
    highest = fetch(sa.select(sa.func.max(_events.c.seq)))[0][0]
    current = fetch(sa.select(_head.c.seq).where(_head.c.id == HEAD_ID))[0].seq
    if highest is not None and highest > current:
        return AuditProblem(
            current + 1, ProblemKind.HEAD_MISMATCH, f"events up to seq {highest} lie beyond the chain head"
        )
    return None


def verify(
    source: Session | Engine,
    *,
    anchor: AuditAnchor | None = None,
    batch_size: int = VERIFY_BATCH_SIZE,
) -> AuditVerification:
    """Walk the chain in seq order, a batch at a time, and report the first problem.

    Events appended while the walk runs are left for the next verification: the walk ends at the
    head read when it starts.
    """
    fetch = _fetcher(source)
    head_row = fetch(sa.select(_head.c.seq, _head.c.hash).where(_head.c.id == HEAD_ID))[0]
    head = AuditAnchor(head_row.seq, head_row.hash)
    last = AuditAnchor(0, GENESIS_HASH)
    checked = 0

    def result(problem: AuditProblem | None) -> AuditVerification:
        return AuditVerification(checked, head, problem)

    while last.seq < head.seq:
        rows = fetch(
            sa.select(_events)
            .where(_events.c.seq > last.seq, _events.c.seq <= head.seq)
            .order_by(_events.c.seq)
            .limit(batch_size)
        )
        if not rows:
            break
        for row in rows:
            problem = _check_row(fetch, row, last.seq + 1, last.hash)
            if problem is None and anchor is not None and row.seq == anchor.seq and row.hash != anchor.hash:
                problem = AuditProblem(
                    row.seq, ProblemKind.ANCHOR_MISMATCH, f"hash differs from anchor {anchor}"
                )
            if problem is not None:
                return result(problem)
            last = AuditAnchor(row.seq, row.hash)
            checked += 1
    problem = _check_head(fetch, head, last)
    if problem is None and anchor is not None and anchor.seq > last.seq:
        problem = AuditProblem(
            last.seq + 1, ProblemKind.ANCHOR_MISMATCH, f"the chain ends before anchor {anchor} (truncated)"
        )
    return result(problem)
