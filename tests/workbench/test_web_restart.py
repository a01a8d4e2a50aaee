"""A web worker killed and restarted: its agents' tabs reconnect by themselves, with their sessions,
and are resynchronised with the live store; an agent whose worker stays down is no longer counted
Ready by the engine, and after the reconnect stays paused until they press Ready.

First the pure rules and the presence lapse over the in-memory store, then `arrears web` processes
killed with SIGKILL under headless Chromium (see `test_web_workers` for the set-up).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dialer.pacing import AgentPhase
from infra.bus.local import LocalBus
from infra.models import Role
from tests.conftest import Database, PrivateRedis
from tests.workbench.test_web_workers import (
    Console,
    chromium,
    engine_phase,
    go_ready,
    installation,
    open_floor,
    route_call,
    shot,
    signed_in_page,
)
from workbench.agent_state import Activity, AgentStatus, GoReady, PauseCode, SignIn
from workbench.agents import LAG_AFTER_SECONDS, WALLBOARD_CHANNEL, AgentRecord, AgentStates, unwatched
from workbench.live_store import MemoryLiveStore
from workbench.sessions import WebSession
from workbench.viewer import ClientScope, Viewer
from workbench.ws import workspace_is_stale

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
CALL = "attempt-1"
READY = AgentStatus(Activity.READY, None, NOW)
ON_CALL = AgentStatus(Activity.ON_CALL, None, NOW, CALL)
WRAP_UP = AgentStatus(Activity.WRAP_UP, None, NOW, CALL)
ON_BREAK = AgentStatus(Activity.PAUSED, PauseCode.BREAK, NOW)
# A reconnecting tab reaches its restarted worker within this (backoff capped by reconnect.js).
RECONNECT_TIMEOUT_MS = 20_000


def record(status: AgentStatus) -> AgentRecord:
    return AgentRecord(7, "Ann", ClientScope(None), status)


@pytest.mark.parametrize(
    ("status", "deadline", "now", "expected"),
    [
        (READY, None, 100.0, False),  # never watched by a tab: a simulated or benchmark agent
        (READY, "115.0", 100.0, False),
        (READY, "115.0", 115.0, True),
        (READY, "115.0", 200.0, True),
        (ON_CALL, "115.0", 200.0, False),  # the call goes on; the tab resynchronises on reconnect
        (WRAP_UP, "115.0", 200.0, False),
        (ON_BREAK, "115.0", 200.0, False),
    ],
)
def test_only_a_ready_agent_whose_tabs_stopped_vouching_is_unwatched(
    status: AgentStatus, deadline: str | None, now: float, expected: bool
) -> None:
    assert unwatched(record(status), deadline, now) is expected


@pytest.mark.parametrize(
    ("status", "showing", "expected"),
    [
        (ON_CALL, None, False),  # the tab did not say: not a browser tab with a workspace
        (ON_CALL, CALL, False),  # the right call: notes being typed stay
        (ON_CALL, "", True),  # a screen pop missed while the worker was down
        (ON_CALL, "attempt-0", True),
        (WRAP_UP, CALL, False),
        (ON_BREAK, CALL, True),  # a call that ended meanwhile
        (ON_BREAK, "", False),
        (READY, CALL, False),  # the Ready state bar brings its own loader
        (None, CALL, True),  # signed out elsewhere
    ],
)
def test_a_reconnected_tab_reloads_its_workspace_only_when_it_shows_another_call(
    status: AgentStatus | None, showing: str | None, expected: bool
) -> None:
    assert workspace_is_stale(None if status is None else record(status), showing) is expected


async def test_a_ready_agent_whose_presence_lapses_is_paused_once_and_announced() -> None:
    wall = [1000.0]
    bus = LocalBus()
    states = AgentStates(MemoryLiveStore(), bus, lambda: NOW, wall_clock=lambda: wall[0])
    watched = Viewer(1, "ann", "Ann", Role.AGENT, ClientScope(None), WebSession("s1", 1, "csrf", NOW))
    tabless = Viewer(2, "bob", "Bob", Role.AGENT, ClientScope(None), WebSession("s2", 2, "csrf", NOW))
    for viewer in (watched, tabless):
        await states.apply(viewer, SignIn())
        await states.apply(viewer, GoReady())
    await states.watched(watched.user_id)
    async with await bus.subscribe(WALLBOARD_CHANNEL) as wallboard:
        wall[0] += LAG_AFTER_SECONDS - 1
        assert [r.status.activity for r in await states.all()] == [Activity.READY, Activity.READY]
        wall[0] += 1
        first, second = await states.all(), await states.all()
        announced = await wallboard.get(timeout=1.0)
        assert await wallboard.get(timeout=0.1) is None  # paused once, not by every reader
    assert first == second
    assert [(r.agent_id, r.status.pause_code) for r in first] == [(1, PauseCode.LAGGED), (2, None)]
    assert announced is not None
    assert announced.body["agent_id"] == 1
    assert announced.body["pause_code"] == PauseCode.LAGGED.value


def test_an_agent_reconnects_to_a_restarted_worker_and_sees_the_call_routed_while_it_was_down(
    pg_database: Database, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    floor = open_floor(pg_database, private_redis.url)
    console = Console()
    with installation(pg_database, private_redis, tmp_path, workers=1) as (worker,), chromium() as browser:
        agent = signed_in_page(browser, worker.url, "jo", "/agent", console)
        go_ready(agent)
        agent.evaluate("() => { window.sameDocument = true; }")

        console.outage = True
        worker.kill()
        expect(agent.locator("#connection-banner")).to_be_visible()
        shot(agent, "web-restart-disconnected")
        # The engine routes a call to the agent, still Ready, and publishes the pop to nobody.
        assert route_call(floor)
        worker.start()

        # The tab reconnects by itself (no reload), its session still valid, and shows the call.
        workspace = agent.locator("#call-workspace")
        expect(workspace).to_have_attribute(
            "data-call", floor.call.attempt_uuid, timeout=RECONNECT_TIMEOUT_MS
        )
        expect(workspace).to_contain_text("Ask for Dana Example")
        expect(agent.locator("#connection-banner")).to_be_hidden()
        expect(agent.locator('#state-bar [data-state="on_call"]')).to_be_visible()
        assert agent.evaluate("() => window.sameDocument === true")
        assert agent.url == f"{worker.url}/agent"
        console.outage = False
        assert engine_phase(floor) is AgentPhase.TALK
        shot(agent, "web-restart-reconnected-on-call")
    assert console.problems == []


def test_an_agent_whose_worker_stays_down_is_paused_until_they_press_ready(
    pg_database: Database, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    floor = open_floor(pg_database, private_redis.url)
    console = Console()
    with (
        installation(pg_database, private_redis, tmp_path, workers=2) as (first, second),
        chromium() as browser,
    ):
        agent = signed_in_page(browser, first.url, "jo", "/agent", console)
        manager = signed_in_page(browser, second.url, "mona", "/manager", console)
        counts = manager.locator("#wallboard")
        go_ready(agent)
        expect(counts.locator('[data-state-count="Ready"]')).to_have_text("1")

        console.outage = True
        first.kill()
        killed_at = time.monotonic()
        # The engine's own reading of the agents pauses the agent once their presence lapses.
        while engine_phase(floor) is AgentPhase.IDLE:
            assert time.monotonic() - killed_at < LAG_AFTER_SECONDS + 10, "still counted Ready"
            time.sleep(0.5)
        assert engine_phase(floor) is AgentPhase.PAUSED
        assert not route_call(floor)
        expect(counts.locator('[data-state-count="Paused: Connection lost"]')).to_have_text("1")
        shot(manager, "web-restart-wallboard-connection-lost")

        # Reconnected, the agent is shown paused, as the live store has them, until they press Ready.
        first.start()
        expect(agent.locator("#connection-banner")).to_be_hidden(timeout=RECONNECT_TIMEOUT_MS)
        expect(agent.locator("#state-bar")).to_contain_text("Paused: Connection lost")
        console.outage = False
        assert engine_phase(floor) is AgentPhase.PAUSED
        shot(agent, "web-restart-reconnected-paused")
        go_ready(agent)
        assert engine_phase(floor) is AgentPhase.IDLE
        expect(counts.locator('[data-state-count="Ready"]')).to_have_text("1")
    assert console.problems == []
