"""The account history of the workspace: calls, notes, promises, payments, holds, restrictions
and callbacks of the person, newest first."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.models import Note, Payment, Promise, PromiseInstalment
from compliance.models import ContactAttempt, ContactRestriction
from infra.models import User
from infra.money import format_minor
from workbench.call_facts import CallFacts

HISTORY_LIMIT = 60


@dataclasses.dataclass(frozen=True)
class PromiseView:
    promise: Promise
    instalments: list[PromiseInstalment]
    account_ref: str


@dataclasses.dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # attempt | note | promise | payment | hold | restriction | callback
    title: str
    detail: str


def recent_attempts(db: Session, person_id: int) -> list[ContactAttempt]:
    return list(
        db.scalars(
            sa.select(ContactAttempt)
            .where(ContactAttempt.person_id == person_id)
            .order_by(ContactAttempt.reserved_at.desc())
            .limit(HISTORY_LIMIT)
        )
    )


def _author_names(db: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(db.execute(sa.select(User.id, User.display_name).where(User.id.in_(sorted(user_ids)))).all())


def _attempt_entry(attempt: ContactAttempt, labels: dict[str, str], authors: dict[int, str]) -> TimelineEntry:
    parts = (
        attempt.outcome.value.replace("_", " ") if attempt.outcome else attempt.status.value,
        f"{attempt.disposition_code} {labels.get(attempt.disposition_code, '')}".strip()
        if attempt.disposition_code
        else "",
        f"agent {authors.get(attempt.agent_id, '')}".strip() if attempt.agent_id else "",
    )
    return TimelineEntry(
        attempt.dialed_at or attempt.reserved_at,
        "attempt",
        f"Call to {attempt.number} ({attempt.mode.value})",
        ", ".join(part for part in parts if part),
    )


def timeline(
    db: Session,
    facts: CallFacts,
    *,
    attempts: list[ContactAttempt],
    promises: list[PromiseView],
    payments: list[Payment],
    debt_refs: dict[int, str],
) -> list[TimelineEntry]:
    """The history; reads the person's notes, every restriction (withdrawn ones too) and the
    names of the users it mentions, and takes the rest from what the caller already loaded."""
    person_id = facts.person.id
    notes = list(
        db.scalars(
            sa.select(Note).where(Note.person_id == person_id).order_by(Note.id.desc()).limit(HISTORY_LIMIT)
        )
    )
    restrictions = list(
        db.scalars(sa.select(ContactRestriction).where(ContactRestriction.person_id == person_id))
    )
    authors = _author_names(
        db,
        {attempt.agent_id for attempt in attempts if attempt.agent_id}
        | {note.author_id for note in notes if note.author_id}
        | {callback.owner_user_id for callback in facts.callbacks if callback.owner_user_id},
    )
    labels = {code.code: code.label for code in facts.codes}
    entries = [_attempt_entry(attempt, labels, authors) for attempt in attempts]
    for note in notes:
        author = authors.get(note.author_id, "") if note.author_id else "system"
        entries.append(TimelineEntry(note.created_at, "note", f"Note by {author}", note.body))
    for view in promises:
        promise = view.promise
        entries.append(
            TimelineEntry(
                promise.created_at,
                "promise",
                f"Promise on {view.account_ref}: {promise.status.value.replace('_', ' ')}",
                f"{len(view.instalments)} × {promise.frequency}, "
                f"total {format_minor(promise.total_minor, promise.currency)}",
            )
        )
    for payment in payments:
        entries.append(
            TimelineEntry(
                payment.paid_at,
                "payment",
                f"Payment on {debt_refs.get(payment.debt_id, '')} ({payment.status})",
                f"{format_minor(payment.amount_minor, payment.currency)} by {payment.method}",
            )
        )
    # Every notice of the person, resolved ones too: the gate reads them all.
    for notice in facts.gate_records.notices:
        state = "resolved" if notice.resolved_at else "open"
        entries.append(
            TimelineEntry(
                notice.received_at,
                "hold",
                f"Hold: {notice.type.value.replace('_', ' ')} ({state})",
                notice.details or "",
            )
        )
    for restriction in restrictions:
        entries.append(
            TimelineEntry(
                restriction.requested_at,
                "restriction",
                f"Restriction: {restriction.kind.value.replace('_', ' ')}",
                restriction.number or restriction.reason or "",
            )
        )
    for callback in facts.callbacks:
        owner = authors.get(callback.owner_user_id, "") if callback.owner_user_id else "pool"
        entries.append(
            TimelineEntry(
                callback.created_at,
                "callback",
                f"Callback {callback.status.value} for {owner}",
                f"due {callback.due_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC ({callback.time_zone})",
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:HISTORY_LIMIT]
