"""`arrears engine ...`: `run` paces the active campaigns this process holds the lease of;
`run-simulated` runs a demo campaign with simulated agents."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import click
from sqlalchemy.orm import Session, sessionmaker

from campaigns.engine.demo import print_result, run_demo
from campaigns.engine.lease import LeaseStore, LeaseTiming, LocalLeases, RedisLeases, new_token
from campaigns.engine.runner import AgentPools, EngineRunner, RunnerConfig
from campaigns.engine.sim_agents import Behaviour
from dialer.sip.call_node import CallNode
from dialer.sip.config import NodeConfig
from dialer.sip.node import SipNode
from dialer.sip.remote import RemoteSipNode
from dialer.sipnode_cli import (
    TrunkOptions,
    checked_metrics_port,
    metrics_options,
    option_env,
    parse_trunk,
    process_metrics,
    trunk_options,
)
from infra.bus import Bus, make_bus
from infra.cli import BROWSER_AGENT_POOLS
from infra.db import make_engine, make_sessionmaker, upgrade
from infra.logging import configure_logging
from infra.redis_client import waiting_client
from infra.settings import Settings, get_settings

# Prefix of the variables this command's options may come from (ENGINE_TRUNK, ...; not ARREARS_,
# which is reserved for settings); the embedded node's trunk password is ENGINE_TRUNK_PASSWORD.
ENV_PREFIX = "ENGINE"


@click.command("run-simulated")
@click.option("--agents", default=5, show_default=True, help="Simulated agents.")
@click.option("--minutes", default=2.0, show_default=True, help="How long to dial before draining.")
@click.option("--talk-mean", default=30.0, show_default=True, help="Mean talk time of the bots, s.")
@click.option("--wrap-mean", default=8.0, show_default=True, help="Mean wrap-up time of the bots, s.")
@click.option("--people", default=1000, show_default=True, help="People in the demo call list.")
@click.option(
    "--pacer",
    type=click.Choice(["predictive", "progressive", "ratio"]),
    default="predictive",
    show_default=True,
)
@click.option(
    "--machine", type=click.Choice(["hang_up", "leave_message"]), default="hang_up", show_default=True
)
@click.option("--seed", default=1, show_default=True)
def run_simulated(  # noqa: PLR0917 (one parameter per command-line option)
    agents: int,
    minutes: float,
    talk_mean: float,
    wrap_mean: float,
    people: int,
    pacer: str,
    machine: str,
    seed: int,
) -> None:
    """A demo campaign with simulated agents against the carrier simulator, with live figures."""
    logging.basicConfig(level=logging.WARNING)
    url = get_settings().effective_database_url
    upgrade(url)
    engine = make_engine(url)
    try:
        result = asyncio.run(
            run_demo(
                make_sessionmaker(engine),
                agents=agents,
                seconds=minutes * 60,
                talk_mean_s=talk_mean,
                wrap_mean_s=wrap_mean,
                people=people,
                seed=seed,
                pacer=pacer,
                machine=machine,
                report=click.echo,
            )
        )
    finally:
        engine.dispose()
    print_result(result, click.echo)


def _trunk_names(raw_trunks: tuple[str, ...], sip_nodes: str) -> frozenset[str]:
    """The trunks the engine paces campaigns of; with remote sip nodes, by name only."""
    if sip_nodes == "embedded":
        return frozenset(parse_trunk(raw)[0] for raw in raw_trunks)
    if any("=" in raw for raw in raw_trunks):
        raise click.BadParameter(
            "with --sip-nodes redis give the trunk NAME only: the sip nodes hold the URIs",
            param_hint="--trunk",
        )
    return frozenset(raw_trunks)


def _leases(settings: Settings, prefix: str) -> LeaseStore:
    if settings.uses_redis:
        return RedisLeases.from_url(settings.redis_url, prefix=prefix)
    return LocalLeases()


def _emit(event: dict[str, Any]) -> None:
    click.echo(json.dumps(event), nl=True)


# (settings, bus, sessions, prefix) -> the agent pools, open while the engine process runs.
PoolsBuilder = Callable[
    [Settings, Bus, sessionmaker[Session], str], contextlib.AbstractAsyncContextManager[AgentPools]
]


def _browser_agent_pools() -> PoolsBuilder:
    module, _, attribute = BROWSER_AGENT_POOLS.partition(":")
    return cast(PoolsBuilder, getattr(importlib.import_module(module), attribute))


@contextlib.asynccontextmanager
async def _agent_pools(
    config: RunnerConfig, settings: Settings, bus: Bus, sessions: sessionmaker[Session], prefix: str
) -> AsyncIterator[AgentPools | None]:
    if config.simulated_agents is not None:
        yield None  # the runner's own simulated agents
        return
    async with _browser_agent_pools()(settings, bus, sessions, prefix) as pools:
        yield pools


@contextlib.asynccontextmanager
async def _sip_node(
    settings: Settings, node_config: NodeConfig | None, prefix: str
) -> AsyncIterator[CallNode]:
    """The embedded SIP node of `node_config`, or (None) the sip nodes serving over Redis."""
    if node_config is not None:
        embedded = SipNode(node_config)
        await embedded.start()
        try:
            yield embedded
        finally:
            await embedded.stop()
        return
    client = waiting_client(settings.redis_url)
    remote = RemoteSipNode(client, prefix=prefix)
    await remote.start()
    try:
        yield remote
    finally:
        await remote.stop()
        await client.aclose()


async def _serve(
    settings: Settings,
    node_config: NodeConfig | None,
    config: RunnerConfig,
    prefix: str,
    metrics: tuple[str, int],
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    database = make_engine(settings.effective_database_url)
    leases = _leases(settings, prefix)
    bus = make_bus(settings, prefix=prefix)
    try:
        async with _sip_node(settings, node_config, prefix) as node:
            sessions = make_sessionmaker(database)
            async with _agent_pools(config, settings, bus, sessions, prefix) as pools:
                runner = EngineRunner(
                    sessions, leases, node, config, bus=bus, report=_emit, agent_pools=pools
                )
                async with process_metrics(*metrics, settings.metrics_token):
                    _emit({"event": "started", "token": config.token})
                    await runner.run(stop)
    finally:
        await bus.close()
        await leases.close()
        database.dispose()
    _emit({"event": "stopped", "token": config.token})


@click.command("run")
@trunk_options(ENV_PREFIX)
@metrics_options(ENV_PREFIX)
@click.option(
    "--sip-nodes",
    type=click.Choice(["embedded", "redis"]),
    default="embedded",
    show_default=True,
    envvar=option_env(ENV_PREFIX, "--sip-nodes"),
    show_envvar=True,
    help="embedded: a SIP node in this process, of the trunk options; redis: dial through the "
    "`arrears sipnode` processes heartbeating in Redis (give --trunk NAME only).",
)
@click.option(
    "--simulated-agents",
    type=click.IntRange(min=1),
    envvar=option_env(ENV_PREFIX, "--simulated-agents"),
    show_envvar=True,
    help="Pace with this many simulated agents per campaign (the client's agents with a SIP URI) "
    "instead of the agents signed in to the workbench.",
)
@click.option("--talk-mean", default=30.0, show_default=True, help="Mean talk time of the bots, s.")
@click.option("--wrap-mean", default=8.0, show_default=True, help="Mean wrap-up time of the bots, s.")
@click.option(
    "--lease-ttl",
    default=3.0,
    show_default=True,
    envvar=option_env(ENV_PREFIX, "--lease-ttl"),
    show_envvar=True,
    help="Campaign lease time to live, s.",
)
@click.option("--prefix", default="arrears", show_default=True, help="Namespace of Redis keys and channels.")
@click.option("--seed", default=0, show_default=True)
def run(  # noqa: PLR0917 (one parameter per command-line option)
    trunk: TrunkOptions,
    sip_nodes: str,
    simulated_agents: int | None,
    talk_mean: float,
    wrap_mean: float,
    lease_ttl: float,
    prefix: str,
    seed: int,
    metrics_host: str,
    metrics_port: int,
) -> None:
    """Pace every active campaign whose lease this process holds, beside any number of others.

    Prints one JSON line per event (started, acquired, reconciled, lost, released, stopped).
    """
    configure_logging(get_settings())
    try:
        timing = LeaseTiming(ttl_s=lease_ttl, renew_every_s=lease_ttl / 3, safety_margin_s=lease_ttl / 6)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--lease-ttl") from error
    trunk_names = _trunk_names(trunk.trunks, sip_nodes)
    node_config = trunk.node_config(ENV_PREFIX) if sip_nodes == "embedded" else None
    settings = get_settings()
    if sip_nodes == "redis" and not settings.uses_redis:
        raise click.UsageError("--sip-nodes redis: set redis_url, where the sip nodes heartbeat")
    if simulated_agents is None and not settings.uses_redis:
        raise click.UsageError(
            "browser agents reach the engine through Redis shared with the web app: "
            "set redis_url, or pass --simulated-agents N"
        )
    config = RunnerConfig(
        token=new_token(),
        trunks=trunk_names,
        policy=settings.policy,
        simulated_agents=simulated_agents,
        behaviour=Behaviour(talk_mean, wrap_mean),
        timing=timing,
        watch_every_s=min(0.5, lease_ttl / 6),
        seed=seed,
    )
    metrics = (metrics_host, checked_metrics_port(metrics_port, settings.metrics_token))
    upgrade(settings.effective_database_url)
    asyncio.run(_serve(settings, node_config, config, prefix, metrics))


@click.group()
def engine() -> None:
    """The campaign engine: pacing, hopper, dial gate, routing to agents."""


engine.add_command(run)
engine.add_command(run_simulated)
