"""`arrears bench ws`: screen-pop latency to 1,000 agent WebSockets held by one web worker.

The real app (`workbench.app.create_app`) is served by uvicorn in a process of its own, as a
scale-out web worker: PostgreSQL as the database and Redis for the live store and the bus, which is
where the engine, another process, publishes screen pops. Client processes hold one socket per
signed-in agent. The bench publishes each agent's `ScreenPop` on the bus at a steady rate, in
random order, and measures from just before the publish to the arrival of that agent's workspace
fragment over its socket: the whole path of the engine's event through Redis, the hub's checks,
the database reads and the rendering.

Baseline, in the same run: other agents whose screens poll their current call over HTTP once a
second (`GET /agent/call`, as VICIdial's agent screen does), measured from the moment their call
is connected in the live store to the first poll answer that shows it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import random
import secrets
import socket
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import click
import httpx
import psycopg
import redis

from campaigns.events import agent_channel
from infra.bus.redis_bus import RedisBus
from infra.db import upgrade, utcnow
from infra.settings import Settings
from workbench.agent_state import ConnectCall
from workbench.agents import AgentStates
from workbench.bench.ws_clients import Connected, Received, hold_sockets, poll_calls, raise_file_limit
from workbench.bench.ws_setup import BenchAgent, seed_calls, sign_in
from workbench.live_store import RedisLiveStore

GOAL_P99_MS = 50.0
SERVER_START_SECONDS = 60.0
# How long after the last publish a pop may still arrive before it counts as missing.
GRACE_SECONDS = 5.0
_TICK = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True)
class Summary:
    count: int
    p50: float
    p99: float
    max: float


def summarise(values: Sequence[float]) -> Summary:
    """Median, 99th percentile (nearest rank) and maximum; zeros when there is nothing."""
    if not values:
        return Summary(0, 0.0, 0.0, 0.0)
    ordered = sorted(values)
    rank = max(1, -(-99 * len(ordered) // 100))  # ceil(0.99 n), the nearest-rank definition
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Summary(len(ordered), median, ordered[rank - 1], ordered[-1])


@dataclasses.dataclass(frozen=True)
class Usage:
    cpu_percent: float  # of one core
    rss_mb: float


# 1,000 agents on short collections calls (60 s talk, 15 s wrap, fully occupied) connect one call
# every 75 s each: about 13 screen pops a second. The bench runs at about twice that.
DEFAULT_POP_RATE = 25.0


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    database_url: str
    redis_url: str
    agents: int = 1000
    rate: float = DEFAULT_POP_RATE  # screen pops per second
    client_processes: int = 2
    poll_agents: int = 100
    poll_rate: float = 10.0  # calls connected per second for the polling agents
    poll_interval: float = 1.0
    seed: int = 7
    redis_prefix: str = dataclasses.field(default_factory=lambda: f"arrears-wsbench:{uuid.uuid4().hex[:8]}")


@dataclasses.dataclass(frozen=True)
class BenchResult:
    connected: int
    connect_errors: list[str]
    connect_ms: Summary
    connect_seconds: float  # until every socket was open
    idle: Usage
    published: int
    push_ms: Summary
    missing: int
    closed_early: list[str]
    messages: int
    during_pops: Usage
    poll_ms: Summary
    poll_missing: int
    polls: int
    poll_errors: list[str]
    during_polls: Usage


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _Meter:
    """CPU and memory of the server process over a stretch of the run."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._cpu = _cpu_seconds(pid)
        self._started = time.monotonic()

    def read(self) -> Usage:
        spent = _cpu_seconds(self._pid) - self._cpu
        return Usage(100 * spent / (time.monotonic() - self._started), _rss_mb(self._pid))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(settings: Settings, redis_prefix: str, port: int, sockets: int) -> None:
    """The web worker process: the real app under uvicorn, as `arrears web` runs it."""
    import uvicorn

    from workbench.app import create_app

    raise_file_limit(sockets + 1024)
    uvicorn.run(
        create_app(settings, redis_prefix=redis_prefix),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def _wait_until_serving(base_url: str, server: multiprocessing.process.BaseProcess) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if not server.is_alive():
            raise click.ClickException(f"the web server exited with code {server.exitcode}")
        try:
            if httpx.get(f"{base_url}/login", timeout=2.0, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise click.ClickException(f"the web server did not answer within {SERVER_START_SECONDS:.0f} s")


async def _publish_pops(config: BenchConfig, agents: list[BenchAgent]) -> dict[str, int]:
    """Each agent's screen pop on its channel, `config.rate` per second; publish times by uuid."""
    bus = RedisBus.from_url(config.redis_url, prefix=config.redis_prefix)
    published: dict[str, int] = {}
    started = time.monotonic()
    try:
        for index, agent in enumerate(agents):
            await asyncio.sleep(max(0.0, started + index / config.rate - time.monotonic()))
            published[agent.pop.attempt_uuid] = time.time_ns()
            await bus.publish(agent_channel(agent.viewer.user_id), agent.pop.to_json())
    finally:
        await bus.close()
    return published


async def _connect_polled_calls(config: BenchConfig, agents: list[BenchAgent]) -> dict[str, int]:
    """Put each polling agent on their call in the live store, `config.poll_rate` per second."""
    store = RedisLiveStore(config.redis_url, f"{config.redis_prefix}:web:")
    bus = RedisBus.from_url(config.redis_url, prefix=config.redis_prefix)
    states = AgentStates(store, bus, utcnow)
    connected: dict[str, int] = {}
    started = time.monotonic()
    try:
        for index, agent in enumerate(agents):
            await asyncio.sleep(max(0.0, started + index / config.poll_rate - time.monotonic()))
            connected[agent.pop.attempt_uuid] = time.time_ns()
            await states.apply(agent.viewer, ConnectCall(agent.pop.attempt_uuid))
    finally:
        await bus.close()
        await store.close()
    return connected


async def _poll_phase(
    config: BenchConfig, base_url: str, agents: list[BenchAgent]
) -> tuple[dict[str, int], dict[str, int], int, list[str]]:
    until = time.monotonic() + len(agents) / config.poll_rate + 3 * config.poll_interval + GRACE_SECONDS
    polling = asyncio.create_task(poll_calls(base_url, agents, config.poll_interval, until, config.seed))
    await asyncio.sleep(2 * config.poll_interval)  # every screen is polling before the first call
    connected = await _connect_polled_calls(config, agents)
    result = await polling
    return connected, result.seen_ns, result.polls, result.errors


def _latencies_ms(sent: dict[str, int], arrived: dict[str, int]) -> tuple[list[float], int]:
    found = [(arrived[key] - at) / 1e6 for key, at in sent.items() if key in arrived]
    return found, len(sent) - len(found)


def run_bench(config: BenchConfig) -> BenchResult:
    """Seed, serve, connect, publish and poll; the caller owns the database and the Redis prefix."""
    raise_file_limit(config.agents + 1024)
    rng = random.Random(config.seed)
    calls = seed_calls(config.database_url, config.agents + config.poll_agents)
    secret = secrets.token_hex(32)
    context = multiprocessing.get_context("spawn")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="arrears-wsbench-") as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            database_url=config.database_url,
            redis_url=config.redis_url,
            secret_key=secret,
            log_level="warning",
        )
        server = context.Process(
            target=_serve, args=(settings, config.redis_prefix, port, config.agents), daemon=True
        )
        server.start()
        try:
            assert server.pid is not None
            _wait_until_serving(base_url, server)
            agents = asyncio.run(sign_in(config.redis_url, config.redis_prefix, secret, calls))
            socket_agents, polling_agents = agents[: config.agents], agents[config.agents :]
            return _measure(config, context, base_url, server.pid, socket_agents, polling_agents, rng)
        finally:
            server.terminate()
            server.join(15)
            if server.is_alive():
                server.kill()
                server.join()


def _measure(  # noqa: PLR0917 (one run's moving parts, passed once)
    config: BenchConfig,
    context: multiprocessing.context.SpawnContext,
    base_url: str,
    server_pid: int,
    socket_agents: list[BenchAgent],
    polling_agents: list[BenchAgent],
    rng: random.Random,
) -> BenchResult:
    # The polling baseline runs first, which also warms the worker (templates compiled, database
    # connections open) as a worker that has been serving for a while is.
    polls_meter = _Meter(server_pid)
    connected_at, seen, polls, poll_errors = asyncio.run(_poll_phase(config, base_url, polling_agents))
    during_polls = polls_meter.read()

    reports: multiprocessing.Queue[object] = context.Queue()
    stop = context.Event()
    shares = [socket_agents[index :: config.client_processes] for index in range(config.client_processes)]
    clients = [
        context.Process(target=hold_sockets, args=(base_url, share, reports, stop), daemon=True)
        for share in shares
        if share
    ]
    started = time.monotonic()
    for client in clients:
        client.start()
    try:
        connects = [reports.get(timeout=600) for _ in clients]
        connect_seconds = time.monotonic() - started
        assert all(isinstance(report, Connected) for report in connects)
        idle_meter = _Meter(server_pid)
        time.sleep(2.0)
        idle = idle_meter.read()

        order = list(socket_agents)
        rng.shuffle(order)
        pops_meter = _Meter(server_pid)
        published = asyncio.run(_publish_pops(config, order))
        during_pops = pops_meter.read()
        time.sleep(GRACE_SECONDS)
        stop.set()
        received = [reports.get(timeout=120) for _ in clients]
    finally:
        stop.set()
        for client in clients:
            client.join(30)
            if client.is_alive():
                client.kill()
    connected = [report for report in connects if isinstance(report, Connected)]
    arrivals = [report for report in received if isinstance(report, Received)]
    push, missing = _latencies_ms(
        published, {k: v for report in arrivals for k, v in report.workspaces_ns.items()}
    )

    poll, poll_missing = _latencies_ms(connected_at, seen)
    return BenchResult(
        connected=sum(len(report.connect_ms) for report in connected),
        connect_errors=[error for report in connected for error in report.errors],
        connect_ms=summarise([ms for report in connected for ms in report.connect_ms]),
        connect_seconds=connect_seconds,
        idle=idle,
        published=len(published),
        push_ms=summarise(push),
        missing=missing,
        closed_early=[line for report in arrivals for line in report.closed_early],
        messages=sum(report.messages for report in arrivals),
        during_pops=during_pops,
        poll_ms=summarise(poll),
        poll_missing=poll_missing,
        polls=polls,
        poll_errors=poll_errors,
        during_polls=during_polls,
    )


def _row(name: str, summary: Summary, note: str) -> str:
    return f"  {name:<26} {summary.p50:>9.1f} {summary.p99:>9.1f} {summary.max:>9.1f}   {note}"


def report(config: BenchConfig, result: BenchResult) -> list[str]:
    """The printed figures of one run."""
    lines = [
        f"one web worker (uvicorn, PostgreSQL, Redis bus), {config.agents:,} agent sockets"
        f" from {config.client_processes} client processes",
        f"connect: {result.connected:,} open, {len(result.connect_errors)} errors, all open after"
        f" {result.connect_seconds:.1f} s; per socket (handshake to first fragment)"
        f" p50 {result.connect_ms.p50:.0f} ms, p99 {result.connect_ms.p99:.0f} ms,"
        f" max {result.connect_ms.max:.0f} ms",
        f"server holding them idle: CPU {result.idle.cpu_percent:.1f} % of a core,"
        f" RSS {result.idle.rss_mb:.0f} MB",
        f"screen pops: {result.published:,} published at {config.rate:g}/s,"
        f" {result.push_ms.count:,} received, {result.missing} missing,"
        f" {len(result.closed_early)} sockets closed early;"
        f" server CPU {result.during_pops.cpu_percent:.0f} %, RSS {result.during_pops.rss_mb:.0f} MB",
        f"  {'event -> agent screen':<26} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}",
        _row("WebSocket push", result.push_ms, f"{result.push_ms.count:,} pops"),
        _row(
            f"HTTP poll every {config.poll_interval:g} s",
            result.poll_ms,
            f"{result.poll_ms.count} of {config.poll_agents} agents polling GET /agent/call,"
            f" {result.poll_missing} missing, {len(result.poll_errors)} errors;"
            f" server CPU {result.during_polls.cpu_percent:.0f} %",
        ),
    ]
    if result.push_ms.count and result.poll_ms.count:
        lines.append(
            f"polling / push: p50 {result.poll_ms.p50 / result.push_ms.p50:.1f}x,"
            f" p99 {result.poll_ms.p99 / result.push_ms.p99:.1f}x"
            f" (a {config.poll_interval:g} s poller is {500 * config.poll_interval:.0f} ms late on average"
            " before its request is even served)"
        )
    verdict = (
        "met"
        if result.push_ms.count and result.push_ms.p99 <= GOAL_P99_MS and not result.missing
        else "missed"
    )
    lines.append(f"goal: push p99 <= {GOAL_P99_MS:.0f} ms with no pop missing: {verdict}")
    lines.extend(f"connect error: {error}" for error in result.connect_errors[:5])
    lines.extend(f"closed early: {line}" for line in result.closed_early[:5])
    lines.extend(f"poll error: {error}" for error in result.poll_errors[:5])
    return lines


@click.command("ws")
@click.option("--agents", default=1000, show_default=True, help="Agent WebSockets held by the web worker.")
@click.option(
    "--rate",
    default=DEFAULT_POP_RATE,
    show_default=True,
    help="Screen pops published per second (1,000 busy agents connect about 13 calls a second).",
)
@click.option("--clients", default=2, show_default=True, help="Client processes holding the sockets.")
@click.option(
    "--poll-agents", default=100, show_default=True, help="Agents polling once a second (baseline)."
)
@click.option("--seed", "seed_value", default=7, show_default=True)
@click.option("--redis-url", default="redis://127.0.0.1:6379/0", show_default=True)
@click.option(
    "--pg-admin",
    default="postgresql://postgres@127.0.0.1:5432/postgres",
    show_default=True,
    help="Server where a scratch database is created and dropped.",
)
def bench_ws(
    *,
    agents: int,
    rate: float,
    clients: int,
    poll_agents: int,
    seed_value: int,
    redis_url: str,
    pg_admin: str,
) -> None:
    """Screen-pop latency to agent WebSockets held by one web worker, against 1-second polling.

    Each agent gets one screen pop, in random order, at --rate pops per second; latency runs from
    the publish on the bus to the agent's workspace fragment arriving over its socket.
    """
    for name, value in (("--agents", agents), ("--clients", clients), ("--poll-agents", poll_agents)):
        if value < 1:
            raise click.BadParameter("must be at least 1", param_hint=name)
    if rate <= 0:
        raise click.BadParameter("must be positive", param_hint="--rate")
    name = f"arrears_bench_ws_{uuid.uuid4().hex[:8]}"
    url = f"{pg_admin.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    config = BenchConfig(
        url,
        redis_url,
        agents=agents,
        rate=rate,
        client_processes=clients,
        poll_agents=poll_agents,
        seed=seed_value,
    )
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        upgrade(url)
        for line in report(config, run_bench(config)):
            click.echo(line)
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        _forget_keys(redis_url, config.redis_prefix)


def _forget_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)
    finally:
        client.close()
