"""The SIP node supervisor: a pool of worker processes driven from asyncio.

The supervisor owns admission (never more legs in a worker than pjsua allows, a slot only comes
back when the worker says pjsua freed it), pacing (per worker and per trunk), the facts of each
call, and crash handling (a lost worker's calls end as `worker_lost`; the worker is restarted).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from dialer.outcomes import AmdResult, CallFacts, EarlyMedia, HungUpBy, Message, Outcome, classify
from dialer.sip import protocol as p
from dialer.sip.admission import Spacer, WorkerLoad, choose_worker, pool_size, reserve
from dialer.sip.config import NodeConfig
from infra.metrics import forget_sip_node, watch_sip_node

_BACKPRESSURE_RETRY_S = 0.1
_BACKPRESSURE_GIVE_UP_S = 10.0
_LOST = "worker_lost"
_RECENT_KEPT = 10_000
_SPAWN_CONCURRENCY = 4  # starting dozens of interpreters at once only makes each one slower
_READY_TIMEOUT_S = 60.0
_LATE_KINDS = frozenset({p.RECORDING})  # may arrive after the hangup


class NoCapacityError(RuntimeError):
    """No worker could take the call within the time allowed."""


@dataclass
class CallSummary:
    call: str
    role: str
    outcome: Outcome | None  # customer calls only
    hangup: p.Event
    events: list[p.Event]  # every event of the call, including late ones (a recording saved)


@dataclass
class CallRecord:
    id: str
    role: str
    worker: int
    command: p.Command
    placed_at: float = field(default_factory=time.monotonic)
    agent_reserved: bool = False
    agent_leg: str = ""
    answered: bool = False
    bridged: bool = False
    amd: AmdResult = AmdResult.NOT_RUN
    message: Message = Message.NONE
    events: list[p.Event] = field(default_factory=list)
    finished: asyncio.Future[CallSummary] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class WorkerProcess:
    index: int
    process: asyncio.subprocess.Process | None = None
    capacity: int = 0
    pid: int = 0
    held: set[str] = field(default_factory=set)
    reserved: int = 0
    ready: bool = False
    cooling_until: float = 0.0
    spacer: Spacer | None = None
    reader: asyncio.Task[None] | None = None

    def load(self) -> WorkerLoad:
        return WorkerLoad(
            self.index, self.capacity, len(self.held) + self.reserved, self.ready, self.cooling_until
        )


class SipNode:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.calls: dict[str, CallRecord] = {}
        self.workers: list[WorkerProcess] = []
        self.trunk_spacers = {trunk.name: Spacer(trunk.max_cps) for trunk in config.trunks}
        self.restarts = 0
        self.recent: OrderedDict[str, CallSummary] = OrderedDict()  # finished calls, newest last
        self._listeners: list[Callable[[p.Event], None]] = []
        self._changed: asyncio.Condition | None = None  # capacity came free
        self._wakers: dict[str, asyncio.Event] = {}  # call id -> set at its next event
        self._stopping = False

    # -- life cycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        import pjsua2 as pj  # reading the compiled limit creates no Endpoint

        max_calls = int(pj.UaConfig().maxCalls)
        self._changed = asyncio.Condition()
        self.workers = [WorkerProcess(index) for index in range(pool_size(self.config.capacity, max_calls))]
        starting = asyncio.Semaphore(_SPAWN_CONCURRENCY)

        async def spawn(worker: WorkerProcess) -> None:
            async with starting:
                await self._spawn(worker)

        await asyncio.gather(*(spawn(worker) for worker in self.workers))
        watch_sip_node(self)

    async def stop(self) -> None:
        self._stopping = True
        forget_sip_node(self)
        for worker in self.workers:
            self._send(worker, p.Command(p.SHUTDOWN))
        for worker in self.workers:
            process = worker.process
            if process is None:
                continue
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                process.kill()
                await process.wait()
            if worker.reader is not None:
                await worker.reader

    async def _spawn(self, worker: WorkerProcess) -> None:
        worker.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dialer.sip.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._send(worker, p.Command(p.CONFIGURE, args=asdict(self.config)))
        stdout = worker.process.stdout
        assert stdout is not None
        ready = p.Event.decode(await asyncio.wait_for(stdout.readline(), _READY_TIMEOUT_S))
        if ready.kind != p.READY:
            raise RuntimeError(f"worker {worker.index} did not start: {ready}")
        worker.capacity = int(ready.detail["max_calls"] or 0)
        worker.pid = int(ready.detail["pid"] or 0)
        worker.spacer = Spacer(self.config.worker_cps)
        worker.ready = True
        worker.reader = asyncio.create_task(self._read(worker, worker.process))
        await self._notify()

    def _send(self, worker: WorkerProcess, command: p.Command) -> None:
        process = worker.process
        if process is not None and process.stdin is not None and not process.stdin.is_closing():
            process.stdin.write(command.encode())

    async def _read(self, worker: WorkerProcess, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            await self._on_event(worker, p.Event.decode(line))
        code = await process.wait()
        if not self._stopping:
            print(
                f"SIP worker {worker.index} (pid {process.pid}) exited with {code}; restarting",
                file=sys.stderr,
            )
            await self._on_worker_lost(worker)

    async def _on_worker_lost(self, worker: WorkerProcess) -> None:
        worker.ready = False
        lost = [record for record in self.calls.values() if record.worker == worker.index]
        for record in lost:
            await self._on_event(worker, _lost_event(record))
        worker.held.clear()
        worker.reserved = 0
        self.restarts += 1
        await self._spawn(worker)

    # -- events -----------------------------------------------------------------------------------

    def listen(self, listener: Callable[[p.Event], None]) -> None:
        """Call `listener` with every call event, in order, on the event loop."""
        self._listeners.append(listener)

    def unlisten(self, listener: Callable[[p.Event], None]) -> None:
        """Stop calling `listener`; an engine that gives up a campaign must not leave one behind."""
        self._listeners.remove(listener)

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _on_event(self, worker: WorkerProcess, event: p.Event) -> None:
        if event.kind == p.SLOT_FREED:
            worker.held.discard(event.call)
            await self._notify()
            return
        record = self.calls.get(event.call)
        if record is None:
            late = self.recent.get(event.call)
            if late is not None:
                late.events.append(event)
                self._deliver(event)
            return
        if event.kind == p.BACKPRESSURE:
            await self._on_backpressure(worker, record)
            return
        record.events.append(event)
        self._update_facts(record, event)
        if event.kind == p.HANGUP_EVENT:
            self._finish(worker, record, event)
            await self._notify()  # a reservation for an agent leg may have come free
        self._deliver(event)

    def _deliver(self, event: p.Event) -> None:
        waker = self._wakers.pop(event.call, None)
        if waker is not None:
            waker.set()
        for listener in self._listeners:
            listener(event)

    def _update_facts(self, record: CallRecord, event: p.Event) -> None:
        if event.kind == p.ANSWERED:
            record.answered = True
        elif event.kind == p.BRIDGED:
            record.bridged = True
            partner = self.calls.get(str(event.detail["with_call"]))
            if partner is not None:
                partner.bridged = True
        elif event.kind == p.AMD:
            record.amd = AmdResult(str(event.detail["verdict"]))
        elif event.kind == p.PROMPT_DONE:
            record.message = _message_after(record.message, event)

    def _finish(self, worker: WorkerProcess, record: CallRecord, hangup: p.Event) -> None:
        del self.calls[record.id]
        if record.agent_reserved and not record.agent_leg:
            record.agent_reserved = False
            worker.reserved -= 1
        outcome = classify(facts_from(record, hangup)) if record.role == "customer" else None
        if outcome is not None:
            hangup.detail["outcome"] = str(outcome)
        summary = CallSummary(record.id, record.role, outcome, hangup, record.events)
        self.recent[record.id] = summary
        while len(self.recent) > _RECENT_KEPT:
            self.recent.popitem(last=False)
        if not record.finished.done():
            record.finished.set_result(summary)

    async def _on_backpressure(self, worker: WorkerProcess, record: CallRecord) -> None:
        """pjsua had no free slot after all (70010): retry in the same worker a little later."""
        worker.cooling_until = time.monotonic() + _BACKPRESSURE_RETRY_S
        if time.monotonic() - record.placed_at > _BACKPRESSURE_GIVE_UP_S:
            detail: dict[str, p.Scalar] = {"role": record.role, "sip_code": 0, "reason": "no free slot"}
            detail |= {"hung_up_by": "dialer", "cause": "no_capacity", "answered": False, "rang": False}
            worker.held.discard(record.id)
            await self._on_event(worker, p.Event(p.HANGUP_EVENT, record.id, time.time(), detail))
            return
        await asyncio.sleep(_BACKPRESSURE_RETRY_S)
        if record.id in self.calls and worker.ready:
            await self._paced_send(worker, record.command, trunk=str(record.command.args.get("trunk", "")))

    # -- admission and pacing -----------------------------------------------------------------------

    async def _admit(self, need: int, timeout_s: float) -> WorkerProcess:
        assert self._changed is not None
        async with asyncio.timeout(timeout_s), self._changed:
            while True:
                chosen = choose_worker([w.load() for w in self.workers], need, time.monotonic())
                if chosen is not None:
                    return self.workers[chosen]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), _BACKPRESSURE_RETRY_S)

    async def _paced_send(self, worker: WorkerProcess, command: p.Command, trunk: str = "") -> None:
        assert worker.spacer is not None
        spacers = [worker.spacer] + ([self.trunk_spacers[trunk]] if trunk else [])
        start = reserve(time.monotonic(), spacers)
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        # The worker may have died while the command waited its turn: its calls were then reported
        # lost, and sending to the restarted worker would place a call nobody tracks any more.
        if command.call in self.calls:
            self._send(worker, command)

    # -- commands ---------------------------------------------------------------------------------

    async def originate(
        self, request: p.Originate, reserve_agent: bool = True, timeout_s: float = 30.0
    ) -> str:
        """Place a customer call; returns its call id once the INVITE is on its way.

        With `reserve_agent`, the worker keeps a slot free for this call's agent leg.
        """
        self.config.trunk(request.trunk)
        try:
            worker = await self._admit(2 if reserve_agent else 1, timeout_s)
        except TimeoutError as error:
            raise NoCapacityError("no worker has a free slot") from error
        call_id = uuid.uuid4().hex
        command = p.Command(p.ORIGINATE, call_id, asdict(request))
        record = CallRecord(call_id, "customer", worker.index, command, agent_reserved=reserve_agent)
        self.calls[call_id] = record
        worker.held.add(call_id)
        worker.reserved += int(reserve_agent)
        await self._paced_send(worker, command, trunk=request.trunk)
        return call_id

    async def open_agent_leg(self, customer_call: str, agent_uri: str) -> str:
        """Call an agent's phone in the worker of `customer_call`, using its reserved slot."""
        customer = self.calls[customer_call]
        worker = self.workers[customer.worker]
        call_id = uuid.uuid4().hex
        if customer.agent_reserved and not customer.agent_leg:
            worker.reserved -= 1
        elif worker.capacity - len(worker.held) - worker.reserved < 1:
            raise NoCapacityError(f"worker {worker.index} has no slot for an agent leg")
        customer.agent_leg = call_id
        command = p.Command(p.AGENT_LEG, call_id, asdict(p.AgentLeg(agent_uri)))
        self.calls[call_id] = CallRecord(call_id, "agent", worker.index, command)
        worker.held.add(call_id)
        await self._paced_send(worker, command)
        return call_id

    def _command(self, call_id: str, op: str, **args: p.Scalar) -> None:
        record = self.calls.get(call_id)
        if record is not None:
            self._send(self.workers[record.worker], p.Command(op, call_id, dict(args)))

    def bridge(self, call_id: str, other: str, after_amd: bool = False) -> None:
        """Connect the audio of two legs of one worker.

        With `after_amd`, `call_id` is the customer leg and the worker bridges the moment its AMD
        verdict is anything but a machine (at once if it already is), so the verdict does not
        travel to the supervisor and a bridge command back before the person hears the agent. After
        a machine verdict the legs stay apart and the worker reports COMMAND_FAILED.
        """
        if self.calls[call_id].worker != self.calls[other].worker:
            raise ValueError("bridged calls must live in the same worker")
        args: dict[str, p.Scalar] = {"with": other, "after_amd": after_amd}
        self._command(call_id, p.BRIDGE, **args)

    def unbridge(self, call_id: str, other: str) -> None:
        self._command(call_id, p.UNBRIDGE, **{"with": other})

    def play(self, call_id: str, path: str, purpose: str = "other") -> None:
        self._command(call_id, p.PLAY, **asdict(p.Play(path, purpose)))

    def record(self, call_id: str, path: str) -> None:
        self._command(call_id, p.RECORD, path=path)

    def pause_recording(self, call_id: str) -> None:
        self._command(call_id, p.PAUSE_RECORDING)

    def resume_recording(self, call_id: str) -> None:
        self._command(call_id, p.RESUME_RECORDING)

    def stop_recording(self, call_id: str) -> None:
        self._command(call_id, p.STOP_RECORDING)

    def send_dtmf(self, call_id: str, digits: str) -> None:
        self._command(call_id, p.DTMF, digits=digits)

    def hangup(self, call_id: str, cause: str = "command") -> None:
        self._command(call_id, p.HANGUP, cause=cause)

    def request_stats(self, call_id: str) -> None:
        self._command(call_id, p.STATS)

    # -- waiting ----------------------------------------------------------------------------------

    async def wait_for(
        self,
        call_id: str,
        kind: str,
        timeout_s: float = 10.0,
        where: Callable[[p.Event], bool] = lambda _: True,
    ) -> p.Event:
        """The first event of `kind` (that satisfies `where`) for a live or recently finished call."""

        def found() -> p.Event | None:
            record = self.calls.get(call_id)
            events = record.events if record is not None else self.recent[call_id].events
            return next((event for event in events if event.kind == kind and where(event)), None)

        late_kind = kind in _LATE_KINDS
        async with asyncio.timeout(timeout_s):
            while (event := found()) is None:
                if call_id not in self.calls and not late_kind:
                    raise LookupError(f"call {call_id} ended without a {kind} event")
                await self._wakers.setdefault(call_id, asyncio.Event()).wait()
            return event

    async def finished(self, call_id: str, timeout_s: float = 30.0) -> CallSummary:
        record = self.calls.get(call_id)
        if record is None:
            return self.recent[call_id]
        return await asyncio.wait_for(asyncio.shield(record.finished), timeout_s)

    def free_slots(self) -> int:
        return sum(w.capacity - len(w.held) - w.reserved for w in self.workers if w.ready)


def _message_after(current: Message, prompt_done: p.Event) -> Message:
    purpose = prompt_done.detail.get("purpose")
    if purpose == "voicemail":
        return (
            Message.VOICEMAIL_COMPLETED if prompt_done.detail.get("completed") else Message.VOICEMAIL_STARTED
        )
    if purpose == "safe_harbour" and current is Message.NONE:
        return Message.SAFE_HARBOUR
    return current


def facts_from(record: CallRecord, hangup: p.Event) -> CallFacts:
    detail = hangup.detail
    q850 = detail.get("q850")
    return CallFacts(
        final_code=int(detail.get("sip_code") or 0),
        q850_cause=int(q850) if q850 is not None else None,
        rang=bool(detail.get("rang")),
        answered=record.answered,
        amd=record.amd,
        hung_up_by=HungUpBy(str(detail.get("hung_up_by", "remote"))),
        bridged=record.bridged,
        early_media=EarlyMedia(str(detail.get("early_media_class") or "none")),
        message=record.message,
    )


def _lost_event(record: CallRecord) -> p.Event:
    rang = any(event.kind == p.RINGING for event in record.events)
    detail: dict[str, p.Scalar] = {"role": record.role, "sip_code": 0, "reason": _LOST, "hung_up_by": _LOST}
    detail |= {"cause": _LOST, "answered": record.answered, "rang": rang}
    return p.Event(p.HANGUP_EVENT, record.id, time.time(), detail)
