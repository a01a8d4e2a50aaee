"""Compliance reports over the attempt ledger, as rows ready for CSV.

Reg F frequency is recomputed from the ledger independently of the gate, so the report can
show a cap the gate should have enforced but did not. Days are UTC calendar days here; the gate
itself is stricter (it checks the person's local calendar too).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import IO
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from compliance.abandon import abandon_by_day
from compliance.ledger import is_counted
from compliance.models import AttemptDebt, AttemptStatus, ContactAttempt, GateDecision, Outcome

ABANDON_LIMIT = 0.03
REGF_WINDOW_DAYS = 7
REGF_CALLS = 7
CONVERSATIONS = frozenset({Outcome.CONVERSATION})


@dataclasses.dataclass(frozen=True)
class DebtCalls:
    """The counted calls and conversations about one debt of one person."""

    person_id: int
    debt_id: int
    calls: tuple[dt.date, ...]
    conversations: tuple[dt.date, ...]


def busiest_window(calls: Sequence[dt.date]) -> tuple[int, dt.date | None]:
    """The most calls in any seven consecutive days, and the first day of that window."""
    ordered = sorted(calls)
    best, best_start, start = 0, None, 0
    for end, day in enumerate(ordered):
        while ordered[start] <= day - dt.timedelta(days=REGF_WINDOW_DAYS):
            start += 1
        if end - start + 1 > best:
            best, best_start = end - start + 1, ordered[start]
    return best, best_start


def calls_after_conversation(calls: Sequence[dt.date], conversations: Sequence[dt.date]) -> int:
    """Calls placed on the days after a conversation day C through C+6 (the conversation is day 1).

    A call on day C itself is the conversation call or a same-day follow-up; same-day calls other
    than the conversation are counted by the caller when it has times, not dates.
    """
    return sum(
        any(
            conversation < call <= conversation + dt.timedelta(days=REGF_WINDOW_DAYS - 1)
            for conversation in conversations
        )
        for call in calls
    )


def regf_rows(debt_calls: Iterable[DebtCalls]) -> Iterator[dict[str, object]]:
    for item in debt_calls:
        most, window_start = busiest_window(item.calls)
        after = calls_after_conversation(item.calls, item.conversations)
        yield {
            "person_id": item.person_id,
            "debt_id": item.debt_id,
            "counted_calls": len(item.calls),
            "most_in_7_days": most,
            "busiest_window_start": window_start.isoformat() if window_start else "",
            "conversations": len(item.conversations),
            "calls_within_7_days_after_conversation": after,
            "presumed_violation": most > REGF_CALLS or after > 0,
        }


def load_debt_calls(session: Session, start: dt.datetime, end: dt.datetime) -> list[DebtCalls]:
    rows = session.execute(
        sa.select(
            ContactAttempt.person_id,
            AttemptDebt.debt_id,
            ContactAttempt.status,
            ContactAttempt.outcome,
            ContactAttempt.reserved_at,
            ContactAttempt.dialed_at,
        )
        .join(AttemptDebt, AttemptDebt.attempt_id == ContactAttempt.id)
        .where(
            ContactAttempt.reserved_at >= start - dt.timedelta(days=REGF_WINDOW_DAYS),
            ContactAttempt.reserved_at < end,
            ContactAttempt.status != AttemptStatus.CANCELLED,
        )
    )
    calls: dict[tuple[int, int], list[dt.date]] = defaultdict(list)
    conversations: dict[tuple[int, int], list[dt.date]] = defaultdict(list)
    for person_id, debt_id, status, outcome, reserved_at, dialed_at in rows:
        day = (dialed_at or reserved_at).astimezone(dt.UTC).date()
        if is_counted(status, outcome):
            calls[(person_id, debt_id)].append(day)
        if outcome in CONVERSATIONS:
            conversations[(person_id, debt_id)].append(day)
    return [
        DebtCalls(person, debt, tuple(sorted(days)), tuple(sorted(conversations[(person, debt)])))
        for (person, debt), days in sorted(calls.items())
    ]


def hours_rows(session: Session, start: dt.datetime, end: dt.datetime) -> Iterator[dict[str, object]]:
    """Every dialled attempt with the gate's calling-hours finding that allowed it."""
    query = (
        sa.select(ContactAttempt, GateDecision)
        .outerjoin(GateDecision, GateDecision.id == ContactAttempt.gate_decision_id)
        .where(
            ContactAttempt.reserved_at >= start,
            ContactAttempt.reserved_at < end,
            ContactAttempt.status != AttemptStatus.CANCELLED,
        )
        .order_by(ContactAttempt.reserved_at)
    )
    for attempt, decision in session.execute(query):
        finding = _finding(decision, "hours") if decision else None
        yield {
            "attempt": attempt.uuid,
            "person_id": attempt.person_id,
            "number": attempt.number,
            "placed_at_utc": (attempt.dialed_at or attempt.reserved_at).isoformat(),
            "mode": attempt.mode.value,
            "outcome": attempt.outcome.value if attempt.outcome else "",
            "gate_decision": decision.id if decision else "",
            "policy_version": decision.policy_version if decision else "",
            "hours_check": finding or "no gate decision on record",
        }


def _finding(decision: GateDecision, topic: str) -> str | None:
    evaluated = decision.verdict.get("evaluated", [])
    details = [
        f"{item['rule']}: {'passed' if item['passed'] else 'blocked'}: {item['detail']}"
        for item in evaluated
        if isinstance(item, dict) and topic in str(item.get("rule", ""))
    ]
    return " | ".join(details) or None


def abandon_rows(
    session: Session,
    campaign_ids: Sequence[int | None],
    first_day: dt.date,
    last_day: dt.date,
    zone: ZoneInfo,
) -> Iterator[dict[str, object]]:
    for campaign_id in campaign_ids:
        for day, (daily, rolling) in abandon_by_day(session, campaign_id, first_day, last_day, zone).items():
            yield {
                "campaign_id": "all" if campaign_id is None else campaign_id,
                "day": day.isoformat(),
                "live_answered": daily.live_answered,
                "abandoned": daily.abandoned,
                "abandon_rate": f"{daily.rate:.4f}",
                "rolling_30d_live_answered": rolling.live_answered,
                "rolling_30d_abandoned": rolling.abandoned,
                "rolling_30d_abandon_rate": f"{rolling.rate:.4f}",
                "over_3_percent": rolling.rate > ABANDON_LIMIT,
            }


def write_csv(rows: Iterable[dict[str, object]], out: IO[str]) -> int:
    writer: csv.DictWriter[str] | None = None
    count = 0
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row))
            writer.writeheader()
        writer.writerow(row)
        count += 1
    return count
