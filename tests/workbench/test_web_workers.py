"""Several `arrears web` processes on one PostgreSQL database and one Redis, as scaled out: an agent
whose tab is held by one worker gets their screen pops there, a manager whose wallboard is held by
another sees the agent's state change, and a session made on one worker is valid on the other.

The workers are real processes configured through ARREARS_* variables, the browsers headless
Chromium; the test process plays the campaign engine, with the engine's own agent pool
(`BrowserAgents`) on the same Redis, and the private Redis keeps the default key prefix apart from
any other test's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from campaigns.events import agent_channel
from dialer.pacing import AgentPhase
from infra.bus.redis_bus import RedisBus
from infra.db import utcnow
from infra.models import Client, Role
from tests.conftest import Database, PrivateRedis
from tests.web_processes import WebWorker, web_workers, worker_environment
from tests.workbench.conftest import PASSWORD, add_client, add_user
from tests.workbench.test_agent_workspace import SECRET, Call, add_account, connect_call, screen_pop
from tests.workbench.test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.workbench.test_engine_agents import add_agent
from workbench.agents import AgentStates
from workbench.app import REDIS_PREFIX
from workbench.engine_agents import BrowserAgents
from workbench.live_store import RedisLiveStore

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.browser, pytest.mark.slow]
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Floor:
    """One client's agent (with a phone), their manager and an answered call for the agent."""

    database: Database
    redis_url: str
    client_id: int
    agent_id: int
    call: Call


def open_floor(database: Database, redis_url: str) -> Floor:
    client_id = add_client(database, "ACME", "Acme Bank")
    agent_id = add_agent(database, "jo", "ACME", "sip:agent-jo@127.0.0.1:5060")
    add_user(database, "mona", Role.MANAGER, display_name="Mona Manager", clients=["ACME"])
    person_id, debt_id, number = add_account(database, "ACME")
    call = connect_call(database, person_id, debt_id, number, agent_id)
    with database.sessions() as session:
        assert session.scalar(sa.select(Client.id).where(Client.code == "ACME")) == client_id
    return Floor(database, redis_url, client_id, agent_id, call)


@contextlib.asynccontextmanager
async def engine_pool(floor: Floor) -> AsyncIterator[tuple[BrowserAgents, RedisBus]]:
    """The campaign engine's view of the browser agents, as `browser_agent_pools` builds it."""
    store = RedisLiveStore(floor.redis_url, f"{REDIS_PREFIX}:web:")
    bus = RedisBus.from_url(floor.redis_url, prefix=REDIS_PREFIX)
    try:
        yield (
            BrowserAgents(AgentStates(store, bus, utcnow), bus, floor.database.sessions, floor.client_id),
            bus,
        )
    finally:
        await bus.close()
        await store.close()


def run_aside(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run engine-side work on an event loop of its own: Playwright's loop holds this thread."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result(timeout=30)


def route_call(floor: Floor) -> bool:
    """What the engine does when the customer answers: claim the agent, and once they are its,
    publish the screen pop on their channel (heard only by a worker holding a tab of theirs).
    False when the agent was not Ready to be claimed."""

    async def route() -> bool:
        async with engine_pool(floor) as (agents, bus):
            if not await agents.claim(floor.agent_id, floor.call.attempt_uuid):
                return False
            await bus.publish(agent_channel(floor.agent_id), screen_pop(floor.call).to_json())
            return True

    return run_aside(route())


def engine_phase(floor: Floor) -> AgentPhase | None:
    """The agent's phase as the engine counts it before its next pacing step."""

    async def phase() -> AgentPhase | None:
        async with engine_pool(floor) as (agents, _):
            views = {view.user_id: view.phase for view in await agents.agents()}
        return views.get(floor.agent_id)

    return run_aside(phase())


@contextlib.contextmanager
def installation(
    database: Database, redis: PrivateRedis, directory: Path, workers: int
) -> Iterator[list[WebWorker]]:
    environment = worker_environment(
        database_url=database.url, redis_url=redis.url, secret_key=SECRET, data_dir=directory / "data"
    )
    with web_workers(workers, environment, directory / "workers") as running:
        yield running


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Console:
    """Script errors and console errors of the pages it watches. While `outage` is set (a worker
    is down) failed requests and sockets are expected; a Content-Security-Policy violation never is."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.outage = False

    def watch(self, page: Page) -> None:
        page.on("console", self._note)
        page.on("pageerror", lambda error: self.problems.append(str(error)))

    def _note(self, message: ConsoleMessage) -> None:
        if message.type == "error" and (not self.outage or "Content Security Policy" in message.text):
            self.problems.append(message.text)


def signed_in_page(browser: Browser, url: str, username: str, landing: str, console: Console) -> Page:
    page = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
    console.watch(page)
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{url}{landing}")
    return page


def go_ready(agent: Page) -> None:
    expect(agent.locator("#connection-banner")).to_be_hidden()
    agent.locator("#state-bar").get_by_role("button", name="Ready").click()
    expect(agent.locator('#state-bar [data-state="ready"]')).to_be_visible()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_an_agent_on_one_worker_gets_pops_and_a_manager_on_another_sees_them(
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
        expect(counts.locator('[data-state-count="Paused: Signed in"]')).to_have_text("1")

        go_ready(agent)
        expect(counts.locator('[data-state-count="Ready"]')).to_have_text("1")
        assert engine_phase(floor) is AgentPhase.IDLE

        assert route_call(floor)
        workspace = agent.locator("#call-workspace")
        expect(workspace).to_have_attribute("data-call", floor.call.attempt_uuid)
        expect(workspace).to_contain_text("Ask for Dana Example")
        expect(agent.locator('#state-bar [data-state="on_call"]')).to_be_visible()
        expect(counts.locator('[data-state-count="On a call"]')).to_have_text("1")
        shot(agent, "web-workers-agent-pop")
        shot(manager, "web-workers-wallboard")

        # The agent's session cookie, made by the first worker, opens their workspace on the second.
        cookies = {cookie["name"]: cookie["value"] for cookie in agent.context.cookies()}
        elsewhere = httpx.get(f"{second.url}/agent/call", cookies=cookies, headers={"HX-Request": "true"})
        assert elsewhere.status_code == 200, elsewhere.text
        assert f'data-call="{floor.call.attempt_uuid}"' in elsewhere.text
        # Without it the same request is refused.
        assert httpx.get(f"{second.url}/agent/call", headers={"HX-Request": "true"}).status_code == 401
    assert console.problems == []
