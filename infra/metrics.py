"""Prometheus metrics: their definitions, the figures they are made from, and who may scrape them.

Two kinds of figure. The ledger's (calls by outcome, abandon rate, gate denials) live in the
database and are read when `/metrics` is scraped, by aggregate queries over today and the last
30 days, supplied by the package that owns the tables; agents' states come from the live store
at the same moment. What exists only inside a running process (the pacer's decisions, the SIP
node's workers) is kept in this process's default registry by the engine and the SIP node, so a
web process shows it only when they run in it (the embedded mode).

Days are UTC days. A count "since midnight" is exposed as a counter created at midnight:
Prometheus reads its drop to zero at midnight as a counter reset, so `rate()` stays right.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import itertools
import weakref
from collections import Counter as Tally
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TODAY = "today"
ROLLING_30_DAYS = "30d"


# -- figures read from the database at scrape time ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CallCount:
    campaign_id: int | None
    outcome: str
    calls: int


@dataclasses.dataclass(frozen=True)
class AbandonCount:
    campaign_id: int
    window: str  # TODAY or ROLLING_30_DAYS
    live_answered: int
    abandoned: int

    @property
    def rate(self) -> float:
        return self.abandoned / self.live_answered if self.live_answered else 0.0


@dataclasses.dataclass(frozen=True)
class GateCount:
    allowed: bool
    rule: str  # the deciding rule's id; "" when none is recorded
    decisions: int


@dataclasses.dataclass(frozen=True)
class LedgerFigures:
    day_start: dt.datetime  # the UTC midnight the day's counts start from
    calls: tuple[CallCount, ...] = ()  # attempts completed since day_start
    abandon: tuple[AbandonCount, ...] = ()
    gate: tuple[GateCount, ...] = ()  # gate decisions since day_start


def _label(value: int | None) -> str:
    return "" if value is None else str(value)


def ledger_families(figures: LedgerFigures) -> list[Metric]:
    created = figures.day_start.timestamp()
    calls = CounterMetricFamily(
        "arrears_calls",
        "Attempts completed since UTC midnight, by campaign and outcome (attempt ledger).",
        labels=["campaign_id", "outcome"],
    )
    for call in figures.calls:
        calls.add_metric([_label(call.campaign_id), call.outcome], call.calls, created=created)
    abandon_labels = ["campaign_id", "window"]
    answered = GaugeMetricFamily(
        "arrears_abandon_live_answered",
        "Calls answered by a live person: today (UTC) and the rolling 30 days ending today.",
        labels=abandon_labels,
    )
    abandoned = GaugeMetricFamily(
        "arrears_abandon_abandoned",
        "Live answers abandoned or connected more than two seconds after the greeting.",
        labels=abandon_labels,
    )
    rate = GaugeMetricFamily(
        "arrears_abandon_rate",
        "Abandoned over live-answered calls (0 without live answers).",
        labels=abandon_labels,
    )
    for figure in figures.abandon:
        labels = [str(figure.campaign_id), figure.window]
        answered.add_metric(labels, figure.live_answered)
        abandoned.add_metric(labels, figure.abandoned)
        rate.add_metric(labels, figure.rate)
    decisions = CounterMetricFamily(
        "arrears_gate_decisions", "Dial-gate decisions since UTC midnight.", labels=["verdict"]
    )
    denials = CounterMetricFamily(
        "arrears_gate_denials", "Dial-gate denials since UTC midnight, by rule id.", labels=["rule"]
    )
    verdicts: Tally[bool] = Tally()
    for gate in figures.gate:
        verdicts[gate.allowed] += gate.decisions
        if not gate.allowed:
            denials.add_metric([gate.rule], gate.decisions, created=created)
    for allowed, verdict in ((True, "allowed"), (False, "denied")):
        decisions.add_metric([verdict], verdicts[allowed], created=created)
    return [calls, answered, abandoned, rate, decisions, denials]


def agent_families(states: Iterable[tuple[str, str | None]], activities: Iterable[str]) -> list[Metric]:
    """Agents by activity and pause code; every activity appears, zero when nobody is in it."""
    tally = Tally((activity, pause_code or "") for activity, pause_code in states)
    for activity in activities:
        if not any(key[0] == activity for key in tally):
            tally[activity, ""] = 0
    agents = GaugeMetricFamily(
        "arrears_agents",
        "Signed-in agents by state (pause_code set while paused).",
        labels=["state", "pause_code"],
    )
    for (activity, pause_code), count in sorted(tally.items()):
        agents.add_metric([activity, pause_code], count)
    return [agents]


# -- figures kept in the process that has them ------------------------------------------------------

PACER_DECISIONS = Counter(
    "arrears_pacer_decisions", "Pacing decisions taken by this process's engines.", ["campaign_id"]
)
PACER_CALLS_WANTED = Counter(
    "arrears_pacer_calls_wanted",
    "Calls the pacer asked for, before the line and ratio caps.",
    ["campaign_id"],
)
PACER_CALLS_LAUNCHED = Counter(
    "arrears_pacer_calls_launched", "Calls handed to the hopper after the caps.", ["campaign_id"]
)


def record_pacer_decision(campaign_id: int, wanted: int, launched: int) -> None:
    label = str(campaign_id)
    PACER_DECISIONS.labels(label).inc()
    PACER_CALLS_WANTED.labels(label).inc(max(wanted, 0))
    PACER_CALLS_LAUNCHED.labels(label).inc(max(launched, 0))


class SipWorkerView(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def ready(self) -> bool: ...
    @property
    def capacity(self) -> int: ...
    @property
    def held(self) -> Collection[str]: ...
    @property
    def reserved(self) -> int: ...


class SipNodeView(Protocol):
    """What the metrics read of a SIP node supervisor (dialer.sip.node.SipNode)."""

    @property
    def workers(self) -> Sequence[SipWorkerView]: ...
    @property
    def restarts(self) -> int: ...


class _SipNodes(Collector):
    """The SIP nodes running in this process, read at scrape time."""

    def __init__(self) -> None:
        self._nodes: weakref.WeakKeyDictionary[SipNodeView, str] = weakref.WeakKeyDictionary()
        self._numbers = itertools.count()

    def watch(self, node: SipNodeView) -> None:
        self._nodes.setdefault(node, str(next(self._numbers)))

    def forget(self, node: SipNodeView) -> None:
        self._nodes.pop(node, None)

    def collect(self) -> Iterator[Metric]:
        labels = ["node", "worker"]
        up = GaugeMetricFamily(
            "arrears_sip_worker_up", "1 while a SIP worker process takes calls.", labels=labels
        )
        legs = GaugeMetricFamily(
            "arrears_sip_worker_legs", "Call legs a SIP worker holds or has reserved.", labels=labels
        )
        capacity = GaugeMetricFamily(
            "arrears_sip_worker_capacity",
            "Simultaneous call legs a SIP worker's pjsua2 allows.",
            labels=labels,
        )
        restarts = CounterMetricFamily(
            "arrears_sip_worker_restarts",
            "SIP worker processes restarted after they were lost.",
            labels=["node"],
        )
        for node, number in list(self._nodes.items()):
            for worker in node.workers:
                worker_labels = [number, str(worker.index)]
                up.add_metric(worker_labels, int(worker.ready))
                legs.add_metric(worker_labels, len(worker.held) + worker.reserved)
                capacity.add_metric(worker_labels, worker.capacity)
            restarts.add_metric([number], node.restarts)
        yield from (up, legs, capacity, restarts)


_SIP_NODES = _SipNodes()
REGISTRY.register(_SIP_NODES)


def watch_sip_node(node: SipNodeView) -> None:
    """Expose this node's worker health from now on (until `forget_sip_node`)."""
    _SIP_NODES.watch(node)


def forget_sip_node(node: SipNodeView) -> None:
    _SIP_NODES.forget(node)


# -- the scrape ----------------------------------------------------------------------------------------


class _Scrape(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families
        yield from REGISTRY.collect()


def exposition(families: list[Metric]) -> bytes:
    """These families and everything this process keeps, in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scrape(families))
    return generate_latest(registry)


def scrape_refusal(token: str, authorization: str | None) -> Response | None:
    """None when the scraper may read the metrics; else the answer to give it.

    Without a `metrics_token` setting the route does not exist (404); with one, the scraper must
    send `Authorization: Bearer <token>`.
    """
    if not token:
        return Response("Not Found", status_code=404, media_type="text/plain")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    return Response(
        "Unauthorized", status_code=401, media_type="text/plain", headers={"WWW-Authenticate": "Bearer"}
    )
