"""Discrete-event simulation of a campaign day driving a pacer (notes/pacing-benchmark.md §5.1).

The pacer decides every `TICK_S` and after any batch of simultaneous events that resolves a call or
frees an agent. It sees only the observable state; lead attributes stay inside the simulator.
Common random numbers: leads are consumed in order from a per-seed stream (see `leads`), so every
pacer faces the same customers; only how many of them it consumes differs.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from dialer.pacing.leads import Lead, LeadStream, daily_answer_rates, lognormal
from dialer.pacing.scenarios import Scenario
from dialer.pacing.types import AgentPhase, Pacer, PacingConfig, PacingEvent, PacingState

TICK_S = 0.5
NO_ANSWER_TIMEOUT_S = 25.0
MACHINE_DETECTION_S = 3.0
ABANDON_MESSAGE_S = 5.0
AMD_DELAY_S = 2.5
AMD_FALSE_POSITIVE = 0.03  # live answers hung up as machines
AMD_FALSE_NEGATIVE = 0.10  # machines passed to agents
MACHINE_ON_AGENT_S = 10.0
UNLIMITED_LEADS = 1_000_000  # leads_available when the list is not the constraint

_RESOLVE, _ABANDON, _TALK_END, _WRAP_END, _LINE_FREE, _STAFF = range(6)
_WORKING = (AgentPhase.IDLE, AgentPhase.TALK, AgentPhase.WRAP)


@dataclass
class DayResult:
    """What one simulated day measured inside its measurement window (after the warm-up)."""

    day: int
    answer_rate: float
    logged_in_s: float = 0.0
    talk_s: float = 0.0
    wrap_s: float = 0.0
    live_answered: int = 0  # people who answered: connected or abandoned
    abandoned: int = 0
    amd_hung_up: int = 0  # live answers hung up by AMD: abandons in the strict metric
    contacts: int = 0
    dials: int = 0
    connected_talk_s: float = 0.0  # drawn talk and wrap of connected calls: the realised ceiling
    connected_wrap_s: float = 0.0
    peak_lines: int = 0
    decisions: int = 0
    waits: list[float] = field(default_factory=list)
    holds: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _StaffChange:
    agent: int
    on: bool  # logging in or back from a pause
    absence: AgentPhase  # PAUSED for breaks, OFFLINE for logins and logouts


class _Call:
    __slots__ = ("answered_at", "dialled_at", "ident", "is_person", "lead", "outcome")

    def __init__(self, ident: int, lead: Lead, dialled_at: float, outcome: str, is_person: bool) -> None:
        self.ident = ident
        self.lead = lead
        self.dialled_at = dialled_at
        self.outcome = outcome  # what the dialer learns at resolution
        self.is_person = is_person  # a live person, whatever the dialer learns
        self.answered_at = 0.0


def _interpolate(points: tuple[tuple[float, float], ...], t: float) -> float:
    times = [p[0] for p in points]
    i = bisect_right(times, t)
    if i == 0:
        return points[0][1]
    if i == len(points):
        return points[-1][1]
    (t0, p0), (t1, p1) = points[i - 1], points[i]
    return p0 + (p1 - p0) * (t - t0) / (t1 - t0)


class _Day:
    def __init__(
        self,
        scenario: Scenario,
        pacer: Pacer,
        *,
        leads: LeadStream,
        result: DayResult,
        answer_rate: tuple[tuple[float, float], ...],
        talk_cv: float,
        leads_left: list[int],
    ) -> None:
        self.s = scenario
        self.pacer = pacer
        self.leads = leads
        self.r = result
        self.answer_rate = answer_rate
        self.talk_cv = talk_cv
        self.leads_left = leads_left  # shared across days: [remaining] or [] when unlimited
        self.window = (scenario.warmup_s, scenario.day_length_s)
        n = scenario.agents
        self.phase = np.full(n, AgentPhase.IDLE, dtype=np.int8)
        self.phase_start = np.zeros(n)
        self.agent_call: list[_Call | None] = [None] * n
        self.agent_wrap: list[float] = [0.0] * n
        self.going_off: list[AgentPhase | None] = [None] * n
        self.idle: deque[int] = deque(range(n))
        self.ringing: dict[int, float] = {}
        self.queue: dict[int, _Call] = {}
        self.lines = 0
        self.heap: list[tuple[float, int, int, object]] = []
        self.seq = 0
        self.events: list[PacingEvent] = []
        self._schedule_staffing()

    # --- bookkeeping ------------------------------------------------------------------------

    def push(self, t: float, kind: int, payload: object) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, payload))

    def in_window(self, t: float) -> bool:
        return self.window[0] <= t < self.window[1]

    def set_phase(self, agent: int, phase: AgentPhase, t: float) -> None:
        old = AgentPhase(int(self.phase[agent]))
        if old in _WORKING:
            start = max(float(self.phase_start[agent]), self.window[0])
            spent = max(0.0, min(t, self.window[1]) - start)
            self.r.logged_in_s += spent
            if old == AgentPhase.TALK:
                self.r.talk_s += spent
            elif old == AgentPhase.WRAP:
                self.r.wrap_s += spent
        self.phase[agent] = phase
        self.phase_start[agent] = t

    def emit(self, t: float, kind: str, outcome: str | None = None, duration: float | None = None) -> None:
        self.events.append(PacingEvent(t, kind, outcome, duration))

    def _schedule_staffing(self) -> None:
        staffing = self.s.staffing
        for agent, at in enumerate(staffing.login_at):
            self.phase[agent] = AgentPhase.OFFLINE
            self.push(at, _STAFF, _StaffChange(agent, True, AgentPhase.OFFLINE))
        if staffing.login_at:
            self.idle.clear()
        for agent, at in enumerate(staffing.logout_at):
            self.push(at, _STAFF, _StaffChange(agent, False, AgentPhase.OFFLINE))
        for start, end, agents in staffing.breaks:
            for agent in agents:
                self.push(start, _STAFF, _StaffChange(agent, False, AgentPhase.PAUSED))
                self.push(end, _STAFF, _StaffChange(agent, True, AgentPhase.PAUSED))

    # --- calls ------------------------------------------------------------------------------

    def dial(self, t: float) -> None:
        lead = self.leads.next()
        self.lines += 1
        self.r.peak_lines = max(self.r.peak_lines, self.lines)
        if self.in_window(t):
            self.r.dials += 1
        shock = self.s.network_shock
        shocked = shock is not None and shock.start_s <= t < shock.end_s
        pdd = lead.pdd_s + (shock.extra_pdd_s if shock is not None and shocked else 0.0)
        answer = pdd + min(lead.ring_s, NO_ANSWER_TIMEOUT_S)
        if shock is not None and shocked and lead.u_network < shock.fail_share:
            outcome, is_person, delay = "failed", False, pdd + lead.fail_delay_s
        elif lead.u_live < _interpolate(self.answer_rate, t):
            outcome, is_person, delay = "live", True, answer
            if self.s.amd:
                delay += AMD_DELAY_S
                if lead.u_amd < AMD_FALSE_POSITIVE:
                    outcome = "machine"
        elif lead.u_kind < 0.55:
            outcome, is_person, delay = "no_answer", False, pdd + NO_ANSWER_TIMEOUT_S
        elif lead.u_kind < 0.80:
            outcome, is_person, delay = "machine", False, answer + MACHINE_DETECTION_S
            if self.s.amd and lead.u_amd < AMD_FALSE_NEGATIVE:
                outcome = "live"
        else:
            outcome, is_person, delay = "failed", False, pdd + lead.fail_delay_s
        call = _Call(self.seq, lead, t, outcome, is_person)
        self.ringing[call.ident] = t
        self.push(t + delay, _RESOLVE, call)

    def resolve(self, call: _Call, t: float) -> None:
        del self.ringing[call.ident]
        self.emit(t, "resolved", call.outcome, t - call.dialled_at)
        if call.outcome != "live":
            self.lines -= 1
            if call.is_person and self.in_window(t):
                self.r.amd_hung_up += 1
            return
        call.answered_at = t
        if self.idle:
            self.connect(call, self.idle.popleft(), t)
        else:
            self.queue[call.ident] = call
            self.push(t + self.s.connect_deadline_s, _ABANDON, call)

    def abandon(self, call: _Call, t: float) -> None:
        if self.queue.pop(call.ident, None) is None:
            return
        self.emit(t, "abandoned")
        self.push(t + ABANDON_MESSAGE_S, _LINE_FREE, None)
        if call.is_person and self.in_window(call.answered_at):
            self.r.live_answered += 1
            self.r.abandoned += 1

    def connect(self, call: _Call, agent: int, t: float) -> None:
        if self.in_window(t):
            self.r.waits.append(t - float(self.phase_start[agent]))
            self.r.holds.append(t - call.answered_at)
        self.set_phase(agent, AgentPhase.TALK, t)
        if call.is_person:
            talk_mean = self.s.talk_mean_s
            if self.s.talk_shift is not None and t >= self.s.talk_shift[0]:
                talk_mean = self.s.talk_shift[1]
            talk = lognormal(talk_mean, self.talk_cv, call.lead.talk_z)
            wrap = lognormal(self.s.wrap_mean_s, self.s.wrap_cv, call.lead.wrap_z)
            if self.in_window(call.answered_at):
                self.r.live_answered += 1
                self.r.contacts += 1
                self.r.connected_talk_s += talk
                self.r.connected_wrap_s += wrap
        else:
            talk, wrap = MACHINE_ON_AGENT_S, 0.0
        self.agent_call[agent] = call
        self.agent_wrap[agent] = wrap
        self.emit(t, "connected")
        self.push(t + talk, _TALK_END, agent)

    # --- agents -----------------------------------------------------------------------------

    def talk_end(self, agent: int, t: float) -> None:
        self.emit(t, "talk_end", None, t - float(self.phase_start[agent]))
        self.lines -= 1
        self.agent_call[agent] = None
        self.set_phase(agent, AgentPhase.WRAP, t)
        self.push(t + self.agent_wrap[agent], _WRAP_END, agent)

    def wrap_end(self, agent: int, t: float) -> None:
        self.emit(t, "wrap_end", None, t - float(self.phase_start[agent]))
        off = self.going_off[agent]
        if off is not None:
            self.going_off[agent] = None
            self.set_phase(agent, off, t)
            self.emit(t, "pause" if off == AgentPhase.PAUSED else "logout")
        else:
            self.become_free(agent, t)

    def become_free(self, agent: int, t: float) -> None:
        self.set_phase(agent, AgentPhase.IDLE, t)
        if self.queue:
            oldest = next(iter(self.queue))
            self.connect(self.queue.pop(oldest), agent, t)
        else:
            self.idle.append(agent)

    def staff(self, change: _StaffChange, t: float) -> None:
        agent, on, absence = change.agent, change.on, change.absence
        phase = AgentPhase(int(self.phase[agent]))
        if on:
            self.going_off[agent] = None
            if phase in (AgentPhase.PAUSED, AgentPhase.OFFLINE):
                self.emit(t, "resume" if phase == AgentPhase.PAUSED else "login")
                self.become_free(agent, t)
        elif phase == AgentPhase.IDLE:
            self.idle.remove(agent)
            self.set_phase(agent, absence, t)
            self.emit(t, "pause" if absence == AgentPhase.PAUSED else "logout")
        elif phase in (AgentPhase.TALK, AgentPhase.WRAP):
            self.going_off[agent] = absence

    # --- the loop ---------------------------------------------------------------------------

    def state(self, t: float) -> PacingState:
        ringing = t - np.fromiter(self.ringing.values(), np.float64, len(self.ringing))
        waiting = t - np.fromiter((c.answered_at for c in self.queue.values()), np.float64, len(self.queue))
        return PacingState(
            t=t,
            agent_phase=self.phase,
            agent_elapsed_s=t - self.phase_start,
            ringing_elapsed_s=ringing,
            waiting_elapsed_s=waiting,
            lines_in_use=self.lines,
            leads_available=self.leads_left[0] if self.leads_left else UNLIMITED_LEADS,
        )

    def decide(self, t: float) -> None:
        for event in self.events:
            self.pacer.observe(event)
        self.events.clear()
        wanted = self.pacer.decide(self.state(t))
        if wanted < 0:
            raise ValueError(f"pacer asked for {wanted} calls")
        self.r.decisions += 1
        allowed = wanted
        if self.s.lines_max is not None:
            allowed = min(allowed, self.s.lines_max - self.lines)
        if self.leads_left:
            allowed = min(allowed, self.leads_left[0])
            self.leads_left[0] -= max(allowed, 0)
        for _ in range(allowed):
            self.dial(t)

    def run(self) -> None:
        end = self.s.day_length_s
        next_tick = 0.0
        heap = self.heap
        while True:
            next_event = heap[0][0] if heap else math.inf
            t = min(next_tick, next_event)
            if t >= end:
                break
            triggered = t == next_tick
            if triggered:
                next_tick += TICK_S
            while heap and heap[0][0] == t:
                _, _, kind, payload = heapq.heappop(heap)
                triggered |= self._handle(kind, payload, t)
            if triggered:
                self.decide(t)
        for agent in range(self.s.agents):
            self.set_phase(agent, AgentPhase(int(self.phase[agent])), end)

    def _handle(self, kind: int, payload: object, t: float) -> bool:
        """Apply one event; True when it warrants a pacing decision."""
        if kind == _RESOLVE:
            assert isinstance(payload, _Call)
            self.resolve(payload, t)
            return True
        if kind == _ABANDON:
            assert isinstance(payload, _Call)
            self.abandon(payload, t)
            return False
        if kind == _TALK_END:
            assert isinstance(payload, int)
            self.talk_end(payload, t)
            return False
        if kind == _WRAP_END:
            assert isinstance(payload, int)
            self.wrap_end(payload, t)
            return True
        if kind == _LINE_FREE:
            self.lines -= 1
            return False
        assert isinstance(payload, _StaffChange)
        self.staff(payload, t)
        return payload.on


def simulate(scenario: Scenario, pacer: Pacer, seed: int) -> list[DayResult]:
    """Run every day of the scenario on one seed with one pacer (reset once: it keeps what it learns)."""
    pacer.reset(
        PacingConfig(connect_deadline_s=scenario.connect_deadline_s, lines_max=scenario.lines_max),
        seed,
    )
    leads = LeadStream(seed, carrier_timing=scenario.carrier_timing)
    leads_left = [scenario.leads] if scenario.leads is not None else []
    rates = (
        daily_answer_rates(seed, scenario.days, *scenario.daily_answer_rate)
        if scenario.daily_answer_rate is not None
        else None
    )
    results = []
    for day in range(scenario.days):
        profile = ((0.0, rates[day]),) if rates is not None else scenario.answer_rate
        talk_cv = scenario.talk_cv_by_day[min(day, len(scenario.talk_cv_by_day) - 1)]
        result = DayResult(day=day, answer_rate=sum(p for _, p in profile) / len(profile))
        _Day(
            scenario,
            pacer,
            leads=leads,
            result=result,
            answer_rate=profile,
            talk_cv=talk_cv,
            leads_left=leads_left,
        ).run()
        results.append(result)
    return results
