"""`arrears bench load`: its pure figures, and one tiny level end to end (two `arrears web`, two
`arrears engine run` with their SIP nodes, the carrier simulator, PostgreSQL, a private Redis and
agents signing in over HTTP and taking calls over their WebSockets)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from infra.cli import cli
from tests.conftest import PG_ADMIN_DSN
from workbench.bench.load_cpu import ProcessTime, Roles, busy_fraction, cpu_by_group, shares
from workbench.bench.load_figures import (
    LevelResult,
    engine_capacity,
    failure_of,
    limiting_factor,
    occupancy,
    sustained,
    unrun_level,
)
from workbench.bench.load_setup import split


@pytest.mark.parametrize(
    ("agents", "legs"),
    [
        (1, 12),  # one call up (2 legs) + 2 dialled ahead + 8 spare
        (10, 48),
        (25, 108),
        (0, 8),
    ],
)
def test_engine_capacity_covers_the_calls_up_and_is_whole_workers(agents: int, legs: int) -> None:
    assert engine_capacity(agents) == legs
    assert legs % 4 == 0


@pytest.mark.parametrize(
    ("count", "parts", "expected"), [(4, 2, [2, 2]), (5, 2, [3, 2]), (1, 2, [1, 0]), (25, 2, [13, 12])]
)
def test_agents_are_split_evenly(count: int, parts: int, expected: list[int]) -> None:
    assert split(count, parts) == expected


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        ({"ready": 4, "live": 10, "abandon_rate": 0.03, "pops_missing": 0, "errors": 0}, None),
        (
            {"ready": 4, "live": 10, "abandon_rate": 0.031, "pops_missing": 0, "errors": 0},
            "abandon 3.1 % > 3 %",
        ),
        ({"ready": 4, "live": 10, "abandon_rate": 0.0, "pops_missing": 2, "errors": 0}, "2 screen pops"),
        ({"ready": 3, "live": 10, "abandon_rate": 0.0, "pops_missing": 0, "errors": 1}, "1 of 4 agents"),
        ({"ready": 4, "live": 0, "abandon_rate": 0.0, "pops_missing": 0, "errors": 0}, "no live answer"),
    ],
)
def test_a_level_fails_on_abandon_errors_missing_pops_or_no_calls(
    figures: dict[str, float], expected: str | None
) -> None:
    failure = failure_of(
        agents=4,
        ready=int(figures["ready"]),
        live=int(figures["live"]),
        abandon_rate=figures["abandon_rate"],
        pops_missing=int(figures["pops_missing"]),
        errors=int(figures["errors"]),
    )
    if expected is None:
        assert failure is None
    else:
        assert failure is not None
        assert expected in failure


def test_occupancy_counts_only_talk_inside_the_window() -> None:
    talks = [(0.0, 30.0), (50.0, 150.0), (90.0, 95.0)]
    assert occupancy(talks, (10.0, 110.0), 2) == pytest.approx((20 + 60 + 5) / 200)
    assert occupancy(talks, (10.0, 10.0), 2) == 0.0
    assert occupancy([], (0.0, 10.0), 0) == 0.0


def _level(agents: int, failure: str | None) -> LevelResult:
    return dataclasses.replace(
        unrun_level(agents, "-"),
        seconds=60.0,
        live=4,
        cpu={"sip workers": 61.0, "web": 9.0},
        machine_busy=97.0,
        failure=failure,
    )


def test_sustained_is_the_last_level_held_and_the_limit_names_the_first_that_was_not() -> None:
    levels = [_level(25, None), _level(50, None), _level(100, "abandon 4.0 % > 3 %")]
    assert sustained(levels) == 50
    limit = limiting_factor(levels, 200)
    assert "at 100 agents: abandon 4.0 % > 3 %" in limit
    assert "sip workers 61 %" in limit
    assert sustained([_level(25, "1 errors")]) == 0
    assert limiting_factor([_level(200, None)], 200) == "goal reached"
    assert "up to 25" in limiting_factor([_level(25, None)], 200)


def test_cpu_is_grouped_by_process_group_with_sip_workers_apart_from_their_engine() -> None:
    roles = Roles(
        groups={100: "engine", 200: "web"},
        engine_leaders=frozenset({100}),
        clients=frozenset({300}),
        bench=400,
        database="arrears_bench_load_x",
    )
    processes = [
        ProcessTime(100, 100, 1.0, "arrears engine run"),
        ProcessTime(101, 100, 2.0, "python -m dialer.sip.worker"),
        ProcessTime(102, 100, 3.0, "python -m dialer.sip.worker"),
        ProcessTime(200, 200, 4.0, "arrears web"),
        ProcessTime(300, 1, 0.5, "python spawn"),
        ProcessTime(400, 1, 0.25, "arrears bench load"),
        ProcessTime(500, 500, 7.0, "postgres: postgres arrears_bench_load_x 127.0.0.1(5) idle"),
        ProcessTime(501, 500, 9.0, "postgres: postgres someone_else 127.0.0.1(6) idle"),
        ProcessTime(600, 600, 9.0, "unrelated"),
    ]
    assert cpu_by_group(processes, roles) == {
        "engine": 1.0,
        "sip workers": 5.0,
        "web": 4.0,
        "agent clients": 0.5,
        "bench": 0.25,
        "postgresql": 7.0,
    }
    assert shares({"web": 1.0}, {"web": 3.0, "engine": 1.0}, 10.0, 2) == {"web": 10.0, "engine": 5.0}
    assert list(shares({}, {"a": 1.0, "b": 3.0}, 1.0, 1)) == ["b", "a"]
    assert busy_fraction((100, 1000), (150, 1100)) == 0.5
    assert busy_fraction((100, 1000), (100, 1000)) == 0.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--agents", "4", "--ramp", "4,8"], "not both"),
        (["--ramp", "8,4"], "increasing"),
        (["--ramp", "4,x"], "comma-separated"),
        (["--agents", "4", "--minutes", "1", "--step-minutes", "1"], "not both"),
        (["--agents", "0"], "--agents"),
    ],
)
def test_bad_options_are_refused_naming_the_option(arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["bench", "load", *arguments])
    assert result.exit_code != 0
    assert message in result.output


@pytest.mark.sip
@pytest.mark.redis
@pytest.mark.slow
def test_a_tiny_level_runs_end_to_end_without_errors_and_writes_its_figures(tmp_path: Path) -> None:
    arguments = ["bench", "load", "--agents", "4", "--step-minutes", "0.5", "--talk-mean", "6"]
    arguments += ["--wrap-mean", "2", "--pg-admin", PG_ADMIN_DSN, "--out-dir", str(tmp_path)]
    result = CliRunner().invoke(cli, arguments, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    printed = result.output
    assert "agents 4:" in printed, printed
    assert " 0 errors, 0 pops missing" in printed, printed
    assert "screen pop (bridge -> socket): p50" in printed
    assert "gate reservation -> INVITE: p50" in printed
    assert "CPU (% of the machine): " in printed
    assert "sip workers" in printed
    assert "simulator for 4 agents (baseline)" in printed
    # Whether 4 agents held depends on a few calls' abandon rate; the lines must be there.
    assert "\nsustained: " in printed
    assert "\nlimiting factor: " in printed
    [written] = tmp_path.glob("load-*.json")
    figures = json.loads(written.read_text())
    [level] = figures["levels"]
    assert level["errors"] == []
    assert level["pops_missing"] == 0
    assert level["live"] > 0
    assert level["dispositions"] >= level["pop_ms"]["count"] > 0
    assert figures["sustained_agents"] in {0, 4}


def test_a_level_that_could_not_run_is_the_limit() -> None:
    levels = [_level(25, None), unrun_level(50, "the engines did not report `started`")]
    assert sustained(levels) == 25
    assert limiting_factor(levels, 200) == (
        "at 50 agents: the level could not run: the engines did not report `started`"
    )
