"""Simulated agents of `arrears bench load`: each does what an agent's browser tab does, over the
real routes of a web worker.

An agent signs in with the login form, opens the WebSocket the page opens, presses Ready on it,
and waits. On a screen pop (the call workspace pushed on the socket) it notes the arrival time,
talks for a drawn time, submits the disposition through the dock's route (CSRF header and an
idempotency key, as the page sends them), wraps up for a drawn time and presses Ready again.

Errors counted: any HTTP answer that is not 2xx (or the login's 303), a socket closed by the
server, a pop the page could not show, a failed disposition. Pops that never arrive are found by
the bench, which compares the arrivals with the calls the ledger says were bridged to each agent.

When told to wind down (the end of the measured window) an agent stops going ready and
dispositions any call at once; when told to stop it closes its socket and reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import re
import time
import uuid
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from workbench.bench.ws_clients import WORKSPACE, raise_file_limit, websocket_url

_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_PAGE_TOKEN = re.compile(r'"X-CSRF-Token": "([^"]+)"')
DISPOSITION_CODE = "HU"  # right party hung up: needs no verification steps or extra fields
CONCURRENT_SIGN_INS = 8  # the server hashes each password again at sign-in
HTTP_TIMEOUT_S = 30.0


@dataclasses.dataclass(frozen=True)
class Behaviour:
    talk_mean_s: float
    wrap_mean_s: float

    def talk(self, rng: random.Random) -> float:
        return rng.uniform(0.8, 1.2) * self.talk_mean_s

    def wrap(self, rng: random.Random) -> float:
        return rng.uniform(0.5, 1.5) * self.wrap_mean_s


@dataclasses.dataclass(frozen=True)
class Login:
    username: str
    password: str


@dataclasses.dataclass(frozen=True)
class ClientPlan:
    """The agents one client process runs, on one web worker."""

    base_url: str
    logins: list[Login]
    behaviour: Behaviour
    seed: int


@dataclasses.dataclass(frozen=True)
class SignedIn:
    """Sent once every agent of the client process has signed in and pressed Ready (or failed)."""

    ready: int
    errors: list[str]


@dataclasses.dataclass
class AgentsReport:
    """What the agents of one client process saw, filled in as it happens and sent when they are
    told to stop."""

    pops_ns: dict[str, int]  # attempt uuid -> arrival of its workspace on the socket
    talks: list[tuple[float, float]]  # (start, end) wall-clock seconds of each call's talk
    dispositions: int
    errors: list[str]


class _Agent:
    def __init__(
        self, base_url: str, login: Login, behaviour: Behaviour, rng: random.Random, report: AgentsReport
    ) -> None:
        self.base_url = base_url
        self.login = login
        self.behaviour = behaviour
        self.rng = rng
        self.report = report
        self.http = httpx.AsyncClient(
            base_url=base_url, follow_redirects=False, timeout=HTTP_TIMEOUT_S, trust_env=False
        )
        self.csrf = ""
        self.socket: ClientConnection | None = None
        self.pops: asyncio.Queue[str] = asyncio.Queue()
        self.closing = False

    def error(self, what: str) -> None:
        self.report.errors.append(f"{self.login.username}: {what}")

    async def sign_in(self) -> None:
        form = await self.http.get("/login")
        token = _FORM_TOKEN.search(form.text)
        if form.status_code != 200 or token is None:
            raise RuntimeError(f"GET /login answered {form.status_code}")
        data = {
            "csrf_token": token.group(1),
            "username": self.login.username,
            "password": self.login.password,
        }
        response = await self.http.post("/login", data=data)
        if response.status_code != 303:
            raise RuntimeError(f"POST /login answered {response.status_code}")
        landing = await self.http.get(response.headers["location"])
        found = _PAGE_TOKEN.search(landing.text)
        if landing.status_code != 200 or found is None:
            raise RuntimeError(f"the landing page answered {landing.status_code} without a CSRF token")
        self.csrf = found.group(1)
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        self.socket = await connect(
            websocket_url(self.base_url),
            origin=Origin(self.base_url),
            additional_headers={"Cookie": cookies},
            proxy=None,
        )
        await self.ready()

    async def ready(self) -> None:
        assert self.socket is not None
        await self.socket.send(json.dumps({"action": "ready", "HEADERS": {"X-CSRF-Token": self.csrf}}))

    async def listen(self) -> None:
        assert self.socket is not None
        try:
            async for message in self.socket:
                arrived = time.time_ns()
                text = message if isinstance(message, str) else message.decode()
                if "could not be shown" in text:
                    self.error("a screen pop could not be shown")
                found = WORKSPACE.search(text)
                if found is not None and found.group(1) not in self.report.pops_ns:
                    self.report.pops_ns[found.group(1)] = arrived
                    self.pops.put_nowait(found.group(1))
        except ConnectionClosed as closed:
            if not self.closing:
                self.error(f"socket dropped: {closed!r}")
            return
        if not self.closing:
            self.error("socket closed by the server")

    async def work(self, wind_down: asyncio.Event) -> None:
        """Take calls until stopped: talk, disposition, wrap, ready again (not after wind-down)."""
        while True:
            attempt_uuid = await self.pops.get()
            started = time.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wind_down.wait(), self.behaviour.talk(self.rng))
            self.report.talks.append((started, time.time()))
            await self.disposition(attempt_uuid)
            if wind_down.is_set():
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wind_down.wait(), self.behaviour.wrap(self.rng))
            if not wind_down.is_set():
                await self.ready()

    async def disposition(self, attempt_uuid: str) -> None:
        try:
            response = await self.http.post(
                f"/agent/calls/{attempt_uuid}/disposition",
                data={"code": DISPOSITION_CODE, "idempotency_key": str(uuid.uuid4())},
                headers={"X-CSRF-Token": self.csrf, "Origin": self.base_url, "HX-Request": "true"},
            )
        except httpx.HTTPError as error:
            self.error(f"disposition of {attempt_uuid} failed: {error!r}")
            return
        if not response.is_success:
            self.error(f"disposition of {attempt_uuid} answered {response.status_code}")
        else:
            self.report.dispositions += 1

    async def close(self) -> None:
        self.closing = True
        if self.socket is not None:
            await self.socket.close()
        await self.http.aclose()


async def _run(plan: ClientPlan, reports: Queue[object], wind_down: Event, stop: Event) -> None:
    report = AgentsReport({}, [], 0, [])
    rng = random.Random(plan.seed)
    agents = [
        _Agent(plan.base_url, login, plan.behaviour, random.Random(rng.random()), report)
        for login in plan.logins
    ]
    gate = asyncio.Semaphore(CONCURRENT_SIGN_INS)

    async def sign_in(agent: _Agent) -> bool:
        async with gate:
            try:
                await agent.sign_in()
            except (httpx.HTTPError, RuntimeError, OSError, ConnectionClosed) as error:
                agent.error(f"sign-in failed: {error!r}")
                return False
            return True

    signed = await asyncio.gather(*(sign_in(agent) for agent in agents))
    reports.put(SignedIn(sum(signed), list(report.errors)))
    active = [agent for agent, ok in zip(agents, signed, strict=True) if ok]
    winding = asyncio.Event()
    tasks = [asyncio.create_task(agent.listen()) for agent in active]
    tasks += [asyncio.create_task(agent.work(winding)) for agent in active]
    await asyncio.to_thread(wind_down.wait)
    winding.set()
    await asyncio.to_thread(stop.wait)
    for agent in active:
        if not agent.pops.empty():
            agent.error("a screen pop was still waiting to be answered at the end")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(agent.close() for agent in agents), return_exceptions=True)
    reports.put(report)


def run_agents(plan: ClientPlan, reports: Queue[object], wind_down: Event, stop: Event) -> None:
    """A client process: its agents sign in, report `SignedIn`, take calls until `wind_down`,
    finish them until `stop`, then report an `AgentsReport`."""
    raise_file_limit(2 * len(plan.logins) + 256)
    asyncio.run(_run(plan, reports, wind_down, stop))
