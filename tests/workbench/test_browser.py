"""An agent in a real browser (Debian's Chromium) against a real uvicorn server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Playwright, expect, sync_playwright

from infra.models import Role
from infra.passwords import DEFAULT_HASHER
from tests.conftest import Database
from tests.workbench.conftest import PASSWORD, add_client, add_user

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _note_error(problems: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        problems.append(message.text)


@contextmanager
def browser_page(
    playwright: Playwright,
    profile: Path,
    problems: list[str],
    *,
    expected: re.Pattern[str] | None = None,
    viewport: tuple[int, int] = (1360, 900),
) -> Iterator[Page]:
    """A page of headless Chromium that notes every console error (but the `expected` ones) and
    every script error in `problems`."""
    context: BrowserContext = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": viewport[0], "height": viewport[1]},
    )

    def note(message: ConsoleMessage) -> None:
        if expected is None or not expected.match(message.text):
            _note_error(problems, message)

    try:
        page = context.new_page()
        page.on("console", note)
        page.on("pageerror", lambda error: problems.append(str(error)))
        yield page
    finally:
        context.close()


@pytest.fixture
def web_server(sqlite_database: Database, tmp_path: Path) -> Iterator[str]:
    """`arrears web` in its own process on a free port, on the test's SQLite database."""
    port = _free_port()
    environment = {
        **os.environ,
        "ARREARS_DATABASE_URL": sqlite_database.url,
        "ARREARS_DATA_DIR": str(tmp_path / "data"),
        "ARREARS_SECRET_KEY": "browser-test-" + "b" * 32,
        "ARREARS_LOG_LEVEL": "warning",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-c", "from workbench.web_cli import web; web()", "--port", str(port)]
    # The working directory holds no arrears.toml, so only the environment configures the server.
    server = subprocess.Popen(command, env=environment, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "the web server exited during start-up"
            try:
                if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the web server did not start within 30 s"
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.browser
@pytest.mark.slow
def test_an_agent_signs_in_goes_ready_and_pauses(
    sqlite_database: Database, web_server: str, tmp_path: Path
) -> None:
    add_client(sqlite_database, "ACME", "Acme Bank")
    # The production hasher: the server checks this password at its real cost.
    add_user(
        sqlite_database,
        "jo",
        Role.AGENT,
        display_name="Jo Collector",
        clients=["ACME"],
        hasher=DEFAULT_HASHER,
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 700},
        )
        try:
            page = context.new_page()
            # A CSP violation or a script error shows up as a console error.
            page.on("console", lambda message: _note_error(problems, message))
            page.on("pageerror", lambda error: problems.append(str(error)))

            page.goto(f"{web_server}/login")
            page.get_by_label("Username").fill("jo")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in", exact=True).click()
            page.wait_for_url(f"{web_server}/agent")
            state_bar = page.locator("#state-bar")
            expect(state_bar).to_contain_text("Paused: Signed in")
            expect(page.get_by_role("banner")).to_contain_text("Jo Collector")
            expect(page.get_by_role("main")).to_contain_text("Acme Bank")
            # The timer counts in the browser from the server's timestamp.
            expect(state_bar.locator("time")).to_have_text(re.compile(r"^\d+:\d\d$"))
            page.screenshot(path=str(SCREENSHOTS / "agent-signed-in.png"))

            page.get_by_role("button", name="Ready", exact=True).click()
            expect(state_bar.locator('[data-state="ready"]')).to_have_text("Ready")
            expect(page.get_by_role("button", name="Ready", exact=True)).to_be_disabled()
            page.screenshot(path=str(SCREENSHOTS / "agent-ready.png"))

            page.get_by_label("Pause reason").select_option(label="Lunch")
            page.get_by_role("button", name="Pause", exact=True).click()
            expect(state_bar).to_contain_text("Paused: Lunch")
            page.screenshot(path=str(SCREENSHOTS / "agent-paused.png"))

            page.reload()
            expect(state_bar).to_contain_text("Paused: Lunch")  # the server, not the page, holds state
            expect(page.locator("#connection-banner")).to_be_hidden()

            page.get_by_role("link", name="Acme Bank (ACME)").click()  # an htmx request
            expect(page.locator("#client-campaigns")).to_contain_text("No campaigns for this client yet.")
            page.get_by_role("button", name="Sign out", exact=True).click()
            page.wait_for_url(f"{web_server}/login")
        finally:
            context.close()
    assert problems == []
