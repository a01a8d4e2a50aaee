"""The engine loop of one campaign: pace, take leads, pass the gate, dial, route, account.

Exactly one engine paces a campaign: the holder of its lease (`campaigns.engine.lease`, run by
`campaigns.engine.runner`). The engine asks `may_dial` before it takes leads and again before
every INVITE, so a holder that can no longer renew its lease stops dialling at once (an attempt
already reserved is cancelled, never dialled); losing the lease also sets `stop`, and the engine
hangs up every call no agent is on and drains the rest, so that no call of its still rings when a
successor closes what it left open. A bridged call's agent and connect time are written on the
attempt as soon as it is bridged, so that a successor can tell a conversation from a ringing call
when it closes what a dead holder left open.

Threads: everything runs on the event loop except database work, which goes to one database
thread in submission order. That order matters: an attempt is marked dialling before its outcome
is written, because both are queued in the order the events happened.

Timestamps recorded in the ledger: `dialed_at` when the INVITE left, `answered_at` when the
person's greeting ended (the AMD verdict, or the SIP answer without AMD; the two-second rule
counts from there), `connected_at` when the agent leg was bridged.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from campaigns.engine import store
from campaigns.engine.agents import AgentPool, AgentView, ConnectedCall, EndedCall, choose_agent
from campaigns.engine.calls import Action, CallState, Event, Phase, advance, final_outcome
from campaigns.engine.congestion import TrunkWindow, after_call
from campaigns.engine.figures import EngineFigures
from campaigns.engine.prompts import prompt_wav
from campaigns.engine.settings import CONNECT_DEADLINE_S, MachineAction
from campaigns.events import EventFormatError, HangUp, ScreenPop, agent_channel, campaign_channel
from campaigns.hopper import Hopper, HopperConfig, Lead
from compliance.attempts import CallResult, cancel, complete, mark_dialing
from compliance.gate import DialGate, DialRequest, GateResult
from compliance.models import DialingMode, Outcome
from dialer.outcomes import HungUpBy
from dialer.pacing import AgentPhase, Pacer, PacingConfig, PacingEvent, PacingState, make_pacer
from dialer.pacing.predictive import PredictivePriors
from dialer.sip import protocol as p
from dialer.sip.call_node import CallNode
from dialer.sip.node import NoCapacityError
from infra.bus import Bus
from infra.db import utcnow
from infra.logging import bind_log_context
from infra.metrics import record_pacer_decision

log = logging.getLogger(__name__)
T = TypeVar("T")

TICK_S = 0.5
ORIGINATE_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 180.0
_UNRESOLVED = frozenset({Phase.RINGING, Phase.SCREENING})
_WORKING = frozenset({AgentPhase.IDLE, AgentPhase.TALK, AgentPhase.WRAP})
_VERDICTS = {"human": Event.HUMAN, "machine": Event.MACHINE}
_NOT_CONNECTED = frozenset({Outcome.BUSY, Outcome.NOT_IN_SERVICE, Outcome.NETWORK_FAILURE})


@dataclasses.dataclass
class LiveCall:
    call_id: str
    lead: Lead
    attempt_uuid: str
    placed_at: float  # loop time
    state: CallState
    answered_at: dt.datetime | None = None  # SIP answer
    live_at: float | None = None  # loop time of the live verdict
    live_wall: dt.datetime | None = None
    agent: AgentView | None = None
    agent_leg: str | None = None
    connected_at: dt.datetime | None = None
    resolved: bool = False
    timers: list[asyncio.TimerHandle] = dataclasses.field(default_factory=list)


def _wall(event: p.Event) -> dt.datetime:
    return dt.datetime.fromtimestamp(event.at, dt.UTC) if event.at else utcnow()


def _pacing_outcome(outcome: Outcome) -> str:
    if outcome is Outcome.NO_ANSWER:
        return "no_answer"
    if outcome in _NOT_CONNECTED:
        return "failed"
    return "machine"  # answered, ended before a live verdict: the line is free, nobody waits


class _DatabaseThread:
    """One thread for the engine's database work, in submission order."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="engine-db")

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, functools.partial(work, *args))

    async def write(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run `work(session, *args)` in a transaction of its own."""

        def transaction() -> None:
            with self.sessions.begin() as session:
                work(session, *args, **kwargs)

        await self.run(transaction)

    def submit(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(self.write(work, *args, **kwargs))

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class CampaignEngine:
    def __init__(
        self,
        campaign: store.CampaignConfig,
        *,
        sessions: sessionmaker[Session],
        gate: DialGate,
        node: CallNode,
        agents: AgentPool,
        bus: Bus | None = None,
        seed: int = 0,
        may_dial: Callable[[], bool] = lambda: True,
    ) -> None:
        self.campaign = campaign
        self.may_dial = may_dial
        self.settings = campaign.settings
        self.gate = gate
        self.node = node
        self.agents = agents
        self.bus = bus
        self.seed = seed
        self.db = _DatabaseThread(sessions)
        self.hopper = Hopper(
            sessions,
            HopperConfig(
                campaign.id,
                campaign.client_id,
                self.settings.strategy,
                self.settings.schedule,
                self.settings.hopper_size,
            ),
        )
        self.mode = DialingMode(campaign.dial_mode.value)
        self.figures = EngineFigures()
        self.calls: dict[str, LiveCall] = {}
        self.agent_legs: dict[str, LiveCall] = {}
        self.waiting: collections.deque[LiveCall] = collections.deque()
        self.team: list[AgentView] = []
        self.pacer: Pacer | None = None
        self.launching = 0
        self.short_until = 0.0  # loop time until which the hopper is known to be (nearly) empty
        self.trunk = TrunkWindow()  # how many calls the trunk takes, once it has refused some
        self.events: list[PacingEvent] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self.t0 = 0.0
        self._wake = asyncio.Event()
        self._agents_changed = asyncio.Event()
        self._safe_harbour = ""
        self._voicemail = ""

    # -- running --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Pace the campaign until `stop` is set, then drain the calls in flight."""
        loop = asyncio.get_running_loop()
        self.t0 = loop.time()
        self._safe_harbour = str(await asyncio.to_thread(prompt_wav, self.settings.safe_harbour_text))
        if self.settings.machine is MachineAction.LEAVE_MESSAGE:
            self._voicemail = str(await asyncio.to_thread(prompt_wav, self.settings.voicemail_text))
        self.node.listen(self._on_sip)
        self.agents.watch(self._on_agents_changed)
        self.team = list(await self.agents.agents())
        self.pacer = self._make_pacer(len(self.team))
        dispatcher = asyncio.get_running_loop().create_task(self._dispatch_agents())  # runs until the end
        requests = asyncio.get_running_loop().create_task(self._follow_requests())
        try:
            while not stop.is_set():
                await self._sync_agents()
                await self._pace()
                self._wake.clear()
                waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait(waits, timeout=TICK_S, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()
            if not self.may_dial():
                self._hang_up_unbridged()
            await self._drain()
        finally:
            dispatcher.cancel()
            requests.cancel()
            for task in list(self.tasks):
                if not task.done():
                    await asyncio.wait([task], timeout=5.0)
            self.node.unlisten(self._on_sip)
            self.db.close()

    def _make_pacer(self, team_size: int) -> Pacer:
        settings = self.settings
        params: dict[str, object] = {}
        if settings.pacer == "predictive":
            params = {
                "agents": max(team_size, 1),
                "target": settings.abandon_target,
                "priors": PredictivePriors(
                    talk_mean_s=settings.expected_talk_s,
                    wrap_mean_s=settings.expected_wrap_s,
                    answer_rate=settings.expected_answer_rate,
                ),
            }
        elif settings.pacer == "ratio":
            params = {"level": settings.max_dial_ratio, "agents": max(team_size, 1)}
        pacer = make_pacer(settings.pacer, **(params | dict(settings.pacer_params)))
        pacer.reset(PacingConfig(settings.abandon_target, CONNECT_DEADLINE_S, None), self.seed)
        return pacer

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("campaign %s: engine task failed", self.campaign.id, exc_info=task.exception())

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _emit(self, kind: str, outcome: str | None = None, duration: float | None = None) -> None:
        self.events.append(PacingEvent(self._now() - self.t0, kind, outcome, duration))

    def _hang_up_unbridged(self) -> None:
        """The lease is lost: end every call no agent is on, so that none outlives the lease."""
        for call in list(self.calls.values()):
            if not call.state.bridged:
                self.node.hangup(call.call_id, "lease_lost")

    async def _drain(self) -> None:
        deadline = self._now() + DRAIN_TIMEOUT_S
        while (self.calls or self.launching) and self._now() < deadline:
            await asyncio.sleep(0.2)
        for call in list(self.calls.values()):
            self.node.hangup(call.call_id, "engine_stopped")
        while self._now() < deadline and not await self.agents.settled():
            await asyncio.sleep(0.2)
        pending = [task for task in self.tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=max(1.0, deadline - self._now()))

    # -- agents -------------------------------------------------------------------------------------

    def _on_agents_changed(self) -> None:
        self._agents_changed.set()
        self._wake.set()

    async def _sync_agents(self) -> None:
        before = {agent.user_id: agent for agent in self.team}
        self.team = list(await self.agents.agents())
        for agent in self.team:
            previous = before.pop(agent.user_id, None)
            if previous is None:
                self._emit("login")
            elif previous.phase is not agent.phase:
                self._agent_event(previous, agent)
        for _ in before:
            self._emit("logout")

    def _agent_event(self, previous: AgentView, current: AgentView) -> None:
        spent = (current.since - previous.since).total_seconds()
        if previous.phase is AgentPhase.WRAP and current.phase is AgentPhase.IDLE:
            self._emit("wrap_end", duration=spent)
        elif previous.phase is AgentPhase.TALK and current.phase is AgentPhase.WRAP:
            self._emit("talk_end", duration=spent)
        elif current.phase is AgentPhase.PAUSED:
            self._emit("pause")
        elif previous.phase is AgentPhase.PAUSED:
            self._emit("resume")

    async def _follow_requests(self) -> None:
        """Requests from the web tier about this campaign's calls (an agent's disposition ends the
        call it was recorded for)."""
        if self.bus is None:
            return
        async with await self.bus.subscribe(campaign_channel(self.campaign.id)) as subscription:
            async for message in subscription:
                try:
                    request = HangUp.from_json(message.body)
                except EventFormatError:
                    continue  # another kind of request, or a malformed one: nothing to end
                self._hang_up_dispositioned(request)

    def _hang_up_dispositioned(self, request: HangUp) -> None:
        for call in list(self.calls.values()):
            bridged_to = call.agent.user_id if call.state.bridged and call.agent is not None else None
            if call.attempt_uuid == request.attempt_uuid and bridged_to == request.agent_id:
                self.node.hangup(call.call_id, "agent_dispositioned")  # the agent leg follows

    async def _dispatch_agents(self) -> None:
        """Give waiting live answers, oldest first, to the longest-idle ready agent."""
        while True:
            await self._agents_changed.wait()
            self._agents_changed.clear()
            while self.waiting:
                call = self.waiting[0]
                if call.state.phase is not Phase.WAITING:
                    self.waiting.popleft()
                    continue
                agent = await self._claim(call)
                if agent is None:
                    break  # nobody ready: wait for the next change
                if call.state.phase is not Phase.WAITING:  # abandoned or hung up meanwhile
                    self._spawn(self.agents.release(agent.user_id, call.attempt_uuid, None))
                    continue
                self.waiting.popleft()
                call.agent = agent
                self._feed(call, Event.AGENT_CLAIMED)

    async def _claim(self, call: LiveCall) -> AgentView | None:
        team = await self.agents.agents()
        tried: set[int] = set()
        while (agent := choose_agent(team, call.lead.preferred_agent, tried)) is not None:
            if await self.agents.claim(agent.user_id, call.attempt_uuid):
                return agent
            tried.add(agent.user_id)
        return None

    # -- pacing and dialling ----------------------------------------------------------------------

    def _state(self) -> PacingState:
        now, wall = self._now(), utcnow()
        calls = list(self.calls.values())
        # Near the end of the list the pacer sees the buffer; otherwise the campaign's callable people
        # (counted at each refill), so that its finite-list control sees how much list is really left.
        hopper_leads = (
            self.hopper.available()
            if now < self.short_until
            else max(self.settings.hopper_size, self.hopper.remaining)
        )
        return PacingState(
            t=now - self.t0,
            agent_phase=[agent.phase for agent in self.team],
            agent_elapsed_s=[(wall - agent.since).total_seconds() for agent in self.team],
            ringing_elapsed_s=[now - call.placed_at for call in calls if call.state.phase in _UNRESOLVED]
            + [0.0] * self.launching,
            waiting_elapsed_s=[
                now - call.live_at
                for call in calls
                if call.state.phase is Phase.WAITING and call.live_at is not None
            ],
            lines_in_use=len(calls) + self.launching,
            leads_available=hopper_leads,
        )

    def _launch_cap(self, state: PacingState) -> int:
        working = sum(1 for agent in self.team if agent.phase in _WORKING)
        unanswered = len(state.ringing_elapsed_s) + len(state.waiting_elapsed_s)
        by_ratio = int(self.settings.max_dial_ratio * working) - unanswered
        return max(0, min(by_ratio, self.node.free_slots() // 2))

    async def _pace(self) -> None:
        assert self.pacer is not None
        for event in self.events:
            self.pacer.observe(event)
        self.events.clear()
        state = self._state()
        decided = self.pacer.decide(state)
        wanted = min(decided, self._launch_cap(state))
        allowance = self.trunk.allowance(len(self.calls) + self.launching, self._now())
        if allowance is not None:
            wanted = min(wanted, allowance)
        record_pacer_decision(self.campaign.id, decided, wanted)
        if wanted > 0:
            await self._launch(wanted)

    async def _launch(self, count: int) -> None:
        if not self.may_dial():
            return
        now = utcnow()
        self.launching += count
        try:
            leads = await self.db.run(self.hopper.take, count, now)
        except BaseException:
            self.launching -= count
            raise
        self.launching -= count - len(leads)
        if len(leads) < count:
            self.short_until = self._now() + 30.0
        if not leads:
            return
        requests = [
            DialRequest(
                person_id=lead.person_id,
                number=lead.phone.number,
                debt_ids=lead.debt_ids,
                mode=self.mode,
                at=now,
                campaign_id=self.campaign.id,
                phone_id=lead.phone.id,
            )
            for lead in leads
        ]
        try:
            results = await self.db.run(self.gate.reserve_many, requests)
        except BaseException:
            self.launching -= len(leads)
            raise
        for lead, result in zip(leads, results, strict=True):
            if result.allowed and result.attempt_uuid is not None:
                self.figures.reserved += 1
                if self.may_dial():
                    # The call's task, and the timers it starts, keep this binding.
                    with bind_log_context(attempt_id=result.attempt_uuid, campaign_id=self.campaign.id):
                        self._spawn(self._place(lead, result.attempt_uuid))
                else:
                    self._withdraw(lead, result.attempt_uuid)
            else:
                self.launching -= 1
                self._denied(lead, result, now)

    def _denied(self, lead: Lead, result: GateResult, now: dt.datetime) -> None:
        self.figures.denied += 1
        reason = str(result.verdict.get("rule") or result.verdict.get("reason") or "denied")
        self.db.submit(
            store.reschedule_denied,
            self.campaign.id,
            lead.person_id,
            next_allowed_at=result.next_allowed_at,
            reason=reason,
            now=now,
        )
        self._spawn(self.db.run(self.hopper.finished, lead.person_id))

    def _withdraw(self, lead: Lead, attempt_uuid: str) -> None:
        """A reserved attempt that will not be dialled: cancel it, so it stops counting."""
        self.launching -= 1
        self.figures.cancelled += 1
        self.db.submit(cancel, attempt_uuid)
        self._spawn(self.db.run(self.hopper.finished, lead.person_id))

    async def _place(self, lead: Lead, attempt_uuid: str) -> None:
        if not self.may_dial():
            self._withdraw(lead, attempt_uuid)
            return
        request = p.Originate(self.campaign.trunk, lead.phone.number, attempt_uuid, amd=self.settings.amd)
        try:
            call_id = await self.node.originate(request, reserve_agent=True, timeout_s=ORIGINATE_TIMEOUT_S)
        except NoCapacityError:
            self._withdraw(lead, attempt_uuid)
            return
        self.launching -= 1
        self.figures.dialled += 1
        call = LiveCall(
            call_id,
            lead,
            attempt_uuid,
            self._now(),
            CallState(
                amd=self.settings.amd, leave_message=self.settings.machine is MachineAction.LEAVE_MESSAGE
            ),
        )
        self.calls[call_id] = call
        self.db.submit(mark_dialing, attempt_uuid, utcnow())
        if lead.callback_id is not None:
            self.db.submit(store.link_callback, lead.callback_id, attempt_uuid)
        if call_id not in self.node.calls:
            # The call ended before this engine knew it, so it could not hear the end: its worker
            # was lost while the INVITE waited its turn. Take the end the node recorded.
            self._on_sip(self.node.recent[call_id].hangup)
            return
        if not self.may_dial():  # the lease was lost while the INVITE was being sent
            self.node.hangup(call_id, "lease_lost")
        loop = asyncio.get_running_loop()
        call.timers.append(loop.call_later(self.settings.ring_timeout_s, self._ring_timeout, call))

    def _ring_timeout(self, call: LiveCall) -> None:
        if call.state.phase is Phase.RINGING and call.call_id in self.calls:
            self.node.hangup(call.call_id, "ring_timeout")

    # -- call events -------------------------------------------------------------------------------

    def _on_sip(self, event: p.Event) -> None:
        call = self.calls.get(event.call)
        if call is None:
            customer = self.agent_legs.get(event.call)
            if customer is not None:
                self._on_agent_leg(customer, event)
            return
        kind = event.kind
        if kind == p.ANSWERED:
            call.answered_at = _wall(event)
            self._feed(call, Event.ANSWERED)
        elif kind == p.AMD:
            self._feed(call, _VERDICTS.get(str(event.detail.get("verdict")), Event.UNSURE))
        elif kind == p.BRIDGED:
            call.connected_at = _wall(event)
            self._feed(call, Event.BRIDGED)
        elif kind == p.PROMPT_DONE:
            if event.detail.get("completed"):
                self.figures.messages[call.attempt_uuid] = str(event.detail.get("purpose"))
            self._feed(call, Event.PROMPT_DONE)
        elif kind == p.HANGUP_EVENT:
            self._feed(call, Event.HANGUP)
            self._finish(call, event)

    def _on_agent_leg(self, call: LiveCall, event: p.Event) -> None:
        if event.kind == p.ANSWERED:
            self._feed(call, Event.AGENT_ANSWERED)
        elif event.kind == p.HANGUP_EVENT:
            self.agent_legs.pop(event.call, None)
            if call.state.phase is Phase.CONNECTING:
                agent = call.agent
                call.agent, call.agent_leg = None, None
                self._feed(call, Event.AGENT_LEG_FAILED)
                if agent is not None:
                    self._spawn(self.agents.release(agent.user_id, call.attempt_uuid, None))

    def _feed(self, call: LiveCall, event: Event) -> None:
        with bind_log_context(
            call_id=call.call_id,
            attempt_id=call.attempt_uuid,
            agent_id=None if call.agent is None else call.agent.user_id,
            campaign_id=self.campaign.id,
        ):
            before = call.state
            call.state, actions = advance(before, event)
            self._account(call, before, call.state)
            for action in actions:
                self._act(call, action)

    def _account(self, call: LiveCall, before: CallState, after: CallState) -> None:
        """Pacing events and figures from a state change."""
        now = self._now()
        if after.live and not before.live:
            call.live_at, call.live_wall, call.resolved = now, utcnow(), True
            self.figures.live += 1
            self._emit("resolved", "live", now - call.placed_at)
            self._wake.set()
        elif before.phase is Phase.SCREENING and after.phase in (Phase.MESSAGE, Phase.CLOSING):
            call.resolved = True
            self.figures.machines += 1
            self._emit("resolved", "machine", now - call.placed_at)
            self._wake.set()
        if after.bridged and not before.bridged:
            self.figures.connected += 1
            if call.live_at is not None:
                self.figures.hold_s.append(now - call.live_at)
            self._emit("connected")
            if call.agent is not None:
                self.db.submit(
                    store.record_call_facts,
                    call.attempt_uuid,
                    answered_at=call.live_wall or call.answered_at,
                    connected_at=call.connected_at or utcnow(),
                    sip_code=None,
                    sip_reason=None,
                    q850_cause=None,
                    agent_id=call.agent.user_id,
                )
            if call.agent is not None and call.agent_leg is not None:
                connected = ConnectedCall(
                    call.attempt_uuid, call.call_id, call.agent_leg, call.connected_at or utcnow()
                )
                self._spawn(self.agents.connected(call.agent.user_id, connected))
        if after.abandoned and not before.abandoned:
            self.figures.abandoned += 1
            self._emit("abandoned")

    def _act(self, call: LiveCall, action: Action) -> None:
        loop = asyncio.get_running_loop()
        if action is Action.START_DEADLINE:
            timer = loop.call_later(self.settings.give_up_after_s, self._feed, call, Event.DEADLINE)
            call.timers.append(timer)
        elif action is Action.CLAIM_AGENT:
            self.waiting.append(call)
            self._agents_changed.set()
        elif action is Action.OPEN_AGENT_LEG:
            self._spawn(self._open_agent_leg(call))
        elif action is Action.BRIDGE:
            assert call.agent_leg is not None
            self.node.bridge(call.call_id, call.agent_leg)
            self._spawn(self._screen_pop(call))
        elif action is Action.DROP_AGENT:
            self._drop_agent(call)
        elif action is Action.PLAY_SAFE_HARBOUR:
            self.node.play(call.call_id, self._safe_harbour, purpose="safe_harbour")
        elif action is Action.PLAY_VOICEMAIL:
            self.node.play(call.call_id, self._voicemail, purpose="voicemail")
        elif action is Action.HANG_UP:
            self.node.hangup(call.call_id, "engine")
        # AGENT_TO_WRAP_UP is carried out by _finish, which has the call's final facts.

    async def _open_agent_leg(self, call: LiveCall) -> None:
        agent = call.agent
        assert agent is not None
        try:
            leg = await self.node.open_agent_leg(call.call_id, agent.sip_uri)
        except (NoCapacityError, KeyError):
            if call.state.phase is Phase.CONNECTING:
                call.agent = None
                self._feed(call, Event.AGENT_LEG_FAILED)
                self._spawn(self.agents.release(agent.user_id, call.attempt_uuid, None))
            return
        if call.state.phase is not Phase.CONNECTING or call.agent is not agent:
            self.node.hangup(leg, "too_late")  # abandoned or hung up while the leg was opening
            return
        call.agent_leg = leg
        self.agent_legs[leg] = call

    def _drop_agent(self, call: LiveCall) -> None:
        agent, leg = call.agent, call.agent_leg
        call.agent, call.agent_leg = None, None
        if leg is not None:
            self.agent_legs.pop(leg, None)
            self.node.unbridge(call.call_id, leg)  # so the worker does not hang the customer up with it
            self.node.hangup(leg, "abandoned")
        if agent is not None:
            self._spawn(self.agents.release(agent.user_id, call.attempt_uuid, None))

    async def _screen_pop(self, call: LiveCall) -> None:
        if self.bus is None or call.agent is None:
            return
        pop = ScreenPop(
            attempt_uuid=call.attempt_uuid,
            person_id=call.lead.person_id,
            debt_ids=call.lead.debt_ids,
            number=call.lead.phone.number,
            campaign_id=self.campaign.id,
            mode=self.mode,
            answered_at=call.live_wall or utcnow(),
        )
        await self.bus.publish(agent_channel(call.agent.user_id), pop.to_json())

    def _note_trunk(self, network_failure: bool) -> None:
        was_limited = self.trunk.limit is not None
        self.trunk = after_call(
            self.trunk,
            network_failure=network_failure,
            in_flight=len(self.calls) + self.launching,
            now_s=self._now(),
        )
        if self.trunk.limit is not None and not was_limited:
            log.warning(
                "campaign %s: trunk %s refuses calls (%s network failures in a row): at most %d in flight",
                self.campaign.id,
                self.campaign.trunk,
                self.trunk.failures_in_row,
                self.trunk.limit,
            )

    def _finish(self, call: LiveCall, hangup: p.Event) -> None:
        self.calls.pop(call.call_id, None)
        for timer in call.timers:
            timer.cancel()
        detail = hangup.detail
        sip_outcome = Outcome(str(detail.get("outcome") or Outcome.NETWORK_FAILURE.value))
        worker_lost = detail.get("hung_up_by") == HungUpBy.WORKER_LOST
        outcome = final_outcome(call.state, sip_outcome, worker_lost=worker_lost)
        self._note_trunk(outcome is Outcome.NETWORK_FAILURE and not worker_lost)
        self.figures.outcomes[outcome] += 1
        if not call.resolved:
            self._emit("resolved", _pacing_outcome(outcome), self._now() - call.placed_at)
        ended_at = _wall(hangup)
        q850 = detail.get("q850")
        result = CallResult(
            outcome=outcome,
            ended_at=ended_at,
            answered_at=call.live_wall or call.answered_at,
            connected_at=call.connected_at if call.state.bridged else None,
            agent_id=call.agent.user_id if call.state.bridged and call.agent is not None else None,
            sip_code=int(detail.get("sip_code") or 0) or None,
            sip_reason=str(detail.get("reason") or "")[:200] or None,
            q850_cause=int(q850) if q850 is not None else None,
        )
        if call.state.bridged and call.agent is not None:
            # The agent's disposition completes the attempt; the engine leaves what SIP saw on it.
            self.db.submit(
                store.record_call_facts,
                call.attempt_uuid,
                answered_at=result.answered_at,
                connected_at=result.connected_at,
                sip_code=result.sip_code,
                sip_reason=result.sip_reason,
                q850_cause=result.q850_cause,
                agent_id=result.agent_id,
            )
            ended = EndedCall(call.attempt_uuid, result)
            self._spawn(self.agents.release(call.agent.user_id, call.attempt_uuid, ended))
        else:
            self.db.submit(complete, call.attempt_uuid, result)
        self.db.submit(
            store.record_outcome,
            self.campaign.id,
            call.lead.person_id,
            outcome=outcome,
            ended_at=ended_at,
            rules=self.settings.retry,
            callback_id=call.lead.callback_id,
        )
        self._spawn(self.db.run(self.hopper.finished, call.lead.person_id))
        self._wake.set()
