"""The end-to-end check: a predictive campaign over real SIP against what the simulator predicts.

The live run uses the carrier simulator's profile mix, simulated agents and the real gate and
ledger. The prediction runs `dialer.pacing.simulator` with the same pacer settings, the
parameters the live run realised (team size, live-answer rate, talk and wrap means, length) and
the carrier simulator's ring times (`Scenario.carrier_timing`). What the simulator still models
differently (its non-live mix, no agent leg set-up time) is left as is: the comparison measures
how much those differences matter.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import replace

import click
import numpy as np

from campaigns.engine.demo import DemoResult, run_demo
from dialer.pacing import make_pacer
from dialer.pacing.metrics import summarise
from dialer.pacing.predictive import PredictivePriors
from dialer.pacing.scenarios import custom_scenario
from dialer.pacing.simulator import simulate
from infra.db import make_engine, make_sessionmaker, upgrade
from infra.settings import get_settings

ABANDON_TARGET = 0.025  # the demo campaign's pacing.abandon_target_percent


@dataclasses.dataclass(frozen=True)
class Prediction:
    occupancy: float
    abandon: float
    occupancy_p10: float  # spread of single runs of the same length, across seeds
    occupancy_p90: float
    seeds: int


def predict(result: DemoResult, agents: int, seeds: range) -> Prediction:
    """The simulator's occupancy and abandon rate for a run like `result`, over `seeds`."""
    scenario = replace(
        custom_scenario(
            agents,
            max(min(result.answer_rate, 0.95), 0.05),
            max(result.talk_mean_s, 1.0),
            max(result.wrap_mean_s, 0.5),
            result.seconds / 3600,
        ),
        warmup_s=0.0,
        carrier_timing=True,
    )
    priors = PredictivePriors(
        talk_mean_s=scenario.talk_mean_s, wrap_mean_s=scenario.wrap_mean_s, answer_rate=0.4
    )
    runs = {
        seed: simulate(
            scenario, make_pacer("predictive", agents=agents, target=ABANDON_TARGET, priors=priors), seed
        )
        for seed in seeds
    }
    summary = summarise(runs)
    per_seed = np.asarray(list(summary.seed_occupancy.values()))
    return Prediction(
        summary.occupancy,
        summary.abandon,
        float(np.quantile(per_seed, 0.1)),
        float(np.quantile(per_seed, 0.9)),
        len(runs),
    )


def run_comparison(
    database_url: str, *, agents: int, seconds: float, talk_mean_s: float, wrap_mean_s: float, seeds: range
) -> tuple[DemoResult, Prediction]:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        people = max(500, int(seconds * agents / 2))
        result = asyncio.run(
            run_demo(
                make_sessionmaker(engine),
                agents=agents,
                seconds=seconds,
                talk_mean_s=talk_mean_s,
                wrap_mean_s=wrap_mean_s,
                people=people,
                report=click.echo,
                report_every_s=30.0,
                settings=None,
            )
        )
    finally:
        engine.dispose()
    return result, predict(result, agents, seeds)


@click.command("engine")
@click.option("--minutes", default=10.0, show_default=True, help="Length of the live run.")
@click.option("--agents", default=10, show_default=True, help="Simulated agents.")
@click.option("--talk-mean", default=30.0, show_default=True, help="Mean talk time of the bots, s.")
@click.option("--wrap-mean", default=8.0, show_default=True, help="Mean wrap-up time of the bots, s.")
@click.option("--seeds", default=30, show_default=True, help="Simulator seeds for the prediction.")
@click.option("--database-url", default="", help="Default: the configured database.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_engine(  # noqa: PLR0917 (one parameter per command-line option)
    minutes: float,
    agents: int,
    talk_mean: float,
    wrap_mean: float,
    seeds: int,
    database_url: str,
    as_json: bool,
) -> None:
    """A predictive campaign over real SIP against the pacing simulator's prediction."""
    url = database_url or get_settings().effective_database_url
    result, prediction = run_comparison(
        url,
        agents=agents,
        seconds=minutes * 60,
        talk_mean_s=talk_mean,
        wrap_mean_s=wrap_mean,
        seeds=range(101, 101 + seeds),
    )
    figures = {
        "live": result.to_json(),
        "predicted": dataclasses.asdict(prediction),
        "occupancy_difference_points": round(100 * (result.occupancy - prediction.occupancy), 2),
        "abandon_difference_points": round(100 * (result.figures.abandon_rate - prediction.abandon), 2),
    }
    if as_json:
        click.echo(json.dumps(figures))
        return
    click.echo(json.dumps(figures["live"], indent=2))
    click.echo(
        f"occupancy  live {result.occupancy:.3f}  simulator {prediction.occupancy:.3f} "
        f"(single runs p10-p90 {prediction.occupancy_p10:.3f}-{prediction.occupancy_p90:.3f})  "
        f"difference {figures['occupancy_difference_points']:+.2f} points"
    )
    click.echo(
        f"abandon    live {result.figures.abandon_rate:.3f}  simulator {prediction.abandon:.3f}  "
        f"difference {figures['abandon_difference_points']:+.2f} points"
    )
