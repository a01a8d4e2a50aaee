"""Promise-to-pay schedules and the agent's authority to agree them. Pure; no I/O.

`build_schedule` splits a total into instalments that add up to it exactly in minor units (the
remainder of the division goes on the last instalment) on dates one week, two weeks or one month
apart. Monthly dates keep the first date's day of the month where the month has it and fall back
to the month's last day where it has not: 31 Jan, 28 (or 29) Feb, 31 Mar, 30 Apr.

`check_authority` says whether an agent may agree an offer alone, needs a manager's approval
(the promise is then stored as pending approval), or may not offer it at all.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import enum
from decimal import ROUND_DOWN, Decimal

from infra.money import format_minor

# More instalments than this is not a plan an agent can build on the phone (ten years monthly).
MAX_INSTALMENTS = 120


class Frequency(enum.StrEnum):
    ONCE = "once"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


FREQUENCY_LABELS = {
    Frequency.ONCE: "One payment",
    Frequency.WEEKLY: "Weekly",
    Frequency.BIWEEKLY: "Every two weeks",
    Frequency.MONTHLY: "Monthly",
}


class ScheduleError(ValueError):
    """Terms that do not make a schedule; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class Instalment:
    seq: int  # 1-based
    due_on: dt.date
    amount_minor: int


def add_months(start: dt.date, months: int) -> dt.date:
    """`start` moved by whole months, on the same day of the month or the month's last day."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(start.day, last_day))


def due_date(first_due: dt.date, frequency: Frequency, index: int) -> dt.date:
    """The date of instalment `index` (0 for the first). Monthly dates are computed from the
    first date every time, so a short month never drags the later ones back (31 Mar after 28 Feb)."""
    if frequency is Frequency.WEEKLY:
        return first_due + dt.timedelta(weeks=index)
    if frequency is Frequency.BIWEEKLY:
        return first_due + dt.timedelta(weeks=2 * index)
    if frequency is Frequency.MONTHLY:
        return add_months(first_due, index)
    if index:
        raise ScheduleError("a single payment has no later instalments")
    return first_due


def build_schedule(
    total_minor: int, count: int, frequency: Frequency, first_due: dt.date
) -> tuple[Instalment, ...]:
    if total_minor <= 0:
        raise ScheduleError("The amount must be more than zero.")
    if not 1 <= count <= MAX_INSTALMENTS:
        raise ScheduleError(f"The number of instalments must be between 1 and {MAX_INSTALMENTS}.")
    if frequency is Frequency.ONCE and count != 1:
        raise ScheduleError("A single payment has one instalment; choose a frequency for a plan.")
    if count > total_minor:
        raise ScheduleError("Every instalment must be at least the smallest coin.")
    base, remainder = divmod(total_minor, count)
    return tuple(
        Instalment(
            seq=index + 1,
            due_on=due_date(first_due, frequency, index),
            amount_minor=base + (remainder if index == count - 1 else 0),
        )
        for index in range(count)
    )


@dataclasses.dataclass(frozen=True)
class AuthorityLimits:
    """What an agent may agree without a manager. Defaults are the house rules until a client
    or role sets its own."""

    min_settlement_percent: int = 70  # a settlement must pay at least this share of the balance
    max_plan_months: int = 12  # the last instalment falls within this many months of today
    max_days_to_first_payment: int = 30


DEFAULT_LIMITS = AuthorityLimits()


class Decision(enum.StrEnum):
    WITHIN = "within"  # the agent may agree it
    NEEDS_APPROVAL = "needs_approval"  # stored as pending approval for a manager
    REFUSED = "refused"  # nobody may agree it as it stands


@dataclasses.dataclass(frozen=True)
class AuthorityCheck:
    decision: Decision
    reasons: tuple[str, ...]
    settlement: bool  # pays the debt off for less than the balance


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def check_authority(
    schedule: tuple[Instalment, ...],
    balance_minor: int,
    currency: str,
    today: dt.date,
    limits: AuthorityLimits = DEFAULT_LIMITS,
) -> AuthorityCheck:
    if not schedule:
        raise ScheduleError("a promise has at least one instalment")
    total = sum(instalment.amount_minor for instalment in schedule)
    first, last = schedule[0].due_on, schedule[-1].due_on
    refusals = []
    if balance_minor <= 0:
        refusals.append("Nothing is owed on this debt.")
    elif total > balance_minor:
        refusals.append(
            f"The promise ({format_minor(total, currency)}) is more than the balance "
            f"({format_minor(balance_minor, currency)})."
        )
    if first < today:
        refusals.append(f"The first payment date {first.isoformat()} is in the past.")
    settlement = balance_minor > 0 and total < balance_minor
    if refusals:
        return AuthorityCheck(Decision.REFUSED, tuple(refusals), settlement)
    breaches = []
    if settlement and total * 100 < balance_minor * limits.min_settlement_percent:
        breaches.append(
            f"Settles for {_percent(total, balance_minor)} % of the balance; "
            f"your authority is at least {limits.min_settlement_percent} %."
        )
    latest_first = today + dt.timedelta(days=limits.max_days_to_first_payment)
    if first > latest_first:
        breaches.append(
            f"First payment on {first.isoformat()}; your authority is up to "
            f"{limits.max_days_to_first_payment} days ahead ({latest_first.isoformat()})."
        )
    plan_end = add_months(today, limits.max_plan_months)
    if last > plan_end:
        breaches.append(
            f"The plan ends on {last.isoformat()}; your authority covers plans up to "
            f"{limits.max_plan_months} months ({plan_end.isoformat()})."
        )
    if breaches:
        return AuthorityCheck(Decision.NEEDS_APPROVAL, tuple(breaches), settlement)
    return AuthorityCheck(Decision.WITHIN, (), settlement)
