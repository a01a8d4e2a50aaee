"""The pure part of `arrears bench load`: a level's figures, whether it was sustained, what
limited the run, and the SIP capacity an engine needs for its agents."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from workbench.bench.ws import Summary

ABANDON_LIMIT = 0.03
DIALLING_LEGS_PER_AGENT = 2  # calls placed ahead for an agent (the pacer dials over the team)
SPARE_LEGS = 8


@dataclasses.dataclass(frozen=True)
class Prediction:
    """The pacing simulator's figures for a team like the level's (the baseline)."""

    occupancy: float
    abandon: float
    seeds: int


@dataclasses.dataclass(frozen=True)
class LevelResult:
    agents: int
    seconds: float  # the measured window
    dialled: int
    live: int  # completed live answers up to the end of the window
    abandoned: int
    abandon_rate: float
    connected_late: int  # abandons that reached an agent, later than two seconds after the greeting
    occupancy: float  # talk / signed-in time of the agents over the window
    dispositions: int
    pop_ms: Summary  # bridge of the agent leg -> workspace on the agent's socket
    pops_missing: int
    gate_to_invite_ms: Summary  # gate reservation -> INVITE sent (bounds the gate's decision time)
    answer_to_bridge_ms: Summary  # the person's greeting -> the agent's leg bridged
    lease_losses: int  # campaign leases an engine failed to renew in time (its loop was starved)
    open_attempts: int
    errors: list[str]
    cpu: dict[str, float]  # percent of the machine by process group, largest first
    machine_busy: float  # percent of the machine busy, every process included
    load_average: tuple[float, float, float]
    prediction: Prediction | None
    failure: str | None  # why the level was not sustained; None when it was


def unrun_level(agents: int, reason: str) -> LevelResult:
    """A level whose components could not be started or kept running before it was measured."""
    none = Summary(0, 0.0, 0.0, 0.0)
    return LevelResult(
        agents=agents,
        seconds=0.0,
        dialled=0,
        live=0,
        abandoned=0,
        abandon_rate=0.0,
        connected_late=0,
        occupancy=0.0,
        dispositions=0,
        pop_ms=none,
        pops_missing=0,
        gate_to_invite_ms=none,
        answer_to_bridge_ms=none,
        lease_losses=0,
        open_attempts=0,
        errors=[],
        cpu={},
        machine_busy=0.0,
        load_average=(0.0, 0.0, 0.0),
        prediction=None,
        failure=f"the level could not run: {reason}",
    )


def engine_capacity(agents: int) -> int:
    """SIP legs for one engine's agents: the current call's two legs (a disposition ends the call)
    and the calls dialled ahead; a whole number of 4-leg workers."""
    legs = agents * (2 + DIALLING_LEGS_PER_AGENT) + SPARE_LEGS
    return 4 * math.ceil(legs / 4)


def carrier_backends(capacities: Sequence[int]) -> int:
    """The carrier holds one leg per engine leg; each of its pjsua2 back ends holds four."""
    return math.ceil(sum(capacities) / 4) + 2


def failure_of(
    *, agents: int, ready: int, live: int, abandon_rate: float, pops_missing: int, errors: int
) -> str | None:
    """Why a level was not sustained (None: it was): any error, a pop not delivered, abandon over
    the limit, or no call connected at all."""
    reasons = []
    if ready < agents:
        reasons.append(f"{agents - ready} of {agents} agents could not sign in")
    if errors:
        reasons.append(f"{errors} errors")
    if pops_missing:
        reasons.append(f"{pops_missing} screen pops not delivered")
    if abandon_rate > ABANDON_LIMIT:
        reasons.append(f"abandon {100 * abandon_rate:.1f} % > {100 * ABANDON_LIMIT:.0f} %")
    if live == 0:
        reasons.append("no live answer")
    return "; ".join(reasons) or None


def occupancy(talks: Sequence[tuple[float, float]], window: tuple[float, float], agents: int) -> float:
    """Talk time inside the window over the agents' time in it."""
    start, end = window
    if agents == 0 or end <= start:
        return 0.0
    talk = sum(max(0.0, min(stop, end) - max(begin, start)) for begin, stop in talks)
    return talk / (agents * (end - start))


def sustained(levels: Sequence[LevelResult]) -> int:
    """The largest agent count of a level that held, below the first that did not."""
    best = 0
    for level in levels:
        if level.failure is not None:
            break
        best = level.agents
    return best


def limiting_factor(levels: Sequence[LevelResult], goal: int) -> str:
    failed = next((level for level in levels if level.failure is not None), None)
    if failed is None:
        reached = levels[-1].agents if levels else 0
        return "goal reached" if reached >= goal else f"none seen up to {reached} agents (not tried higher)"
    if not failed.cpu:
        return f"at {failed.agents} agents: {failed.failure}"
    group, share = next(iter(failed.cpu.items()))
    return (
        f"at {failed.agents} agents: {failed.failure}; machine {failed.machine_busy:.0f} % busy,"
        f" largest CPU share {group} {share:.0f} %"
    )
