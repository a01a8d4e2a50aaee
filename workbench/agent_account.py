"""The account as the workspace shows it once the right party is verified and has heard the
disclosure: balances, phones, promises, payments and the history. Nothing of it is read before
then, so a screen pop (always locked) costs none of these queries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.models import Debt, Payment, Person, Phone, PromiseInstalment
from compliance.models import AttemptStatus
from compliance.policy import case as model
from workbench.agent_calls import attempt_debt_ids
from workbench.agent_history import PromiseView, TimelineEntry, recent_attempts, timeline
from workbench.call_facts import CallFacts

# Aging bands of days since charge-off (or placement when the charge-off date is unknown).
AGING_BANDS = (
    (30, "0-30 days"),
    (60, "31-60 days"),
    (90, "61-90 days"),
    (180, "91-180 days"),
    (365, "181-365 days"),
)
SOL_WARNING_DAYS = 90


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
class Account:
    person: Person
    address: model.Address | None  # the current address, as the dial gate reads it
    debts: list[DebtView]
    phones: list[Phone]
    attempts_7d: dict[str, int]
    promises: list[PromiseView]
    payments: list[tuple[Payment, str]]
    timeline: list[TimelineEntry]

    @property
    def on_call_debt_ids(self) -> list[int]:
        return [view.debt.id for view in self.debts if view.on_call]

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


def _instalments(db: Session, promise_ids: list[int]) -> dict[int, list[PromiseInstalment]]:
    by_promise: dict[int, list[PromiseInstalment]] = {promise_id: [] for promise_id in promise_ids}
    if promise_ids:
        for instalment in db.scalars(
            sa.select(PromiseInstalment)
            .where(PromiseInstalment.promise_id.in_(promise_ids))
            .order_by(PromiseInstalment.seq)
        ):
            by_promise[instalment.promise_id].append(instalment)
    return by_promise


def load_account(db: Session, facts: CallFacts, today: dt.date) -> Account:
    person_id = facts.person.id
    debts = list(db.scalars(sa.select(Debt).where(Debt.person_id == person_id).order_by(Debt.id)))
    debt_refs = {debt.id: debt.account_ref for debt in debts}
    payments = (
        list(
            db.scalars(
                sa.select(Payment)
                .where(Payment.debt_id.in_(sorted(debt_refs)))
                .order_by(Payment.paid_at.desc())
            )
        )
        if debt_refs
        else []
    )
    paid: Counter[int] = Counter()
    for payment in payments:
        if payment.status == "posted":
            paid[payment.debt_id] += payment.amount_minor
    on_call = set(attempt_debt_ids(db, facts.attempt))
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
    attempts = recent_attempts(db, person_id)
    week_ago = dt.datetime.combine(today, dt.time(), dt.UTC) - dt.timedelta(days=6)
    attempts_7d = Counter(
        each.number
        for each in attempts
        if each.status is not AttemptStatus.CANCELLED and each.reserved_at >= week_ago
    )
    instalments = _instalments(db, [promise.id for promise in facts.promises])
    promise_views = [
        PromiseView(promise, instalments[promise.id], debt_refs.get(promise.debt_id, ""))
        for promise in facts.promises
    ]
    return Account(
        person=facts.person,
        address=facts.gate_account.address,
        debts=debt_views,
        phones=list(
            db.scalars(
                sa.select(Phone).where(Phone.person_id == person_id).order_by(Phone.position, Phone.id)
            )
        ),
        attempts_7d=dict(attempts_7d),
        promises=promise_views,
        payments=[(payment, debt_refs.get(payment.debt_id, "")) for payment in payments],
        timeline=timeline(
            db, facts, attempts=attempts, promises=promise_views, payments=payments, debt_refs=debt_refs
        ),
    )
