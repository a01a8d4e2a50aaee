"""`arrears bench sip`: how many concurrent bridged calls (with AMD) a node sustains on this machine.

Each call: the carrier simulator's "human" answers (after 0.5 s of ringing), AMD listens, the agent
leg to a simulated agent phone is opened at answer, and the two are bridged once AMD says human:
by the worker, armed once the agent answered, or (`--bridge supervisor`) by a bridge command the
supervisor sends when the verdict reaches it. With AMD, answer->bridged includes the seconds the
detector listens, so the setup-latency goal is judged on verdict->bridged; without AMD, on
answer->bridged. The baseline is the same processes idle, measured in the same run before any call.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np

from dialer.sip import protocol as p
from dialer.sip.config import NodeConfig, Trunk
from dialer.sip.node import SipNode

_HUMAN = "+15005550001"  # a carrier-simulator test number: answers and stays silent after "Hello?"
_TICK = os.sysconf("SC_CLK_TCK")
GOAL_SETUP_P99_MS = 300.0


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


@dataclass
class Usage:
    cpu_percent: float  # of one core
    rss_mb: float


async def _measure(pids: list[int], seconds: float) -> Usage:
    before, started = _cpu_seconds(pids), time.monotonic()
    await asyncio.sleep(seconds)
    spent, elapsed = _cpu_seconds(pids) - before, time.monotonic() - started
    return Usage(100 * spent / elapsed, _rss_mb(pids))


@dataclass(frozen=True)
class Plan:
    calls: int
    duration: float
    cps: float
    amd: bool
    bridge_in_worker: bool


@dataclass
class Tally:
    invite_to_answer: list[float] = field(default_factory=list)
    answer_to_bridged: list[float] = field(default_factory=list)
    answer_to_verdict: list[float] = field(default_factory=list)
    amd_audio: list[float] = field(default_factory=list)
    amd_listening: list[float] = field(default_factory=list)
    verdict_to_bridged: list[float] = field(default_factory=list)
    verdict_to_supervisor: list[float] = field(default_factory=list)
    agent_after_verdict: list[float] = field(default_factory=list)
    command_to_bridged: list[float] = field(default_factory=list)
    bridged: set[str] = field(default_factory=set)
    lost: list[str] = field(default_factory=list)
    ramp_s: float = 0.0
    held_at_start: int = 0
    held_at_end: int = 0
    idle: tuple[Usage, ...] = ()
    loaded: tuple[Usage, ...] = ()


async def _seen(node: SipNode, call: str, kind: str, timeout_s: float) -> tuple[p.Event, float]:
    """The event and the wall-clock time the supervisor had it (event times are the worker's clock)."""
    event = await node.wait_for(call, kind, timeout_s)
    return event, time.time()


async def _one_call(
    node: SipNode, agent_uri: str, plan: Plan, tally: Tally, stop: asyncio.Event, *, slot: int
) -> None:
    amd = plan.amd
    call = await node.originate(p.Originate("sim", _HUMAN, f"bench-{time.monotonic_ns()}", amd=amd))
    try:
        answered = await node.wait_for(call, p.ANSWERED, 20)
        tally.invite_to_answer.append(float(answered.detail["setup_s"] or 0))
        # The agent leg rings while AMD listens.
        agent = await node.open_agent_leg(call, agent_uri)
        _, agent_seen = await _seen(node, agent, p.ANSWERED, 10)
        command_sent = time.time()
        armed = amd and plan.bridge_in_worker
        if armed:
            node.bridge(call, agent, after_amd=True)
        if amd:
            verdict, verdict_seen = await _seen(node, call, p.AMD, 15)
            if verdict.detail["verdict"] == "machine":  # "unknown" goes to an agent, as in production
                raise RuntimeError("AMD said machine")
        if not armed:
            command_sent = time.time()
            node.bridge(call, agent)
        bridged = await node.wait_for(call, p.BRIDGED, 10)
    except (TimeoutError, LookupError, RuntimeError) as error:
        tally.lost.append(f"{call[:8]} setup: {error!r}")
        node.hangup(call)
        return
    tally.answer_to_bridged.append(bridged.at - answered.at)
    if not armed:
        tally.command_to_bridged.append(bridged.at - command_sent)
    if amd:
        tally.answer_to_verdict.append(verdict.at - answered.at)
        tally.amd_audio.append(float(verdict.detail["decided_after_s"] or 0))
        tally.amd_listening.append(float(verdict.detail["listening_after_s"] or 0))
        tally.verdict_to_bridged.append(bridged.at - verdict.at)
        tally.verdict_to_supervisor.append(verdict_seen - verdict.at)
        tally.agent_after_verdict.append(max(0.0, agent_seen - verdict_seen))
    tally.bridged.add(call)
    ended = asyncio.ensure_future(node.finished(call, math.inf))
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([ended, stopped], return_when=asyncio.FIRST_COMPLETED)
    tally.bridged.discard(call)
    if ended.done():
        tally.lost.append(f"{call[:8]} dropped: {ended.result().hangup.detail}")
        stopped.cancel()
        return
    await asyncio.sleep(slot / plan.cps)  # hang up at the rate calls were placed, not in one burst
    node.hangup(call)
    await ended


def _percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    p50, p99 = np.percentile(np.array(values) * 1000, [50, 99])
    return f"p50 {p50:6.0f} ms   p99 {p99:6.0f} ms   (n={len(values)})"


async def _run(plan: Plan) -> None:
    backends = math.ceil(2 * plan.calls / 4) + 2
    carrier = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("arrears")), "sim", "carrier", "--port", "0", "--seed", "1",
        "--backends", str(backends), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert carrier.stdout is not None
    try:
        banner = (await asyncio.wait_for(carrier.stdout.readline(), 300)).decode()
    except BaseException:
        carrier.terminate()
        await carrier.wait()
        raise
    port = int(banner.split()[3].rsplit(":", 1)[1])
    click.echo(f"carrier simulator: {backends} backends on port {port}")
    drain = asyncio.ensure_future(carrier.stdout.read())  # the carrier logs every INVITE
    try:
        tally = await _load(plan, port, carrier.pid)
    finally:
        carrier.terminate()
        await carrier.wait()
        await drain
    _report(plan, tally)


async def _load(plan: Plan, port: int, carrier_pid: int) -> Tally:
    trunk = Trunk("sim", f"sip:{{number}}@127.0.0.1:{port}", "sip:+15550100@127.0.0.1", max_cps=plan.cps)
    node = SipNode(NodeConfig(trunks=(trunk,), capacity=2 * plan.calls, ring_timeout_s=15))
    tally, stop = Tally(), asyncio.Event()
    started = time.monotonic()
    try:
        await node.start()
        click.echo(f"started {len(node.workers)} SIP workers in {time.monotonic() - started:.1f} s")
        carrier_pids = _descendants(carrier_pid)
        dialer_pids = [pid for pid in _descendants(os.getpid()) if pid not in carrier_pids]
        tally.idle = tuple(await asyncio.gather(_measure(dialer_pids, 5), _measure(carrier_pids, 5)))
        agent_uri = f"sip:agent-bench@127.0.0.1:{port}"
        tasks = []
        ramp_started = time.monotonic()
        for slot in range(plan.calls):
            tasks.append(asyncio.create_task(_one_call(node, agent_uri, plan, tally, stop, slot=slot)))
            await asyncio.sleep(1 / plan.cps)
        async with asyncio.timeout(120):
            while len(tally.bridged) + len(tally.lost) < plan.calls:
                await asyncio.sleep(0.1)
        tally.ramp_s = time.monotonic() - ramp_started
        tally.held_at_start = len(tally.bridged)
        loaded = await asyncio.gather(
            _measure(dialer_pids, plan.duration), _measure(carrier_pids, plan.duration)
        )
        tally.loaded = tuple(loaded)
        tally.held_at_end = len(tally.bridged)
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        await node.stop()
    return tally


def _report(plan: Plan, tally: Tally) -> None:
    calls, duration, cps, amd = plan.calls, plan.duration, plan.cps, plan.amd
    ramp, held_at_start, held_at_end = tally.ramp_s, tally.held_at_start, tally.held_at_end
    per_call = max(held_at_end, 1)
    click.echo(
        f"target {calls} bridged calls, AMD {'on' if amd else 'off'}, ramp {ramp:.1f} s at {cps:g} cps"
    )
    click.echo(f"bridged calls held: {held_at_start} at start, {held_at_end} after {duration:g} s")
    click.echo(f"calls lost: {len(tally.lost)}")
    for reason in tally.lost[:10]:
        click.echo(f"  {reason}")
    click.echo(f"INVITE->200 (includes the simulator's 0.5 s ring): {_percentiles(tally.invite_to_answer)}")
    if amd:
        where = "in the worker" if plan.bridge_in_worker else "by the supervisor"
        click.echo(f"answer->bridged, AMD listening included: {_percentiles(tally.answer_to_bridged)}")
        click.echo(f"  answer->AMD tap attached:           {_percentiles(tally.amd_listening)}")
        click.echo(f"  answer->AMD verdict:                {_percentiles(tally.answer_to_verdict)}")
        click.echo(f"    audio the detector needed:        {_percentiles(tally.amd_audio)}")
        click.echo(f"  AMD verdict->bridged ({where}): {_percentiles(tally.verdict_to_bridged)}")
        click.echo(f"    agent answered after the verdict: {_percentiles(tally.agent_after_verdict)}")
        click.echo(f"    verdict->supervisor:              {_percentiles(tally.verdict_to_supervisor)}")
        if not plan.bridge_in_worker:
            click.echo(f"    bridge command->bridged:          {_percentiles(tally.command_to_bridged)}")
    else:
        click.echo(f"answer->bridged: {_percentiles(tally.answer_to_bridged)}")
        click.echo(f"  bridge command->bridged: {_percentiles(tally.command_to_bridged)}")
    setup = tally.verdict_to_bridged if amd else tally.answer_to_bridged
    if setup:
        p99_ms = float(np.percentile(setup, 99)) * 1000
        measured = "verdict->bridged" if amd else "answer->bridged"
        verdict = "met" if p99_ms <= GOAL_SETUP_P99_MS else "NOT met"
        click.echo(f"goal: {measured} p99 <= {GOAL_SETUP_P99_MS:g} ms ({verdict})")
    for side, at_rest, busy in zip(("dialer", "carrier"), tally.idle, tally.loaded, strict=True):
        cpu = (busy.cpu_percent - at_rest.cpu_percent) / per_call
        rss = (busy.rss_mb - at_rest.rss_mb) / per_call
        click.echo(
            f"{side:8} CPU {busy.cpu_percent:6.1f}% of a core (idle baseline {at_rest.cpu_percent:5.1f}%), "
            f"{cpu:5.2f}% per bridged call; RSS {busy.rss_mb:7.0f} MB (idle {at_rest.rss_mb:7.0f} MB), "
            f"{busy.rss_mb / per_call:5.1f} MB per call all-in, {rss:5.2f} MB marginal"
        )


@click.command("sip")
@click.option("--calls", default=100, show_default=True, help="Concurrent bridged calls to reach.")
@click.option("--duration", default=60.0, show_default=True, help="Seconds to hold them.")
@click.option("--cps", default=20.0, show_default=True, help="Customer call setups per second.")
@click.option("--amd/--no-amd", default=True, show_default=True, help="Run answering-machine detection.")
@click.option(
    "--bridge",
    type=click.Choice(["worker", "supervisor"]),
    default="worker",
    show_default=True,
    help="Who bridges on the AMD verdict: the worker (armed in advance) or the supervisor (round trip).",
)
def bench_sip(calls: int, duration: float, cps: float, amd: bool, bridge: str) -> None:
    """Sustain concurrent bridged calls through the carrier simulator and report cost and latency."""
    asyncio.run(_run(Plan(calls, duration, cps, amd, bridge_in_worker=bridge == "worker")))
