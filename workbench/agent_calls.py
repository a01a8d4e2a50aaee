"""An agent's call: who may open it, how far the right-party steps have gone, and the account
as the workspace shows it. Database reads only; every write lives with its route.

An attempt is the agent's to open only when the dialer assigned it to them (`agent_id`) and its
client is in their scope; anything else is "no such call", so an agent cannot probe other calls.

The right-party steps (verification, disclosure) are recorded as system notes on the attempt
(no author: the agent is named in the text and, as actor, in the audit event), so they appear in
the account history and survive restarts. Agents' own notes always carry their author, so an
agent cannot forge a step by typing a note.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.models import (
    Address,
    Callback,
    Debt,
    Note,
    Payment,
    Person,
    Phone,
    Promise,
    PromiseInstalment,
    PromiseStatus,
)
from compliance.models import (
    AttemptDebt,
    AttemptStatus,
    ContactAttempt,
    ContactRestriction,
    DispositionCode,
    Notice,
)
from infra.models import User
from infra.money import format_minor
from workbench.viewer import Viewer

# After this many failed verifications the agent follows the third-party script.
MAX_VERIFICATION_FAILURES = 3
VERIFIED_MARK = "Right party verified"
NOT_VERIFIED_MARK = "Right-party verification failed"
DISCLOSED_MARK = "Debt-collector disclosure given"
# Aging bands of days since charge-off (or placement when the charge-off date is unknown).
AGING_BANDS = (
    (30, "0-30 days"),
    (60, "31-60 days"),
    (90, "61-90 days"),
    (180, "91-180 days"),
    (365, "181-365 days"),
)
SOL_WARNING_DAYS = 90
HISTORY_LIMIT = 60


class CallNotFoundError(LookupError):
    """No attempt with that id is assigned to this agent in their clients."""


def load_attempt(
    db: Session, viewer: Viewer, attempt_uuid: str, *, for_update: bool = False
) -> ContactAttempt:
    query = sa.select(ContactAttempt).where(ContactAttempt.uuid == attempt_uuid)
    attempt = db.scalars(query.with_for_update() if for_update else query).first()
    if attempt is None or attempt.agent_id != viewer.user_id or not viewer.scope.allows(attempt.client_id):
        raise CallNotFoundError(attempt_uuid)
    return attempt


def is_open(attempt: ContactAttempt) -> bool:
    return attempt.status in {AttemptStatus.RESERVED, AttemptStatus.DIALING}


@dataclasses.dataclass(frozen=True)
class CallSteps:
    verified: bool
    failed_verifications: int
    disclosed_at: dt.datetime | None

    @property
    def unlocked(self) -> bool:
        """Account details may be shown: the right party is verified and was told who calls."""
        return self.verified and self.disclosed_at is not None

    @property
    def third_party(self) -> bool:
        return not self.verified and self.failed_verifications >= MAX_VERIFICATION_FAILURES


def load_steps(db: Session, attempt: ContactAttempt) -> CallSteps:
    bodies = db.execute(
        sa.select(Note.body, Note.created_at)
        .where(
            Note.person_id == attempt.person_id,
            Note.attempt_id == attempt.id,
            Note.author_id.is_(None),
        )
        .order_by(Note.id)
    ).all()
    verified = any(body.startswith(VERIFIED_MARK + ":") for body, _ in bodies)
    failures = sum(body.startswith(NOT_VERIFIED_MARK + ":") for body, _ in bodies)
    disclosed = next((at for body, at in bodies if body.startswith(DISCLOSED_MARK + ":")), None)
    return CallSteps(verified, failures, disclosed)


def attempt_debt_ids(db: Session, attempt: ContactAttempt) -> list[int]:
    return list(
        db.scalars(
            sa.select(AttemptDebt.debt_id)
            .where(AttemptDebt.attempt_id == attempt.id)
            .order_by(AttemptDebt.debt_id)
        )
    )


@dataclasses.dataclass(frozen=True)
class DebtView:
    debt: Debt
    paid_minor: int
    balance_minor: int
    aging_days: int | None
    aging_band: str | None
    sol_state: str | None  # "expired" | "soon" | None
    on_call: bool  # the call is about this debt


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


@dataclasses.dataclass(frozen=True)
class Account:
    person: Person
    address: Address | None
    debts: list[DebtView]
    phones: list[Phone]
    attempts_7d: dict[str, int]
    promises: list[PromiseView]
    payments: list[tuple[Payment, str]]
    timeline: list[TimelineEntry]

    @property
    def balance_minor(self) -> int:
        return sum(view.balance_minor for view in self.debts)

    @property
    def currency(self) -> str:
        return self.debts[0].debt.currency if self.debts else "USD"


def _aging(debt: Debt, today: dt.date) -> tuple[int | None, str | None]:
    start = debt.charged_off_on or debt.placed_on
    if start is None:
        return None, None
    days = (today - start).days
    band = next((label for limit, label in AGING_BANDS if days <= limit), "over 365 days")
    return days, band


def _sol_state(debt: Debt, today: dt.date) -> str | None:
    if debt.statute_of_limitations_on is None:
        return None
    if debt.statute_of_limitations_on <= today:
        return "expired"
    if (debt.statute_of_limitations_on - today).days <= SOL_WARNING_DAYS:
        return "soon"
    return None


def person_of(db: Session, attempt: ContactAttempt) -> Person:
    person = db.get(Person, attempt.person_id)
    if person is None or person.client_id != attempt.client_id:
        raise CallNotFoundError(attempt.uuid)
    return person


def current_address(db: Session, person_id: int) -> Address | None:
    return db.scalars(
        sa.select(Address)
        .where(Address.person_id == person_id, Address.is_current.is_(True))
        .order_by(Address.id.desc())
    ).first()


def load_account(db: Session, attempt: ContactAttempt, today: dt.date) -> Account:
    person = person_of(db, attempt)
    on_call = set(attempt_debt_ids(db, attempt))
    debts = list(db.scalars(sa.select(Debt).where(Debt.person_id == person.id).order_by(Debt.id)))
    debt_refs = {debt.id: debt.account_ref for debt in debts}
    payments = list(
        db.scalars(sa.select(Payment).where(Payment.debt_id.in_(debt_refs)).order_by(Payment.paid_at.desc()))
    )
    paid: Counter[int] = Counter()
    for payment in payments:
        if payment.status == "posted":
            paid[payment.debt_id] += payment.amount_minor
    debt_views = [
        DebtView(
            debt,
            paid[debt.id],
            debt.placed_balance_minor - paid[debt.id],
            *_aging(debt, today),
            _sol_state(debt, today),
            debt.id in on_call,
        )
        for debt in debts
    ]
    phones = list(
        db.scalars(sa.select(Phone).where(Phone.person_id == person.id).order_by(Phone.position, Phone.id))
    )
    attempts = list(
        db.scalars(
            sa.select(ContactAttempt)
            .where(ContactAttempt.person_id == person.id)
            .order_by(ContactAttempt.reserved_at.desc())
            .limit(HISTORY_LIMIT)
        )
    )
    week_ago = dt.datetime.combine(today, dt.time(), dt.UTC) - dt.timedelta(days=6)
    attempts_7d = Counter(
        each.number
        for each in attempts
        if each.status is not AttemptStatus.CANCELLED and each.reserved_at >= week_ago
    )
    promises = list(
        db.scalars(
            sa.select(Promise).where(Promise.person_id == person.id).order_by(Promise.created_at.desc())
        )
    )
    instalments: dict[int, list[PromiseInstalment]] = {promise.id: [] for promise in promises}
    for instalment in db.scalars(
        sa.select(PromiseInstalment)
        .where(PromiseInstalment.promise_id.in_(instalments))
        .order_by(PromiseInstalment.seq)
    ):
        instalments[instalment.promise_id].append(instalment)
    promise_views = [
        PromiseView(promise, instalments[promise.id], debt_refs.get(promise.debt_id, ""))
        for promise in promises
    ]
    timeline = _timeline(
        db, person, attempts=attempts, promises=promise_views, payments=payments, debt_refs=debt_refs
    )
    return Account(
        person=person,
        address=current_address(db, person.id),
        debts=debt_views,
        phones=phones,
        attempts_7d=dict(attempts_7d),
        promises=promise_views,
        payments=[(payment, debt_refs.get(payment.debt_id, "")) for payment in payments],
        timeline=timeline,
    )


def _timeline(
    db: Session,
    person: Person,
    *,
    attempts: list[ContactAttempt],
    promises: list[PromiseView],
    payments: list[Payment],
    debt_refs: dict[int, str],
) -> list[TimelineEntry]:
    labels: dict[str, str] = dict(db.execute(sa.select(DispositionCode.code, DispositionCode.label)).all())
    authors: dict[int, str] = dict(db.execute(sa.select(User.id, User.display_name)).all())
    entries = [
        TimelineEntry(
            attempt.dialed_at or attempt.reserved_at,
            "attempt",
            f"Call to {attempt.number} ({attempt.mode.value})",
            ", ".join(
                part
                for part in (
                    attempt.outcome.value.replace("_", " ") if attempt.outcome else attempt.status.value,
                    f"{attempt.disposition_code} {labels.get(attempt.disposition_code, '')}".strip()
                    if attempt.disposition_code
                    else "",
                    f"agent {authors.get(attempt.agent_id, '')}".strip() if attempt.agent_id else "",
                )
                if part
            ),
        )
        for attempt in attempts
    ]
    for note in db.scalars(
        sa.select(Note).where(Note.person_id == person.id).order_by(Note.id.desc()).limit(HISTORY_LIMIT)
    ):
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
    for notice in db.scalars(sa.select(Notice).where(Notice.person_id == person.id)):
        state = "resolved" if notice.resolved_at else "open"
        entries.append(
            TimelineEntry(
                notice.received_at,
                "hold",
                f"Hold: {notice.type.value.replace('_', ' ')} ({state})",
                notice.details or "",
            )
        )
    for restriction in db.scalars(
        sa.select(ContactRestriction).where(ContactRestriction.person_id == person.id)
    ):
        entries.append(
            TimelineEntry(
                restriction.requested_at,
                "restriction",
                f"Restriction: {restriction.kind.value.replace('_', ' ')}",
                restriction.number or restriction.reason or "",
            )
        )
    for callback in db.scalars(sa.select(Callback).where(Callback.person_id == person.id)):
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


def live_promises_of(db: Session, attempt: ContactAttempt) -> list[Promise]:
    """Promises recorded on this call that still stand (active or waiting for approval)."""
    return list(
        db.scalars(
            sa.select(Promise).where(
                Promise.attempt_id == attempt.id,
                Promise.status.in_([PromiseStatus.ACTIVE, PromiseStatus.PENDING_APPROVAL]),
            )
        )
    )


def callbacks_of(db: Session, attempt: ContactAttempt) -> list[Callback]:
    return list(db.scalars(sa.select(Callback).where(Callback.attempt_id == attempt.id)))
