"""KPI reports by campaign and by agent over a range of UTC days, with the definitions of
`campaigns.kpi` (each column says its denominator)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Hashable

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from campaigns.kpi import (
    AttemptFact,
    CallFigures,
    InstalmentFact,
    KeptFigures,
    PromiseFact,
    PromiseFigures,
    Ratio,
    call_figures,
    kept_figures,
    promise_figures,
    ptp_rate,
)
from campaigns.models import (
    Campaign,
    Debt,
    InstalmentStatus,
    Payment,
    Promise,
    PromiseInstalment,
    PromiseStatus,
)
from compliance.abandon import AbandonFigures, is_abandoned
from compliance.ledger import LIVE_ANSWER
from compliance.models import AttemptStatus, ContactAttempt
from infra.models import User
from workbench.manager_http import page, parse_day
from workbench.services import services_of
from workbench.viewer import ClientScope, Viewer

DEFAULT_DAYS = 7
MAX_DAYS = 366


@dataclasses.dataclass(frozen=True)
class KpiRow:
    name: str
    calls: CallFigures
    promises: PromiseFigures
    kept: KeptFigures
    abandon: AbandonFigures
    currency: str

    @property
    def ptp_rate(self) -> Ratio:
        return ptp_rate(self.promises.created, self.calls.right_party)


@dataclasses.dataclass
class _Bucket:
    attempts: list[AttemptFact] = dataclasses.field(default_factory=list)
    promises: list[PromiseFact] = dataclasses.field(default_factory=list)
    instalments: list[InstalmentFact] = dataclasses.field(default_factory=list)
    abandon: AbandonFigures = dataclasses.field(default_factory=AbandonFigures)
    currencies: set[str] = dataclasses.field(default_factory=set)


def _bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(first, dt.time(), dt.UTC),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC),
    )


def kpi_rows(
    db: Session, scope: ClientScope, *, first: dt.date, last: dt.date, today: dt.date, by: str
) -> list[KpiRow]:
    """One row per campaign (`by="campaign"`) or per agent (`by="agent"`), plus a total row."""
    start, end = _bounds(first, last)
    buckets: dict[Hashable, _Bucket] = defaultdict(_Bucket)
    attempts = db.execute(
        sa.select(
            ContactAttempt.campaign_id,
            ContactAttempt.agent_id,
            ContactAttempt.status,
            ContactAttempt.outcome,
            ContactAttempt.answered_at,
            ContactAttempt.connected_at,
        ).where(
            scope.filter(ContactAttempt.client_id),
            ContactAttempt.reserved_at >= start,
            ContactAttempt.reserved_at < end,
            ContactAttempt.direction == "outbound",
        )
    ).all()
    pick: Callable[[int | None, int | None], Hashable] = (
        (lambda campaign, agent: campaign) if by == "campaign" else (lambda campaign, agent: agent)
    )
    for campaign_id, agent_id, status, outcome, answered_at, connected_at in attempts:
        for key in (pick(campaign_id, agent_id), "total"):
            bucket = buckets[key]
            bucket.attempts.append(AttemptFact(status, outcome))
            if status is AttemptStatus.COMPLETED and outcome in LIVE_ANSWER:
                assert outcome is not None
                bucket.abandon += AbandonFigures(1, int(is_abandoned(outcome, answered_at, connected_at)))
    promise_rows = db.execute(
        sa.select(Promise, ContactAttempt.campaign_id)
        .join(Debt, Debt.id == Promise.debt_id)
        .outerjoin(ContactAttempt, ContactAttempt.id == Promise.attempt_id)
        .where(scope.filter(Debt.client_id), Promise.created_at >= start, Promise.created_at < end)
    ).all()
    schedules: dict[int, list[int]] = defaultdict(list)
    for promise_id, amount in db.execute(
        sa.select(PromiseInstalment.promise_id, PromiseInstalment.amount_minor)
        .where(PromiseInstalment.promise_id.in_([promise.id for promise, _ in promise_rows]))
        .order_by(PromiseInstalment.promise_id, PromiseInstalment.seq)
    ):
        schedules[promise_id].append(amount)
    for promise, campaign_id in promise_rows:
        made = PromiseFact(promise.status is PromiseStatus.REJECTED, tuple(schedules[promise.id]))
        for key in (pick(campaign_id, promise.created_by), "total"):
            buckets[key].promises.append(made)
            buckets[key].currencies.add(promise.currency)
    due = db.execute(
        sa.select(PromiseInstalment, Promise.created_by, ContactAttempt.campaign_id)
        .join(Promise, Promise.id == PromiseInstalment.promise_id)
        .join(Debt, Debt.id == Promise.debt_id)
        .outerjoin(ContactAttempt, ContactAttempt.id == Promise.attempt_id)
        .where(
            scope.filter(Debt.client_id),
            PromiseInstalment.due_on >= first,
            PromiseInstalment.due_on <= last,
            Promise.status.not_in([PromiseStatus.REJECTED, PromiseStatus.PENDING_APPROVAL]),
        )
    ).all()
    payments: dict[int | None, list[tuple[dt.date, int]]] = defaultdict(list)
    for instalment_id, paid_at, amount in db.execute(
        sa.select(Payment.instalment_id, Payment.paid_at, Payment.amount_minor).where(
            Payment.instalment_id.in_([instalment.id for instalment, _, _ in due]), Payment.status == "posted"
        )
    ):
        payments[instalment_id].append((paid_at.astimezone(dt.UTC).date(), amount))
    for instalment, agent_id, campaign_id in due:
        fact = InstalmentFact(
            instalment.due_on,
            instalment.amount_minor,
            instalment.status is InstalmentStatus.CANCELLED,
            tuple(payments[instalment.id]),
        )
        for key in (pick(campaign_id, agent_id), "total"):
            buckets[key].instalments.append(fact)
    names = _names(db, by, [key for key in buckets if isinstance(key, int)])
    rows = [
        KpiRow(
            name=_label(key, names, by),
            calls=call_figures(bucket.attempts),
            promises=promise_figures(bucket.promises),
            kept=kept_figures(bucket.instalments, first, last, today),
            abandon=bucket.abandon,
            currency=next(iter(bucket.currencies)) if len(bucket.currencies) == 1 else "USD",
        )
        for key, bucket in buckets.items()
    ]
    return sorted(rows, key=lambda row: (row.name == "Total", row.name.casefold()))


def _label(key: Hashable, names: dict[Hashable, str], by: str) -> str:
    if key == "total":
        return "Total"
    if key is None:
        return "Outside any campaign" if by == "campaign" else "No agent (dialer only)"
    return names.get(key, f"#{key}")


def _names(db: Session, by: str, ids: list[int]) -> dict[Hashable, str]:
    if by == "campaign":
        query = sa.select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids))
    else:
        query = sa.select(User.id, User.display_name).where(User.id.in_(ids))
    return dict(db.execute(query).all())


def report_range(first_text: str, last_text: str, today: dt.date) -> tuple[dt.date, dt.date, str]:
    """The days asked for, or the last week with the reason the request was not usable."""
    first, last = parse_day(first_text), parse_day(last_text)
    default = (today - dt.timedelta(days=DEFAULT_DAYS - 1), today)
    if not first_text and not last_text:
        return (*default, "")
    if first is None or last is None:
        return (*default, "Give both days as YYYY-MM-DD.")
    if first > last:
        return (*default, "The first day must not be after the last.")
    if (last - first).days >= MAX_DAYS:
        return (*default, f"Choose at most {MAX_DAYS} days.")
    return first, last, ""


async def reports_page(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    today = services.clock().astimezone(dt.UTC).date()
    first, last, error = report_range(
        request.query_params.get("from", ""), request.query_params.get("to", ""), today
    )
    by = "agent" if request.query_params.get("by") == "agent" else "campaign"
    rows = await services.run_db(
        lambda db: kpi_rows(db, viewer.scope, first=first, last=last, today=today, by=by)
    )
    return page(
        request,
        viewer,
        "manager/reports.html",
        status_code=422 if error else 200,
        rows=rows,
        first=first,
        last=last,
        by=by,
        error=error,
    )
