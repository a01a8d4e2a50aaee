"""`arrears engine ...`: run campaigns; `run_simulated` runs a demo campaign with simulated agents."""

from __future__ import annotations

import asyncio
import logging

import click

from campaigns.engine.demo import print_result, run_demo
from infra.db import make_engine, make_sessionmaker, upgrade
from infra.settings import get_settings


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


@click.group()
def engine() -> None:
    """The campaign engine: pacing, hopper, dial gate, routing to agents."""


engine.add_command(run_simulated)
