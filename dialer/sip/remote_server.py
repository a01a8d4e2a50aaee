"""Serve a `SipNode` to engines over Redis: the process behind `arrears sipnode`.

The node heartbeats its free legs under a key with a TTL, reads commands from a stream of its own
(a consumer group with one consumer; a new stream at every start), and sends each call's events,
in order, to the stream of the engine that placed the call. An agent leg belongs to the engine of
its customer call, and lives in the same worker (`SipNode.open_agent_leg`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from dialer.sip import protocol as p
from dialer.sip import remote_core as core
from dialer.sip.node import NoCapacityError, SipNode
from dialer.sip.remote_streams import Outbox, create_group, keep_running, read_bodies, stream_ttl_ms

log = logging.getLogger(__name__)

GROUP = "sipnode"
_OWNERS_KEPT = 20_000  # call -> engine stream, kept past the hangup for late events (recordings)


class NameTakenError(RuntimeError):
    """Another live node heartbeats under this name."""


class SipNodeServer:
    def __init__(
        self,
        node: SipNode,
        client: aioredis.Redis,
        *,
        name: str,
        prefix: str = "arrears",
        heartbeat_ttl_s: float = 5.0,
        drain_timeout_s: float = 180.0,
    ) -> None:
        if heartbeat_ttl_s <= 0:
            raise ValueError("heartbeat_ttl_s must be positive")
        self.node = node
        self.client = client
        self.name = name
        self.prefix = prefix
        self.ttl_s = heartbeat_ttl_s
        self.drain_timeout_s = drain_timeout_s
        self.draining = False
        self.boot = uuid.uuid4().hex
        self.commands = core.commands_key(prefix, self.boot)
        self.owners: OrderedDict[str, str] = OrderedDict()
        self.outbox = Outbox()
        self.tasks: set[asyncio.Task[None]] = set()
        self.loops: list[asyncio.Task[None]] = []
        self.beat = 0

    async def start(self) -> None:
        """Take the name, then heartbeat, read commands and send events until `serve` ends."""
        await self._claim_name()
        await create_group(self.client, self.commands, GROUP)
        self.node.listen(self._on_event)
        steps = (self._heartbeat, self._read, self._send)
        self.loops = [self._spawn(keep_running(step, f"sip node {self.name}")) for step in steps]

    async def serve(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then drain: the heartbeat says no leg is free, so engines
        place no new call here, and the calls in flight go on until they end (or the drain times
        out). Then stop heartbeating and drop the command stream."""
        try:
            await stop.wait()
            self.draining = True
            give_up = time.monotonic() + self.drain_timeout_s
            while self.node.calls and time.monotonic() < give_up:
                await asyncio.sleep(0.2)
            while not self.outbox.empty() and time.monotonic() < give_up:  # the last hangups
                await asyncio.sleep(0.05)
        finally:
            self.node.unlisten(self._on_event)
            for task in self.loops:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            await self.client.delete(core.heartbeat_key(self.prefix, self.name), self.commands)

    def _spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sip node %s: task failed", self.name, exc_info=task.exception())

    # -- heartbeat ----------------------------------------------------------------------------------

    def view(self) -> core.NodeView:
        trunks = tuple(trunk.name for trunk in self.node.config.trunks)
        capacity = sum(worker.capacity for worker in self.node.workers)
        free = 0 if self.draining else self.node.free_slots()
        return core.NodeView(self.name, self.boot, capacity, free, trunks, self.beat)

    async def _claim_name(self) -> None:
        """Take the name with the first heartbeat; the last holder's heartbeat may still be live
        if this is a quick restart, so wait out its TTL before giving up."""
        key = core.heartbeat_key(self.prefix, self.name)
        give_up = time.monotonic() + 2 * self.ttl_s
        while not await self.client.set(key, self.view().encode(), px=round(self.ttl_s * 1000), nx=True):
            if time.monotonic() > give_up:
                raise NameTakenError(f"a live sip node named {self.name!r} already heartbeats in Redis")
            await asyncio.sleep(0.2)

    async def _heartbeat(self) -> None:
        self.beat += 1
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.set(
                core.heartbeat_key(self.prefix, self.name), self.view().encode(), px=round(self.ttl_s * 1000)
            )
            pipe.pexpire(self.commands, stream_ttl_ms(self.ttl_s))
            await pipe.execute()
        await asyncio.sleep(self.ttl_s / 5)

    # -- commands -----------------------------------------------------------------------------------

    async def _read(self) -> None:
        for body in await read_bodies(self.client, self.commands, GROUP, f"{self.name}-{self.boot}"):
            self._handle(core.Request.decode(body))

    def _handle(self, request: core.Request) -> None:
        command = request.command
        if command.op == p.ORIGINATE:
            self._spawn(self._originate(request))
        elif command.op == p.AGENT_LEG:
            self._spawn(self._agent_leg(request))
        else:
            try:
                self._control(command)
            except (KeyError, ValueError) as error:  # a call that ended meanwhile
                log.info("sip node %s: %s %s ignored: %s", self.name, command.op, command.call, error)

    def _control(self, command: p.Command) -> None:
        node, call, args = self.node, command.call, command.args
        actions: dict[str, Callable[[], None]] = {
            p.BRIDGE: lambda: node.bridge(call, str(args["with"]), bool(args.get("after_amd"))),
            p.UNBRIDGE: lambda: node.unbridge(call, str(args["with"])),
            p.PLAY: lambda: node.play(call, str(args["path"]), str(args.get("purpose", "other"))),
            p.RECORD: lambda: node.record(call, str(args["path"])),
            p.PAUSE_RECORDING: lambda: node.pause_recording(call),
            p.RESUME_RECORDING: lambda: node.resume_recording(call),
            p.STOP_RECORDING: lambda: node.stop_recording(call),
            p.DTMF: lambda: node.send_dtmf(call, str(args["digits"])),
            p.HANGUP: lambda: node.hangup(call, str(args.get("cause", "command"))),
            p.STATS: lambda: node.request_stats(call),
        }
        action = actions.get(command.op)
        if action is None:
            raise ValueError(f"unknown op {command.op!r}")
        action()

    async def _originate(self, request: core.Request) -> None:
        args = dict(request.command.args)
        reserve_agent = bool(args.pop("reserve_agent", True))
        remaining = request.deadline - time.time()
        if remaining <= 0 or self.draining:
            self._reply(request, error=core.NO_CAPACITY)
            return
        try:
            call = await self.node.originate(p.Originate(**args), reserve_agent, remaining)
        except NoCapacityError:
            self._reply(request, error=core.NO_CAPACITY)
            return
        except KeyError:
            self._reply(request, error=core.UNKNOWN_TRUNK)
            return
        self._placed(request, call)

    async def _agent_leg(self, request: core.Request) -> None:
        customer = request.command.call
        try:
            leg = await self.node.open_agent_leg(customer, str(request.command.args["agent_uri"]))
        except NoCapacityError:
            self._reply(request, error=core.NO_CAPACITY)
            return
        except KeyError:
            self._reply(request, error=core.UNKNOWN_CALL)
            return
        self._placed(request, leg)

    def _placed(self, request: core.Request, call: str) -> None:
        self.owners[call] = request.reply_to
        while len(self.owners) > _OWNERS_KEPT:
            self.owners.popitem(last=False)
        self._reply(request, call=call)
        if call not in self.node.calls:
            # Its worker was lost while the INVITE waited its turn: nobody owned the call when the
            # node reported its end, so report it now.
            self._on_event(self.node.recent[call].hangup)

    def _reply(self, request: core.Request, call: str = "", error: str = "") -> None:
        envelope = core.Envelope(reply=core.Reply(request.request, call, error))
        self.outbox.put(request.reply_to, envelope.encode())

    # -- events -------------------------------------------------------------------------------------

    def _on_event(self, event: p.Event) -> None:
        stream = self.owners.get(event.call)
        if stream is not None:
            self.outbox.put(stream, core.Envelope(event=event).encode())

    async def _send(self) -> None:
        await self.outbox.send(self.client, stream_ttl_ms(self.ttl_s))
