"""The live wallboard: figures from the attempt ledger and promises, plus the live agent states.

The hub pushes it to managers' tabs with every agent change and every few seconds, so calls
placed and answered by the engine show without any event of their own. Figures are computed
per client scope and shared for a moment between tabs of the same scope.

"Today" is the UTC calendar day. Occupancy here is the present moment's: agents on a call out of
agents on a call or ready; the KPI report gives the time-weighted figure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from campaigns.kpi import AttemptFact, CallFigures, Ratio, call_figures
from campaigns.models import Campaign, Debt, Promise, PromiseStatus
from compliance.abandon import AbandonFigures, LiveAnswer, daily_figures, is_abandoned, rolling
from compliance.ledger import LIVE_ANSWER
from compliance.models import AttemptStatus, ContactAttempt
from workbench.agent_state import PAUSE_LABELS
from workbench.agents import AgentRecord
from workbench.manager_http import money
from workbench.pages import Pages
from workbench.viewer import ClientScope, Viewer

TICK_SECONDS = 5.0
SHARE_SECONDS = 1.0
ABANDON_WARNING = 0.025  # amber from 2.5 %, red above the 3 % ceiling
ABANDON_LIMIT = 0.03
IN_FLIGHT = (AttemptStatus.RESERVED, AttemptStatus.DIALING)


@dataclasses.dataclass(frozen=True)
class LedgerFigures:
    """What the database says, for one client scope."""

    calls_dialing: int
    calls_connected: int
    agents_on_calls: frozenset[int]
    abandon_today: AbandonFigures
    abandon_30_days: AbandonFigures
    # Each campaign on its own, worst first: a busy campaign must not hide a bad one.
    abandon_by_campaign: tuple[tuple[str, AbandonFigures], ...]
    last_hour: CallFigures
    promises_today: int
    promised_today: tuple[tuple[str, int], ...]  # (currency, amount in minor units)


@dataclasses.dataclass(frozen=True)
class StateCount:
    label: str
    kind: str  # the activity: ready, on_call, wrap_up, paused
    count: int


@dataclasses.dataclass(frozen=True)
class WallboardView:
    ledger: LedgerFigures
    states: tuple[StateCount, ...]
    signed_in: int
    occupancy: Ratio
    as_of: dt.datetime

    @property
    def abandon_level(self) -> str:
        """The worst campaign's level: the limit applies to each campaign."""
        rates = [figures.rate for _, figures in self.ledger.abandon_by_campaign] or [
            self.ledger.abandon_30_days.rate
        ]
        return abandon_level(max(rates))

    @property
    def promised_text(self) -> str:
        return ", ".join(money(amount, currency) for currency, amount in self.ledger.promised_today) or money(
            0
        )


def abandon_level(rate: float) -> str:
    return "critical" if rate > ABANDON_LIMIT else "warning" if rate >= ABANDON_WARNING else "ok"


def ledger_figures(db: Session, scope: ClientScope, now: dt.datetime) -> LedgerFigures:
    today = now.astimezone(dt.UTC).date()
    day_start = dt.datetime.combine(today, dt.time(), dt.UTC)
    in_scope = scope.filter(ContactAttempt.client_id)
    in_flight = db.execute(
        sa.select(ContactAttempt.connected_at, ContactAttempt.agent_id).where(
            in_scope, ContactAttempt.status.in_(IN_FLIGHT)
        )
    ).all()
    connected = [agent for connected_at, agent in in_flight if connected_at is not None]
    answers = []
    by_campaign: dict[int, list[LiveAnswer]] = {}
    for campaign_id, outcome, answered_at, connected_at, ended_at in db.execute(
        sa.select(
            ContactAttempt.campaign_id,
            ContactAttempt.outcome,
            ContactAttempt.answered_at,
            ContactAttempt.connected_at,
            ContactAttempt.ended_at,
        ).where(
            in_scope,
            ContactAttempt.status == AttemptStatus.COMPLETED,
            ContactAttempt.outcome.in_(LIVE_ANSWER),
            ContactAttempt.reserved_at >= day_start - dt.timedelta(days=31),
        )
    ):
        moment = answered_at or ended_at
        if outcome is not None and moment is not None:
            answer = LiveAnswer(
                moment.astimezone(dt.UTC).date(), is_abandoned(outcome, answered_at, connected_at)
            )
            answers.append(answer)
            if campaign_id is not None:
                by_campaign.setdefault(campaign_id, []).append(answer)
    days = daily_figures(answers)
    names = dict(db.execute(sa.select(Campaign.id, Campaign.name).where(Campaign.id.in_(by_campaign))).all())
    campaigns = sorted(
        (
            (names.get(campaign_id, str(campaign_id)), rolling(daily_figures(found), today))
            for campaign_id, found in by_campaign.items()
        ),
        key=lambda item: (-item[1].rate, item[0]),
    )
    hour = [
        AttemptFact(status, outcome)
        for status, outcome in db.execute(
            sa.select(ContactAttempt.status, ContactAttempt.outcome).where(
                in_scope, ContactAttempt.reserved_at >= now - dt.timedelta(hours=1)
            )
        )
    ]
    promised: Counter[str] = Counter()
    promises = 0
    for total, currency in db.execute(
        sa.select(Promise.total_minor, Promise.currency)
        .join(Debt, Debt.id == Promise.debt_id)
        .where(
            scope.filter(Debt.client_id),
            Promise.created_at >= day_start,
            Promise.status != PromiseStatus.REJECTED,
        )
    ):
        promises += 1
        promised[currency] += total
    return LedgerFigures(
        calls_dialing=len(in_flight) - len(connected),
        calls_connected=len(connected),
        agents_on_calls=frozenset(agent for agent in connected if agent is not None),
        abandon_today=days.get(today, AbandonFigures()),
        abandon_30_days=rolling(days, today),
        abandon_by_campaign=tuple(campaigns),
        last_hour=call_figures(hour),
        promises_today=promises,
        promised_today=tuple(sorted(promised.items())),
    )


# How each live activity shows on the board, in board order; paused agents show by reason.
ACTIVITY_LABELS = {"on_call": "On a call", "wrap_up": "Wrap-up", "ready": "Ready"}
BUSY_ACTIVITIES = frozenset({"on_call", "wrap_up"})


def _state_of(record: AgentRecord, on_calls: frozenset[int]) -> tuple[str, str]:
    activity = record.status.activity.value
    if record.status.pause_code is not None:
        return f"Paused: {PAUSE_LABELS[record.status.pause_code]}", "paused"
    if activity == "ready" and record.agent_id in on_calls:
        return ACTIVITY_LABELS["on_call"], "on_call"  # bridged by the dialer, state not yet updated
    return ACTIVITY_LABELS.get(activity, activity.replace("_", " ").capitalize()), activity


def wallboard_view(ledger: LedgerFigures, records: list[AgentRecord], now: dt.datetime) -> WallboardView:
    """Combine the ledger with the live agent states (already limited to the viewer's scope)."""
    counts: Counter[tuple[str, str]] = Counter(
        _state_of(record, ledger.agents_on_calls) for record in records
    )
    order = [*ACTIVITY_LABELS, "paused"]
    states = tuple(
        StateCount(label, kind, count)
        for (label, kind), count in sorted(
            counts.items(),
            key=lambda item: (order.index(item[0][1]) if item[0][1] in order else 99, item[0][0]),
        )
    )
    busy = sum(count for (_, kind), count in counts.items() if kind in BUSY_ACTIVITIES)
    ready = sum(count for (_, kind), count in counts.items() if kind == "ready")
    # Occupancy's definition, (talk + wrap) / (talk + wrap + ready idle), taken at this moment.
    return WallboardView(ledger, states, len(records), Ratio(busy, busy + ready), now)


class Wallboard:
    """Renders the wallboard fragment for a viewer; the hub sends it."""

    def __init__(
        self, sessions: sessionmaker[Session], pages: Pages, clock: Callable[[], dt.datetime]
    ) -> None:
        self._sessions = sessions
        self._pages = pages
        self._clock = clock
        self._shared: dict[frozenset[int] | None, tuple[float, LedgerFigures]] = {}
        self.tick_seconds = TICK_SECONDS

    async def _ledger(self, scope: ClientScope, now: dt.datetime) -> LedgerFigures:
        kept = self._shared.get(scope.client_ids)
        if kept is not None and time.monotonic() - kept[0] < SHARE_SECONDS:
            return kept[1]

        def load() -> LedgerFigures:
            with self._sessions() as db:
                return ledger_figures(db, scope, now)

        figures = await run_in_threadpool(load)
        self._shared[scope.client_ids] = (time.monotonic(), figures)
        return figures

    async def render(self, viewer: Viewer, records: list[AgentRecord], *, oob: bool) -> str:
        now = self._clock()
        visible = [record for record in records if viewer.scope.overlaps(record.scope)]
        view = wallboard_view(await self._ledger(viewer.scope, now), visible, now)
        return self._pages.render("manager/wallboard_tiles.html", board=view, oob=oob)
