"""An agent's whole call in a real browser (Debian's Chromium) against the app served by uvicorn
in this process, so the test publishes the engine's screen pop on the very bus the app uses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect, sync_playwright

from campaigns.events import agent_channel
from campaigns.models import Callback, Promise, PromiseInstalment
from compliance.models import ContactAttempt
from infra.bus.local import LocalBus
from infra.settings import Settings
from tests.conftest import Database
from tests.threaded_server import ThreadedServer
from tests.workbench.conftest import CHEAP_HASHER, PASSWORD
from tests.workbench.test_agent_workspace import (
    DATE_OF_BIRTH,
    NOW,
    SECRET,
    audit_log,
    jo_on_a_call,
    screen_pop,
)
from tests.workbench.test_browser import SCREENSHOTS, browser_page
from workbench.app import create_app


class InProcessServer(ThreadedServer):
    """The app with an in-process bus; `publish` runs on the server's loop."""

    def __init__(self, settings: Settings, bus: LocalBus) -> None:
        super().__init__(create_app(settings, bus=bus, clock=lambda: NOW, password_hasher=CHEAP_HASHER))
        self.bus = bus

    def publish(self, channel: str, body: dict[str, object]) -> None:
        self.run(self.bus.publish(channel, body))


@pytest.fixture
def served(sqlite_database: Database, tmp_path: Path) -> Iterator[InProcessServer]:
    settings = Settings(data_dir=tmp_path / "data", database_url=sqlite_database.url, secret_key=SECRET)
    with InProcessServer(settings, LocalBus()) as server:
        yield server


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"agent-call-{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.slow
def test_an_agent_takes_a_call_from_screen_pop_to_wrap_up(
    sqlite_database: Database, served: InProcessServer, tmp_path: Path
) -> None:
    db = sqlite_database
    agent_id, call = jo_on_a_call(db)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with (
        sync_playwright() as playwright,
        browser_page(playwright, tmp_path / "chromium-profile", problems, viewport=(1440, 900)) as page,
    ):
        # The server's clock is fixed; the browser's runs from the same instant.
        page.clock.install(time=NOW)

        page.goto(f"{served.url}/login")
        page.get_by_label("Username").fill("jo")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_url(f"{served.url}/agent")
        expect(page.get_by_role("heading", name="My callbacks")).to_be_visible()
        page.get_by_role("button", name="Ready", exact=True).click()
        state = page.locator("#state-bar")
        expect(state.locator('[data-state="ready"]')).to_have_text("Ready")

        # The engine bridges the answered call to Jo.
        served.publish(agent_channel(agent_id), screen_pop(call).to_json())
        expect(page.get_by_role("heading", name="Ask for Dana Example")).to_be_visible()
        expect(state.locator('[data-state="on_call"]')).to_have_text("On a call")
        expect(page.locator("#call-workspace")).not_to_contain_text("ACC-P1")
        _shot(page, "1-screen-pop")

        page.get_by_label("Date of birth they give").fill(DATE_OF_BIRTH)
        page.get_by_role("button", name="Verify", exact=True).click()
        expect(page.get_by_text("Right party verified.")).to_be_visible()
        _shot(page, "2-verified")
        page.get_by_label("I read the disclosure to the person").check()
        page.get_by_role("button", name="Disclosure given").click()
        expect(page.get_by_role("heading", name="Dana Example", exact=True)).to_be_visible()
        workspace = page.locator("#call-workspace")
        expect(workspace).to_contain_text("1230.00 USD")
        expect(workspace).to_contain_text("1 of 7 calls in 7 days")
        _shot(page, "3-account")

        page.get_by_label("Total amount").fill("900.00")
        page.get_by_label("Instalments").fill("3")
        page.get_by_label("Frequency").select_option(label="Monthly")
        page.get_by_label("First payment date").fill("2025-06-30")
        preview = page.locator("#promise-preview")
        expect(preview).to_contain_text("Within your authority.")
        expect(preview.locator("tbody tr")).to_have_count(3)
        expect(preview).to_contain_text("Sat 30 Aug 2025")
        _shot(page, "4-promise-preview")
        page.get_by_role("button", name="Save promise").click()
        expect(page.get_by_text("Promise saved.")).to_be_visible()

        page.get_by_label("Date (their time)").fill("2025-06-04")
        page.get_by_label("Time (their time)").fill("18:00")
        expect(page.get_by_label("Their time zone")).to_have_value("America/Chicago")
        page.get_by_label("Me", exact=True).check()
        page.get_by_role("button", name="Schedule callback").click()
        expect(page.get_by_text("Callback scheduled.")).to_be_visible()
        expect(page.get_by_text("Booked: Wed 04 Jun 18:00 CDT (you)")).to_be_visible()
        _shot(page, "5-callback")

        page.keyboard.press("Alt+1")  # the PTP hotkey
        expect(page.get_by_label("PTP · Promise to pay")).to_be_checked()
        expect(page.get_by_text("Needs a saved promise: saved")).to_be_visible()
        _shot(page, "6-disposition")
        page.get_by_role("button", name="Save disposition").click()
        expect(page.get_by_role("status").filter(has_text="Dispositioned: PTP")).to_be_visible()
        expect(state.locator('[data-state="wrap_up"]')).to_have_text("Wrap-up")
        _shot(page, "7-wrap-up")

        page.get_by_role("button", name="Ready", exact=True).click()
        expect(state.locator('[data-state="ready"]')).to_have_text("Ready")
        expect(page.get_by_role("heading", name="My callbacks")).to_be_visible()
        expect(page.locator("#call-workspace")).to_contain_text("Dana Example")
        _shot(page, "8-ready-again")
    assert problems == []

    with db.sessions() as session:
        attempt = session.scalars(
            sa.select(ContactAttempt).where(ContactAttempt.uuid == call.attempt_uuid)
        ).one()
        assert (attempt.status.value, attempt.disposition_code, attempt.party) == (
            "completed",
            "PTP",
            "consumer",
        )
        assert attempt.outcome is not None
        assert attempt.outcome.value == "conversation"
        promise = session.scalars(sa.select(Promise)).one()
        assert (promise.status.value, promise.total_minor, promise.frequency) == ("active", 90_000, "monthly")
        instalments = session.scalars(
            sa.select(PromiseInstalment)
            .where(PromiseInstalment.promise_id == promise.id)
            .order_by(PromiseInstalment.seq)
        ).all()
        assert [(each.due_on, each.amount_minor) for each in instalments] == [
            (dt.date(2025, 6, 30), 30_000),
            (dt.date(2025, 7, 30), 30_000),
            (dt.date(2025, 8, 30), 30_000),
        ]
        callback = session.scalars(sa.select(Callback)).one()
        assert (callback.due_at, callback.time_zone, callback.owner_user_id) == (
            dt.datetime(2025, 6, 4, 23, 0, tzinfo=dt.UTC),
            "America/Chicago",
            agent_id,
        )
    actions = [
        action
        for action, actor, payload in audit_log(db)
        if actor == f"user:{agent_id}" and payload.get("attempt") == call.attempt_uuid
    ]
    assert actions == [
        "call.verification",
        "call.disclosure",
        "promise.created",
        "callback.scheduled",
        "call.dispositioned",
    ]
