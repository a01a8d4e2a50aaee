"""Abandon-rate accounting: abandoned calls ÷ calls answered by a live person.

A live answer counts as abandoned when the dialer recorded it so, or when it was connected to an
agent more than two seconds after the person's greeting ended (the two-second rule of the
Telemarketing Sales Rule safe harbour, 16 CFR 310.4(b)(4)(i); see notes/regulations.md), which
catches a late bridge even if the engine failed to label it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from compliance.ledger import LIVE_ANSWER
from compliance.models import AttemptStatus, ContactAttempt, Outcome

CONNECT_DEADLINE = dt.timedelta(seconds=2)
ROLLING_DAYS = 30


@dataclasses.dataclass(frozen=True)
class AbandonFigures:
    live_answered: int = 0
    abandoned: int = 0

    @property
    def rate(self) -> float:
        return self.abandoned / self.live_answered if self.live_answered else 0.0

    def __add__(self, other: AbandonFigures) -> AbandonFigures:
        return AbandonFigures(self.live_answered + other.live_answered, self.abandoned + other.abandoned)


def is_abandoned(outcome: Outcome, answered_at: dt.datetime | None, connected_at: dt.datetime | None) -> bool:
    if outcome is Outcome.ABANDONED:
        return True
    if outcome not in LIVE_ANSWER or answered_at is None or connected_at is None:
        return False
    return connected_at - answered_at > CONNECT_DEADLINE


@dataclasses.dataclass(frozen=True)
class LiveAnswer:
    answered_day: dt.date
    abandoned: bool


def daily_figures(answers: Iterable[LiveAnswer]) -> dict[dt.date, AbandonFigures]:
    days: dict[dt.date, AbandonFigures] = defaultdict(AbandonFigures)
    for answer in answers:
        days[answer.answered_day] += AbandonFigures(1, int(answer.abandoned))
    return dict(days)


def rolling(
    days: dict[dt.date, AbandonFigures], last_day: dt.date, length: int = ROLLING_DAYS
) -> AbandonFigures:
    """The figures of the `length` days ending on `last_day`, inclusive."""
    total = AbandonFigures()
    for offset in range(length):
        total += days.get(last_day - dt.timedelta(days=offset), AbandonFigures())
    return total


def load_live_answers(
    session: Session, campaign_id: int | None, start: dt.datetime, end: dt.datetime, zone: ZoneInfo
) -> list[LiveAnswer]:
    """Live answers of a campaign (None: every campaign) with their local answer day in `zone`."""
    query = sa.select(
        ContactAttempt.outcome,
        ContactAttempt.answered_at,
        ContactAttempt.connected_at,
        ContactAttempt.ended_at,
    ).where(
        ContactAttempt.status == AttemptStatus.COMPLETED,
        ContactAttempt.outcome.in_(LIVE_ANSWER),
        ContactAttempt.reserved_at >= start,
        ContactAttempt.reserved_at < end,
    )
    if campaign_id is not None:
        query = query.where(ContactAttempt.campaign_id == campaign_id)
    answers = []
    for outcome, answered_at, connected_at, ended_at in session.execute(query):
        assert outcome is not None  # filtered on completed attempts with a live outcome
        moment = answered_at or ended_at
        if moment is None:
            continue
        answers.append(
            LiveAnswer(moment.astimezone(zone).date(), is_abandoned(outcome, answered_at, connected_at))
        )
    return answers


def abandon_by_day(
    session: Session, campaign_id: int | None, first_day: dt.date, last_day: dt.date, zone: ZoneInfo
) -> dict[dt.date, tuple[AbandonFigures, AbandonFigures]]:
    """For each day: that day's figures and the rolling 30 days ending that day."""
    since = first_day - dt.timedelta(days=ROLLING_DAYS - 1)
    start = dt.datetime.combine(since, dt.time(), zone) - dt.timedelta(days=1)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), zone) + dt.timedelta(days=1)
    days = daily_figures(load_live_answers(session, campaign_id, start, end, zone))
    report = {}
    day = first_day
    while day <= last_day:
        report[day] = (days.get(day, AbandonFigures()), rolling(days, day))
        day += dt.timedelta(days=1)
    return report
