"""The clients of `arrears bench ws`: agent tabs holding a WebSocket each, run in client processes
of their own so that the measuring side is not the bottleneck, and 1-second pollers of the agent's
current call over HTTP (the baseline).

Arrival times are wall-clock nanoseconds (`time.time_ns`), comparable across the processes of one
machine, taken as soon as the message is read and before anything else is done with it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import re
import resource
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.datastructures import Headers
from websockets.typing import Origin

from workbench.bench.ws_setup import BenchAgent
from workbench.sessions import SESSION_COOKIE

# The workspace of a popped call, pushed out of band or answered to a poll, names its attempt.
WORKSPACE = re.compile(r'id="call-workspace"[^>]*data-call="([^"]+)"')
# Handshakes in flight at once per client process: a browser fleet signs in over minutes, not
# in one instant, and an unbounded burst would only measure the listen backlog.
CONCURRENT_HANDSHAKES = 50
HANDSHAKE_TIMEOUT_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class Connected:
    """A client process's sockets are open (or failed): sent once all have been tried."""

    connect_ms: list[float]  # handshake until the first fragment (the agent's state bar)
    errors: list[str]


@dataclasses.dataclass(frozen=True)
class Received:
    """What a client process's sockets received, sent once it is told to stop."""

    workspaces_ns: dict[str, int]  # attempt uuid -> arrival of its pushed workspace
    messages: int
    closed_early: list[str]


def raise_file_limit(wanted: int) -> None:
    """Each socket is a file descriptor; the usual soft limit of 1,024 is too few."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def websocket_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/ws"


class _Tab:
    """One agent's browser tab: its socket and what arrived on it."""

    def __init__(self, agent: BenchAgent, received: dict[str, int]) -> None:
        self.agent = agent
        self.received = received
        self.messages = 0
        self.socket: ClientConnection | None = None

    async def open(self, base_url: str, gate: asyncio.Semaphore) -> float:
        async with gate:
            started = time.perf_counter()
            self.socket = await connect(
                websocket_url(base_url),
                origin=Origin(base_url),
                additional_headers=Headers({"Cookie": f"{SESSION_COOKIE}={self.agent.cookie}"}),
                open_timeout=HANDSHAKE_TIMEOUT_SECONDS,
                proxy=None,
            )
            await self.socket.recv()
            self.messages += 1
            return (time.perf_counter() - started) * 1000

    async def listen(self) -> None:
        assert self.socket is not None
        async for message in self.socket:
            arrived = time.time_ns()
            self.messages += 1
            found = WORKSPACE.search(message if isinstance(message, str) else message.decode())
            if found is not None:
                self.received.setdefault(found.group(1), arrived)


async def _hold_sockets(base_url: str, agents: list[BenchAgent], reports: Queue[object], stop: Event) -> None:
    received: dict[str, int] = {}
    tabs = [_Tab(agent, received) for agent in agents]
    gate = asyncio.Semaphore(CONCURRENT_HANDSHAKES)
    outcomes = await asyncio.gather(*(tab.open(base_url, gate) for tab in tabs), return_exceptions=True)
    reports.put(
        Connected(
            [outcome for outcome in outcomes if isinstance(outcome, float)],
            [repr(outcome) for outcome in outcomes if isinstance(outcome, BaseException)],
        )
    )
    open_tabs = [tab for tab in tabs if tab.socket is not None]
    listeners = [asyncio.create_task(tab.listen()) for tab in open_tabs]
    await asyncio.to_thread(stop.wait)
    closed_early = [
        f"agent {tab.agent.viewer.user_id}: {task.exception() or 'closed by the server'!r}"
        for tab, task in zip(open_tabs, listeners, strict=True)
        if task.done()
    ]
    for task in listeners:
        task.cancel()
    await asyncio.gather(*(tab.socket.close() for tab in open_tabs if tab.socket is not None))
    reports.put(Received(received, sum(tab.messages for tab in tabs), closed_early))


def hold_sockets(base_url: str, agents: list[BenchAgent], reports: Queue[object], stop: Event) -> None:
    """A client process: open one socket per agent, report, listen until `stop`, report again."""
    raise_file_limit(len(agents) + 256)
    asyncio.run(_hold_sockets(base_url, agents, reports, stop))


@dataclasses.dataclass(frozen=True)
class PollResult:
    seen_ns: dict[str, int]  # attempt uuid -> the first poll answer showing it
    polls: int
    errors: list[str]


async def poll_calls(
    base_url: str, agents: list[BenchAgent], interval: float, until: float, seed: int
) -> PollResult:
    """Each agent's screen asks for its current call every `interval` seconds (at a random phase)
    until it shows the agent's call or the monotonic deadline `until` passes."""
    rng = random.Random(seed)
    seen: dict[str, int] = {}
    errors: list[str] = []
    polls = 0

    async def poll(http: httpx.AsyncClient, agent: BenchAgent) -> None:
        nonlocal polls
        await asyncio.sleep(rng.uniform(0, interval))
        headers = {"Cookie": f"{SESSION_COOKIE}={agent.cookie}", "HX-Request": "true"}
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                response = await http.get("/agent/call", headers=headers)
            except httpx.HTTPError as error:
                errors.append(repr(error))
            else:
                polls += 1
                found = WORKSPACE.search(response.text)
                if found is not None and found.group(1) == agent.pop.attempt_uuid:
                    seen[agent.pop.attempt_uuid] = time.time_ns()
                    return
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    limits = httpx.Limits(max_connections=len(agents), max_keepalive_connections=len(agents))
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0, trust_env=False) as http:
        await asyncio.gather(*(poll(http, agent) for agent in agents))
    return PollResult(seen, polls, errors)
