"""`RemoteSipNode`: what an engine uses of `SipNode`, served by any number of `arrears sipnode`s.

A new call goes to the live node (by heartbeat) with the trunk and the most free legs; the call, its
agent leg and its bridge then stay on that node. Commands go to the node's stream; replies and
call events come back, in order, on this engine's stream. When a node's heartbeat expires its calls
end as `worker_lost` (cause `node_lost`), as the calls of a crashed worker do in `SipNode`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import redis.asyncio as aioredis

from dialer.outcomes import Outcome
from dialer.sip import protocol as p
from dialer.sip import remote_core as core
from dialer.sip.node import CallSummary, NoCapacityError
from dialer.sip.remote_streams import Outbox, create_group, keep_running, read_bodies, stream_ttl_ms

log = logging.getLogger(__name__)

GROUP = "engine"
_RECENT_KEPT = 10_000
_LATE_KINDS = frozenset({p.RECORDING})  # may arrive after the hangup
_FLUSH_S = 2.0
_REPLY_GRACE_S = 5.0  # a node answers an originate at its deadline; allow for the round trip


@dataclass
class RemoteCall:
    id: str
    boot: str  # the node holding the call
    trace: core.CallTrace
    released: bool = False  # originate/open_agent_leg has returned the id to its caller
    held: list[p.Event] = field(default_factory=list)  # events that came before that
    finished: asyncio.Future[CallSummary] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class _Pending:
    boot: str
    role: str  # of the call the request places
    reply: asyncio.Future[core.Reply]
    placed: RemoteCall | None = None
    abandoned: bool = False  # the asker stopped waiting: a call placed after all is hung up


class RemoteSipNode:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "arrears", poll_s: float = 0.5) -> None:
        self.client = client
        self.prefix = prefix
        self.poll_s = poll_s
        self.engine = uuid.uuid4().hex
        self.stream = core.events_key(prefix, self.engine)
        self.calls: dict[str, RemoteCall] = {}
        self.recent: OrderedDict[str, CallSummary] = OrderedDict()
        self.nodes: dict[str, core.NodeView] = {}  # boot -> latest heartbeat
        self.pending: dict[str, int] = {}  # boot -> legs asked of it since its last heartbeat
        self._requests: dict[str, _Pending] = {}
        self._traces: dict[str, core.CallTrace] = {}
        self._listeners: list[Callable[[p.Event], None]] = []
        self._wakers: dict[str, asyncio.Event] = {}
        self._nodes_changed = asyncio.Event()
        self._outbox = Outbox()
        self._tasks: list[asyncio.Task[None]] = []

    # -- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await create_group(self.client, self.stream, GROUP)
        await self._refresh_nodes()
        steps = (self._read_events, self._watch_nodes, self._send)
        self._tasks = [asyncio.create_task(keep_running(step, "sip nodes")) for step in steps]

    async def stop(self) -> None:
        give_up = time.monotonic() + _FLUSH_S
        while not self._outbox.empty() and time.monotonic() < give_up:  # the last hangups must go out
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.delete(self.stream)

    # -- live nodes ---------------------------------------------------------------------------------

    async def _refresh_nodes(self) -> None:
        keys = [key async for key in self.client.scan_iter(match=core.heartbeat_pattern(self.prefix))]
        values = await self.client.mget(keys) if keys else []
        live = {node.boot: node for node in core.live_nodes(values)}
        for boot, node in live.items():
            before = self.nodes.get(boot)
            if before is None or before.beat != node.beat:
                self.pending.pop(boot, None)  # the node's own count now includes what we asked
        self.nodes = live
        for boot in core.lost_boots({call.boot for call in self.calls.values()}, live.values()):
            self._lose_node(boot)
        for request_id, pending in list(self._requests.items()):
            if pending.boot not in live:
                del self._requests[request_id]
                if not pending.abandoned and not pending.reply.done():
                    pending.reply.set_exception(NoCapacityError("the sip node stopped heartbeating"))
        self._nodes_changed.set()
        self._nodes_changed = asyncio.Event()

    async def _watch_nodes(self) -> None:
        await asyncio.sleep(self.poll_s)
        await self.client.pexpire(self.stream, stream_ttl_ms(self.poll_s))
        await self._refresh_nodes()

    def _lose_node(self, boot: str) -> None:
        lost = [call for call in self.calls.values() if call.boot == boot]
        log.warning("sip node %s stopped heartbeating; %d calls lost", boot, len(lost))
        for call in lost:
            # Should the node be alive after all (its heartbeat only late), a call written off
            # here must not go on with nobody minding it.
            self._command(call.id, p.HANGUP, cause=core.NODE_LOST)
            self._on_event(core.lost_hangup(call.id, call.trace, time.time()))

    def free_slots(self) -> int:
        return sum(core.free_after(node, self.pending) for node in self.nodes.values())

    # -- events -------------------------------------------------------------------------------------

    def listen(self, listener: Callable[[p.Event], None]) -> None:
        """Call `listener` with every call event, in order, on the event loop."""
        self._listeners.append(listener)

    def unlisten(self, listener: Callable[[p.Event], None]) -> None:
        self._listeners.remove(listener)

    async def _read_events(self) -> None:
        for body in await read_bodies(self.client, self.stream, GROUP, self.engine):
            envelope = core.Envelope.decode(body)
            if envelope.reply is not None:
                self._on_reply(envelope.reply)
            if envelope.event is not None:
                self._on_event(envelope.event)

    def _on_reply(self, reply: core.Reply) -> None:
        pending = self._requests.pop(reply.request, None)
        if pending is None:
            return
        if pending.abandoned:
            if reply.call:
                hangup = p.Command(p.HANGUP, reply.call, {"cause": "abandoned_request"})
                self._post(pending.boot, core.Request(hangup, self.stream))
            return
        if reply.call:
            trace = core.CallTrace(pending.role)
            self._traces[reply.call] = trace
            pending.placed = RemoteCall(reply.call, pending.boot, trace)
            self.calls[reply.call] = pending.placed
        pending.reply.set_result(reply)

    def _on_event(self, event: p.Event) -> None:
        call = self.calls.get(event.call)
        if call is None:
            late = self.recent.get(event.call)
            if late is not None:
                late.events.append(event)
                self._deliver(event)
            return
        core.note_event(self._traces, event)
        if event.kind == p.HANGUP_EVENT:
            self._finish(call, event)
        if call.released:
            self._deliver(event)
        else:
            call.held.append(event)

    def _finish(self, call: RemoteCall, hangup: p.Event) -> None:
        del self.calls[call.id]
        self._traces.pop(call.id, None)
        raw = hangup.detail.get("outcome")
        outcome = Outcome(str(raw)) if raw else None
        summary = CallSummary(call.id, call.trace.role, outcome, hangup, call.trace.events)
        self.recent[call.id] = summary
        while len(self.recent) > _RECENT_KEPT:
            self.recent.popitem(last=False)
        if not call.finished.done():
            call.finished.set_result(summary)

    def _release(self, call: RemoteCall) -> None:
        """The caller knows the call id now: hand it the events that came first."""
        call.released = True
        held, call.held = call.held, []
        for event in held:
            self._deliver(event)

    def _deliver(self, event: p.Event) -> None:
        waker = self._wakers.pop(event.call, None)
        if waker is not None:
            waker.set()
        for listener in list(self._listeners):
            listener(event)

    # -- commands -----------------------------------------------------------------------------------

    async def _send(self) -> None:
        await self._outbox.send(self.client, stream_ttl_ms(self.poll_s))

    def _post(self, boot: str, request: core.Request) -> None:
        self._outbox.put(core.commands_key(self.prefix, boot), request.encode())

    async def _ask(self, boot: str, command: p.Command, role: str, timeout_s: float) -> str:
        """Send a command that places a call and wait for the node's reply: the new call's id."""
        reply: asyncio.Future[core.Reply] = asyncio.get_running_loop().create_future()
        request_id = uuid.uuid4().hex
        pending = _Pending(boot, role, reply)
        self._requests[request_id] = pending
        self._post(boot, core.Request(command, self.stream, request_id, time.time() + timeout_s))
        try:
            answer = await asyncio.wait_for(asyncio.shield(reply), timeout_s + _REPLY_GRACE_S)
        except TimeoutError as error:
            raise NoCapacityError("the sip node did not answer") from error
        finally:
            pending.abandoned = not reply.done()  # timed out or cancelled
        if answer.error == core.NO_CAPACITY:
            raise NoCapacityError("the sip node has no free slot")
        if answer.error:
            raise KeyError(f"{command.op} refused: {answer.error}")
        if pending.placed is not None:
            # After the caller's current step, as `SipNode` delivers no event before its caller
            # has taken the new id.
            asyncio.get_running_loop().call_soon(self._release, pending.placed)
        return answer.call

    async def originate(
        self, request: p.Originate, reserve_agent: bool = True, timeout_s: float = 30.0
    ) -> str:
        """Place a customer call on the live node with the most free legs; returns its call id."""
        need = 2 if reserve_agent else 1
        deadline = time.monotonic() + timeout_s
        while (node := core.choose_node(self.nodes.values(), self.pending, need, request.trunk)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoCapacityError(f"no live sip node has trunk {request.trunk!r} and {need} free legs")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nodes_changed.wait(), remaining)
        self.pending[node.boot] = self.pending.get(node.boot, 0) + need
        command = p.Command(p.ORIGINATE, args=core.originate_args(request, reserve_agent))
        remaining = max(0.1, deadline - time.monotonic())
        return await self._ask(node.boot, command, "customer", remaining)

    async def open_agent_leg(self, customer_call: str, agent_uri: str, timeout_s: float = 30.0) -> str:
        """Call an agent's phone on the node (and in the worker) of `customer_call`."""
        customer = self.calls[customer_call]
        command = p.Command(p.AGENT_LEG, customer_call, asdict(p.AgentLeg(agent_uri)))
        return await self._ask(customer.boot, command, "agent", timeout_s)

    def _command(self, call_id: str, op: str, **args: p.Scalar) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            self._post(call.boot, core.Request(p.Command(op, call_id, dict(args)), self.stream))

    def bridge(self, call_id: str, other: str, after_amd: bool = False) -> None:
        """Connect two legs; they are on one node because the agent leg was opened beside its call."""
        if self.calls[call_id].boot != self.calls[other].boot:
            raise ValueError("bridged calls must live on the same sip node")
        args: dict[str, p.Scalar] = {"with": other, "after_amd": after_amd}
        self._command(call_id, p.BRIDGE, **args)

    def unbridge(self, call_id: str, other: str) -> None:
        self._command(call_id, p.UNBRIDGE, **{"with": other})

    def play(self, call_id: str, path: str, purpose: str = "other") -> None:
        self._command(call_id, p.PLAY, **asdict(p.Play(path, purpose)))

    def record(self, call_id: str, path: str) -> None:
        self._command(call_id, p.RECORD, path=path)

    def send_dtmf(self, call_id: str, digits: str) -> None:
        self._command(call_id, p.DTMF, digits=digits)

    def hangup(self, call_id: str, cause: str = "command") -> None:
        self._command(call_id, p.HANGUP, cause=cause)

    def request_stats(self, call_id: str) -> None:
        self._command(call_id, p.STATS)

    # -- waiting ------------------------------------------------------------------------------------

    async def wait_for(
        self,
        call_id: str,
        kind: str,
        timeout_s: float = 10.0,
        where: Callable[[p.Event], bool] = lambda _: True,
    ) -> p.Event:
        """The first event of `kind` (that satisfies `where`) for a live or recently finished call."""

        def found() -> p.Event | None:
            call = self.calls.get(call_id)
            events = call.trace.events if call is not None else self.recent[call_id].events
            return next((event for event in events if event.kind == kind and where(event)), None)

        async with asyncio.timeout(timeout_s):
            while (event := found()) is None:
                if call_id not in self.calls and kind not in _LATE_KINDS:
                    raise LookupError(f"call {call_id} ended without a {kind} event")
                await self._wakers.setdefault(call_id, asyncio.Event()).wait()
            return event

    async def finished(self, call_id: str, timeout_s: float = 30.0) -> CallSummary:
        call = self.calls.get(call_id)
        if call is None:
            return self.recent[call_id]
        return await asyncio.wait_for(asyncio.shield(call.finished), timeout_s)
