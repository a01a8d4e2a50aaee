"""The ledger's figures for a metrics scrape: aggregate queries over today and the last 30 days.

Days are UTC days. The abandon figures follow `compliance.abandon` (abandoned, or connected more
than the two-second deadline after the greeting), counted in SQL so that a scrape reads a few
rows per campaign instead of every live answer of the month.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session

from compliance.abandon import CONNECT_DEADLINE, ROLLING_DAYS
from compliance.ledger import LIVE_ANSWER
from compliance.models import AttemptStatus, ContactAttempt, GateDecision, Outcome
from infra.metrics import ROLLING_30_DAYS, TODAY, AbandonCount, CallCount, GateCount, LedgerFigures

DAY = dt.timedelta(days=1)


def ledger_figures(session: Session, now: dt.datetime) -> LedgerFigures:
    day_start = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
    return LedgerFigures(
        day_start=day_start,
        calls=_calls(session, day_start),
        abandon=_abandon(session, day_start),
        gate=_gate(session, day_start),
    )


def _calls(session: Session, since: dt.datetime) -> tuple[CallCount, ...]:
    rows = session.execute(
        sa.select(ContactAttempt.campaign_id, ContactAttempt.outcome, sa.func.count())
        .where(ContactAttempt.status == AttemptStatus.COMPLETED, ContactAttempt.ended_at >= since)
        .group_by(ContactAttempt.campaign_id, ContactAttempt.outcome)
    )
    return tuple(
        CallCount(campaign_id, str(outcome), count)
        for campaign_id, outcome, count in sorted(rows, key=lambda row: (row[0] or 0, str(row[1])))
    )


def _seconds_between(
    session: Session,
    start: QueryableAttribute[dt.datetime | None],
    end: QueryableAttribute[dt.datetime | None],
) -> sa.ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0
    return sa.extract("epoch", end - start)


def _abandon(session: Session, day_start: dt.datetime) -> tuple[AbandonCount, ...]:
    since = day_start - (ROLLING_DAYS - 1) * DAY
    until = day_start + DAY
    # The day of a live answer is the day of its greeting (else its end), as in compliance.abandon.
    moment = sa.func.coalesce(ContactAttempt.answered_at, ContactAttempt.ended_at)
    late = _seconds_between(session, ContactAttempt.answered_at, ContactAttempt.connected_at) > (
        CONNECT_DEADLINE.total_seconds()
    )
    abandoned = sa.or_(ContactAttempt.outcome == Outcome.ABANDONED, late)
    today = moment >= day_start
    rows = session.execute(
        sa.select(
            ContactAttempt.campaign_id,
            sa.func.count(),
            sa.func.sum(sa.case((abandoned, 1), else_=0)),
            sa.func.sum(sa.case((today, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(today, abandoned), 1), else_=0)),
        )
        .where(
            ContactAttempt.status == AttemptStatus.COMPLETED,
            ContactAttempt.outcome.in_(LIVE_ANSWER),
            ContactAttempt.campaign_id.is_not(None),
            moment >= since,
            moment < until,
        )
        .group_by(ContactAttempt.campaign_id)
        .order_by(ContactAttempt.campaign_id)
    )
    figures: list[AbandonCount] = []
    for campaign_id, answered_30d, abandoned_30d, answered_today, abandoned_today in rows:
        figures.append(AbandonCount(campaign_id, TODAY, int(answered_today or 0), int(abandoned_today or 0)))
        figures.append(AbandonCount(campaign_id, ROLLING_30_DAYS, int(answered_30d), int(abandoned_30d or 0)))
    return tuple(figures)


def _gate(session: Session, since: dt.datetime) -> tuple[GateCount, ...]:
    rows = session.execute(
        sa.select(GateDecision.allowed, GateDecision.rule, sa.func.count())
        .where(GateDecision.decided_at >= since)
        .group_by(GateDecision.allowed, GateDecision.rule)
    )
    return tuple(GateCount(bool(allowed), rule or "", count) for allowed, rule, count in rows)
