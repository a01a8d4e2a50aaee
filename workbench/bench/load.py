"""`arrears bench load`: how many agents this machine carries, end to end.

Simulated agents (`workbench.bench.load_agents`) sign in to two `arrears web` workers over HTTP,
hold the page's WebSocket, press Ready, take the screen pops of the calls two `arrears engine run`
processes (each with its embedded SIP node) bridge to them from the carrier simulator, and record
a disposition through the real route. Everything runs on a scratch PostgreSQL database and a
private Redis. A run is one level (`--agents`) or a ramp (`--ramp`) that steps up until a level
fails: abandon over 3 %, any error, or a screen pop not delivered.

Per level: calls, live answers up to the window's end (later ones meet agents that have stopped
taking calls) and the abandon rate among them, occupancy, screen-pop latency (the bridge of the
agent's leg, from the ledger, to the workspace arriving on the agent's socket), the time from the
gate's reservation to the INVITE (which bounds the gate's decision time), errors, CPU by process
group and the load average. The baseline, in the same run, is the pacing simulator's prediction
of abandon and occupancy for the same team, talk, wrap and live-answer rate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import queue
import secrets
import time
from collections.abc import Callable, Sequence
from multiprocessing.synchronize import Event
from pathlib import Path

import click
from sqlalchemy.orm import Session, sessionmaker

from campaigns.engine.demo import callable_place
from dialer.pacing import Pacer, make_pacer
from dialer.pacing.metrics import summarise as summarise_runs
from dialer.pacing.predictive import PredictivePriors
from dialer.pacing.scenarios import custom_scenario
from dialer.pacing.simulator import simulate
from infra.db import make_engine, make_sessionmaker, upgrade, utcnow
from workbench.bench import load_cpu, load_processes
from workbench.bench.load_agents import AgentsReport, Behaviour, ClientPlan, SignedIn, run_agents
from workbench.bench.load_figures import (
    ABANDON_LIMIT,
    LevelResult,
    Prediction,
    carrier_backends,
    engine_capacity,
    failure_of,
    limiting_factor,
    occupancy,
    sustained,
    unrun_level,
)
from workbench.bench.load_processes import Component, ComponentError, Launcher
from workbench.bench.load_setup import (
    LevelSetup,
    create_database,
    drop_database,
    ledger_figures,
    prepare_level,
    split,
    stop_campaigns,
)
from workbench.bench.ws import summarise

GOAL_AGENTS = 200
ENGINES = 2
WEB_WORKERS = 2
SIGN_IN_TIMEOUT_S = 600.0
# After the window: calls placed just before it closed may still be answered and bridged.
GRACE_S = 15.0
PREDICTION_SEEDS = 10
ABANDON_TARGET = 0.025  # the campaigns' pacing.abandon_target_percent (campaigns.engine.demo)


@dataclasses.dataclass(frozen=True)
class LoadConfig:
    levels: tuple[int, ...]
    step_seconds: float
    talk_mean_s: float
    wrap_mean_s: float
    pg_admin: str
    out_dir: Path
    seed: int = 1
    pacer: str = "predictive"  # or "progressive": one call per idle agent, which cannot over-dial


@dataclasses.dataclass
class _Run:
    """What a run holds while its levels go by."""

    config: LoadConfig
    launcher: Launcher
    sessions: sessionmaker[Session]
    web_urls: list[str]
    database: str
    password: str

    def roles(self, components: list[Component], clients: list[int]) -> load_cpu.Roles:
        groups = {c.process.pid: c.group for c in self.launcher.components if c.process.poll() is None}
        return load_cpu.Roles(
            groups=groups,
            engine_leaders=frozenset(c.process.pid for c in components if c.group == "engine"),
            clients=frozenset(clients),
            bench=os.getpid(),
            database=self.database,
        )


def _pacer(name: str, agents: int, talk_s: float, wrap_s: float) -> Pacer:
    if name != "predictive":
        return make_pacer(name)
    priors = PredictivePriors(talk_mean_s=talk_s, wrap_mean_s=wrap_s, answer_rate=0.4)
    return make_pacer(name, agents=agents, target=ABANDON_TARGET, priors=priors)


def predict(  # noqa: PLR0917 (the level's parameters, passed once)
    pacer: str, agents: int, answer_rate: float, talk_s: float, wrap_s: float, seconds: float
) -> Prediction:
    """The pacing simulator's abandon and occupancy for the level's team (as `bench engine` does)."""
    scenario = dataclasses.replace(
        custom_scenario(agents, min(max(answer_rate, 0.05), 0.95), talk_s, wrap_s, seconds / 3600),
        warmup_s=0.0,
        carrier_timing=True,
    )
    runs = {
        seed: simulate(scenario, _pacer(pacer, agents, talk_s, wrap_s), seed)
        for seed in range(101, 101 + PREDICTION_SEEDS)
    }
    summary = summarise_runs(runs)
    return Prediction(summary.occupancy, summary.abandon, PREDICTION_SEEDS)


@dataclasses.dataclass
class _Clients:
    """The agent client processes of a level (one per web worker) and their signals."""

    processes: Sequence[multiprocessing.process.BaseProcess]
    reports: multiprocessing.Queue[object]
    wind_down: Event
    stop: Event

    def next_report(self, timeout: float) -> object:
        """The next report of any client; a client that died fails the level instead of a wait."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                return self.reports.get(timeout=1.0)
            dead = [process.exitcode for process in self.processes if not process.is_alive()]
            if dead:
                raise ComponentError(f"an agent client process exited with code {dead[0]}")
        raise ComponentError(f"the agent clients did not report within {timeout:.0f} s")

    def close(self) -> None:
        self.stop.set()
        for process in self.processes:
            process.join(30)
            if process.is_alive():
                process.kill()


def _start_clients(run: _Run, setup: LevelSetup) -> _Clients:
    context = multiprocessing.get_context("spawn")
    reports: multiprocessing.Queue[object] = context.Queue()
    wind_down, stop = context.Event(), context.Event()
    logins = [login for share in setup.shares for login in share.logins]
    behaviour = Behaviour(run.config.talk_mean_s, run.config.wrap_mean_s)
    clients = [
        context.Process(
            target=run_agents,
            args=(
                ClientPlan(url, logins[index::WEB_WORKERS], behaviour, run.config.seed + index),
                reports,
                wind_down,
                stop,
            ),
            daemon=True,
        )
        for index, url in enumerate(run.web_urls)
        if logins[index::WEB_WORKERS]
    ]
    for client in clients:
        client.start()
    return _Clients(clients, reports, wind_down, stop)


def _level(run: _Run, index: int, agents: int) -> LevelResult:
    config = run.config
    capacities = [engine_capacity(size) for size in split(agents, ENGINES)]
    carrier, port = load_processes.start_carrier(run.launcher, carrier_backends(capacities), config.seed)
    engines: list[Component] = []
    try:
        setup = prepare_level(
            run.sessions,
            index,
            agents,
            ENGINES,
            port,
            config.step_seconds,
            config.talk_mean_s,
            config.wrap_mean_s,
            run.password,
            config.pacer,
        )
        plan = [(share.trunk, capacity) for share, capacity in zip(setup.shares, capacities, strict=True)]
        engines = load_processes.start_engines(run.launcher, port, plan, index)
        result = _measure(run, setup, agents, [carrier, *engines])
        losses = sum(1 for engine in engines for event in engine.events() if event.get("event") == "lost")
        return dataclasses.replace(result, lease_losses=losses)
    finally:
        for engine in engines:
            run.launcher.stop(engine, graceful=False)  # a graceful stop waits for every call to end
        run.launcher.stop(carrier)


def _window(run: _Run, seconds: float, errors: list[str]) -> tuple[float, float]:
    """Let the level run for `seconds`, watching its components; cut short if one dies."""
    start = time.time()
    end = start + seconds
    while time.time() < end:
        time.sleep(min(5.0, max(0.0, end - time.time())))
        for component in list(run.launcher.components):
            try:
                component.check_alive()
            except ComponentError as error:
                errors.append(str(error))
                return start, time.time()
    return start, time.time()


def _measure(run: _Run, setup: LevelSetup, agents: int, level_components: list[Component]) -> LevelResult:
    config = run.config
    clients = _start_clients(run, setup)
    try:
        signed = [clients.next_report(SIGN_IN_TIMEOUT_S) for _ in clients.processes]
        ready = sum(report.ready for report in signed if isinstance(report, SignedIn))
        errors: list[str] = []  # the components' here; the agents' come with their final reports
        roles = run.roles(level_components, [p.pid for p in clients.processes if p.pid is not None])
        cpu_before = load_cpu.cpu_by_group(load_cpu.read_processes(), roles)
        machine_before = load_cpu.read_machine()
        window = _window(run, config.step_seconds, errors)
        seconds = window[1] - window[0]
        cpu_after = load_cpu.cpu_by_group(load_cpu.read_processes(), roles)
        cpu = load_cpu.shares(cpu_before, cpu_after, seconds, os.cpu_count() or 1)
        busy = 100 * load_cpu.busy_fraction(machine_before, load_cpu.read_machine())
        load_average = os.getloadavg()
        stop_campaigns(run.sessions, setup.campaign_ids)
        clients.wind_down.set()
        time.sleep(GRACE_S)
        clients.stop.set()
        finals = [clients.next_report(120) for _ in clients.processes]
    finally:
        clients.close()
    seen = [report for report in finals if isinstance(report, AgentsReport)]
    errors += [error for report in seen for error in report.errors]
    pops = {uuid: at for report in seen for uuid, at in report.pops_ns.items()}
    ledger = ledger_figures(run.sessions, setup.campaign_ids, dt.datetime.fromtimestamp(window[1], dt.UTC))
    latencies = [
        (pops[uuid] - bridged.timestamp() * 1e9) / 1e6
        for uuid, bridged in ledger.bridged.items()
        if uuid in pops
    ]
    missing = sum(1 for uuid in ledger.bridged if uuid not in pops)
    answer_rate = ledger.live / ledger.dialled if ledger.dialled else 0.0
    return LevelResult(
        agents=agents,
        seconds=seconds,
        dialled=ledger.dialled,
        live=ledger.live,
        abandoned=ledger.abandoned,
        abandon_rate=ledger.abandon_rate,
        connected_late=ledger.connected_late,
        occupancy=occupancy([t for report in seen for t in report.talks], window, ready),
        dispositions=sum(report.dispositions for report in seen),
        pop_ms=summarise(latencies),
        pops_missing=missing,
        gate_to_invite_ms=summarise(ledger.gate_to_invite_ms),
        answer_to_bridge_ms=summarise(ledger.answer_to_bridge_ms),
        lease_losses=0,
        open_attempts=ledger.open,
        errors=errors,
        cpu=cpu,
        machine_busy=busy,
        load_average=load_average,
        prediction=predict(config.pacer, agents, answer_rate, config.talk_mean_s, config.wrap_mean_s, seconds)
        if ledger.dialled
        else None,
        failure=failure_of(
            agents=agents,
            ready=ready,
            live=ledger.live,
            abandon_rate=ledger.abandon_rate,
            pops_missing=missing,
            errors=len(errors),
        ),
    )


def run_load(config: LoadConfig, echo: Callable[[str], None]) -> list[LevelResult]:
    """Set everything up, run the levels until one fails, tear everything down."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    log_dir = config.out_dir / f"load-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    database, url = create_database(config.pg_admin)
    engine = make_engine(url)
    env = os.environ | {
        "ARREARS_DATABASE_URL": url,
        "ARREARS_SECRET_KEY": secrets.token_hex(32),  # shared by the web workers: one session each
        "ARREARS_DATA_DIR": str(log_dir / "data"),
        "ARREARS_POLICY": callable_place(utcnow()).policy,
        "ARREARS_LOG_LEVEL": "warning",
    }
    launcher = Launcher(log_dir, env)
    results: list[LevelResult] = []
    try:
        upgrade(url)
        _, redis_url = load_processes.start_redis(launcher)
        env["ARREARS_REDIS_URL"] = redis_url
        web_urls = [load_processes.start_web(launcher, index)[1] for index in range(WEB_WORKERS)]
        run = _Run(config, launcher, make_sessionmaker(engine), web_urls, database, secrets.token_urlsafe(18))
        echo(
            f"{ENGINES} engines with embedded SIP nodes, {WEB_WORKERS} web workers, {config.pacer} pacer;"
            f" agents talk {config.talk_mean_s:g} s and wrap {config.wrap_mean_s:g} s on average"
        )
        for index, agents in enumerate(config.levels):
            echo(
                f"level {index + 1}/{len(config.levels)}: {agents} agents for {config.step_seconds:.0f} s ..."
            )
            try:
                result = _level(run, index, agents)
            except ComponentError as error:
                echo(f"  {error}")
                result = unrun_level(agents, str(error).splitlines()[0])
            results.append(result)
            for line in level_lines(result):
                echo(line)
            if result.failure is not None:
                break
    finally:
        launcher.close()
        engine.dispose()
        drop_database(config.pg_admin, database)
    (config.out_dir / f"load-{stamp}.json").write_text(json.dumps(to_json(config, results), indent=2))
    echo(f"raw figures: {config.out_dir / f'load-{stamp}.json'}; logs: {log_dir}")
    return results


def level_lines(level: LevelResult) -> list[str]:
    lines = [
        f"  agents {level.agents}: {level.dialled} calls, {level.live} live answers in the window,"
        f" {level.abandoned} abandoned ({100 * level.abandon_rate:.1f} %,"
        f" {level.connected_late} of them reached an agent late),"
        f" occupancy {100 * level.occupancy:.0f} %, {level.dispositions} dispositions,"
        f" {len(level.errors)} errors, {level.pops_missing} pops missing,"
        f" {level.open_attempts} attempts open",
        f"  screen pop (bridge -> socket): p50 {level.pop_ms.p50:.0f} ms, p99 {level.pop_ms.p99:.0f} ms,"
        f" max {level.pop_ms.max:.0f} ms over {level.pop_ms.count} pops",
        f"  gate reservation -> INVITE: p50 {level.gate_to_invite_ms.p50:.0f} ms,"
        f" p99 {level.gate_to_invite_ms.p99:.0f} ms over {level.gate_to_invite_ms.count} calls",
        f"  greeting -> agent bridged: p50 {level.answer_to_bridge_ms.p50:.0f} ms,"
        f" p99 {level.answer_to_bridge_ms.p99:.0f} ms over {level.answer_to_bridge_ms.count} calls;"
        f" campaign leases lost by a starved engine: {level.lease_losses}",
        "  CPU (% of the machine): "
        + ", ".join(f"{group} {share:.1f}" for group, share in level.cpu.items())
        + f"; machine busy {level.machine_busy:.0f} % (other users included);"
        f" load average {' '.join(f'{value:.2f}' for value in level.load_average)}",
    ]
    if level.prediction is not None:
        lines.append(
            f"  simulator for {level.agents} agents (baseline):"
            f" abandon {100 * level.prediction.abandon:.1f} %,"
            f" occupancy {100 * level.prediction.occupancy:.0f} %"
            f" (live: abandon {100 * level.abandon_rate:.1f} %, occupancy {100 * level.occupancy:.0f} %)"
        )
    lines.append(f"  {'sustained' if level.failure is None else 'not sustained: ' + level.failure}")
    lines.extend(f"  error: {error}" for error in level.errors[:5])
    return lines


def summary_lines(levels: list[LevelResult]) -> list[str]:
    return [
        f"sustained: {sustained(levels)} agents (abandon <= {100 * ABANDON_LIMIT:.0f} %, no error,"
        f" every pop delivered; goal {GOAL_AGENTS})",
        f"limiting factor: {limiting_factor(levels, GOAL_AGENTS)}",
    ]


def to_json(config: LoadConfig, levels: list[LevelResult]) -> dict[str, object]:
    return {
        "config": {**dataclasses.asdict(config), "out_dir": str(config.out_dir), "pg_admin": None},
        "levels": [dataclasses.asdict(level) for level in levels],
        "sustained_agents": sustained(levels),
        "limiting_factor": limiting_factor(levels, GOAL_AGENTS),
        "cores": os.cpu_count(),
    }


def _levels(agents: int | None, ramp: str | None) -> tuple[int, ...]:
    if agents is not None and ramp is not None:
        raise click.UsageError("give --agents or --ramp, not both")
    if ramp is None:
        return (agents if agents is not None else 25,)
    try:
        levels = tuple(int(part) for part in ramp.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{ramp!r} is not a comma-separated list of agent counts", param_hint="--ramp"
        ) from None
    if not levels or any(level < 1 for level in levels) or list(levels) != sorted(set(levels)):
        raise click.BadParameter("agent counts must be positive and increasing", param_hint="--ramp")
    return levels


@click.command("load")
@click.option("--agents", type=click.IntRange(min=1), help="One level with this many agents (default 25).")
@click.option("--ramp", help="Levels to step through until one fails, e.g. 25,50,100,150,200.")
@click.option(
    "--minutes",
    type=click.FloatRange(min=0.1),
    help="Length of the run (a ramp splits it over its levels); default 10.",
)
@click.option(
    "--step-minutes", type=click.FloatRange(min=0.1), help="Length of each level (instead of --minutes)."
)
@click.option(
    "--talk-mean",
    default=30.0,
    show_default=True,
    help="Mean talk time of an agent before the disposition (which ends the call), s.",
)
@click.option("--wrap-mean", default=8.0, show_default=True, help="Mean wrap-up time of an agent, s.")
@click.option(
    "--pacer",
    type=click.Choice(["predictive", "progressive"]),
    default="predictive",
    show_default=True,
    help="The campaigns' pacer; progressive (one call per idle agent) separates the machine's limits"
    " from the predictive pacer's.",
)
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--pg-admin",
    default="postgresql://postgres@127.0.0.1:5432/postgres",
    show_default=True,
    help="Server where a scratch database is created and dropped.",
)
@click.option("--out-dir", type=click.Path(path_type=Path), default=Path("var/bench"), show_default=True)
def bench_load(  # noqa: PLR0917 (one parameter per command-line option)
    agents: int | None,
    ramp: str | None,
    minutes: float | None,
    step_minutes: float | None,
    talk_mean: float,
    wrap_mean: float,
    pacer: str,
    seed: int,
    pg_admin: str,
    out_dir: Path,
) -> None:
    """Agents on 2 web workers, 2 engines and their SIP nodes against the carrier simulator:
    the largest team this machine sustains, and what limits it."""
    levels = _levels(agents, ramp)
    if minutes is not None and step_minutes is not None:
        raise click.UsageError("give --minutes or --step-minutes, not both")
    if talk_mean <= 0 or wrap_mean < 0:
        raise click.BadParameter(
            "talk must be positive and wrap not negative", param_hint="--talk-mean/--wrap-mean"
        )
    step = step_minutes if step_minutes is not None else (minutes or 10.0) / len(levels)
    config = LoadConfig(levels, 60 * step, talk_mean, wrap_mean, pg_admin, out_dir, seed, pacer)
    results = run_load(config, click.echo)
    for line in summary_lines(results):
        click.echo(line)
