"""PostgreSQL restarts while an agent is on a call in a real browser (Debian's Chromium).

With the database stopped, the agent submits a note, a promise and a disposition: the workspace
shows them pending and keeps retrying. When PostgreSQL is back, every one is saved exactly once,
with its audit record, and the pending state is gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Dialog, Page, expect, sync_playwright

from campaigns.events import agent_channel
from campaigns.models import Note, Promise
from compliance.models import ContactAttempt
from infra.bus.local import LocalBus
from infra.db import make_engine, make_sessionmaker
from infra.settings import Settings
from tests.conftest import Database
from tests.private_postgres import PrivatePostgres, private_postgres  # noqa: F401 (the fixture)
from tests.workbench.conftest import PASSWORD
from tests.workbench.test_agent_browser import InProcessServer
from tests.workbench.test_agent_workspace import (
    DATE_OF_BIRTH,
    NOW,
    SECRET,
    audit_log,
    jo_on_a_call,
    screen_pop,
)
from tests.workbench.test_browser import SCREENSHOTS, browser_page

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]
NOTE = "Gets paid on the 30th; asked for a call after that."
# Backoff reaches 10 s between tries: the saves land within two tries of the restart.
SAVED_WITHIN_MS = 30_000


@pytest.fixture
def database(private_postgres: PrivatePostgres) -> Iterator[Database]:  # noqa: F811
    engine = make_engine(private_postgres.url)
    yield Database(private_postgres.url, engine, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture
def served(database: Database, tmp_path: Path) -> Iterator[InProcessServer]:
    settings = Settings(data_dir=tmp_path / "data", database_url=database.url, secret_key=SECRET)
    with InProcessServer(settings, LocalBus()) as server:
        yield server


def _on_a_verified_call(page: Page, served: InProcessServer, agent_id: int, pop: dict[str, object]) -> None:
    page.goto(f"{served.url}/login")
    page.get_by_label("Username").fill("jo")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{served.url}/agent")
    page.get_by_role("button", name="Ready", exact=True).click()
    expect(page.locator('#state-bar [data-state="ready"]')).to_have_text("Ready")
    served.publish(agent_channel(agent_id), pop)
    expect(page.get_by_role("heading", name="Ask for Dana Example")).to_be_visible()
    page.get_by_label("Date of birth they give").fill(DATE_OF_BIRTH)
    page.get_by_role("button", name="Verify", exact=True).click()
    page.get_by_label("I read the disclosure to the person").check()
    page.get_by_role("button", name="Disclosure given").click()
    expect(page.get_by_role("heading", name="Dana Example", exact=True)).to_be_visible()


def _submit_note_promise_and_disposition(page: Page) -> None:
    page.get_by_label("Note (kept as written; corrections are new notes)").fill(NOTE)
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("[data-pending-writes]")).to_be_visible()
    page.get_by_label("Total amount").fill("900.00")
    page.get_by_label("Instalments").fill("3")
    page.get_by_label("Frequency").select_option(label="Monthly")
    page.get_by_label("First payment date").fill("2025-06-30")
    page.get_by_role("button", name="Save promise").click()
    page.keyboard.press("Alt+1")  # the PTP hotkey
    expect(page.get_by_label("PTP · Promise to pay")).to_be_checked()
    page.get_by_role("button", name="Save disposition").click()


def test_writes_made_while_postgres_restarts_are_saved_once_when_it_is_back(
    private_postgres: PrivatePostgres,  # noqa: F811
    database: Database,
    served: InProcessServer,
    tmp_path: Path,
) -> None:
    agent_id, call = jo_on_a_call(database)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with (
        sync_playwright() as playwright,
        browser_page(playwright, tmp_path / "chromium-profile", problems, viewport=(1440, 900)) as page,
    ):
        page.clock.install(time=NOW)
        _on_a_verified_call(page, served, agent_id, screen_pop(call).to_json())

        private_postgres.stop("fast")
        _submit_note_promise_and_disposition(page)
        pending = page.locator("[data-pending-writes]")
        expect(pending).to_contain_text("Pending — saving 3 changes")
        expect(page.locator("[data-pending-write]")).to_have_count(3)
        expect(page.get_by_label("Total amount")).to_have_value("900.00")
        page.screenshot(path=str(SCREENSHOTS / "agent-pg-restart-pending.png"), full_page=True)
        # Moving about the workspace keeps them pending.
        page.get_by_role("link", name="Acme Bank (ACME)").click()
        expect(pending).to_contain_text("Pending — saving 3 changes")
        # Leaving the page would drop them: the browser asks first, and the agent stays.
        asked: list[str] = []

        def stay(dialog: Dialog) -> None:
            asked.append(dialog.type)
            dialog.dismiss()

        page.once("dialog", stay)
        page.get_by_role("button", name="Sign out").click()
        expect(pending).to_be_visible()
        assert asked == ["beforeunload"]
        assert page.url == f"{served.url}/agent"

        private_postgres.start()
        expect(pending).to_be_hidden(timeout=SAVED_WITHIN_MS)
        expect(page.get_by_role("status").filter(has_text="Dispositioned: PTP")).to_be_visible()
        expect(page.locator("[data-pending-write]")).to_have_count(0)
        expect(page.locator("#call-workspace")).to_contain_text(NOTE)
        page.screenshot(path=str(SCREENSHOTS / "agent-pg-restart-saved.png"), full_page=True)
    # The browser reports each refused try (503) as a failed resource; nothing else may go wrong.
    assert [problem for problem in problems if "503" not in problem] == []

    with database.sessions() as session:
        notes = session.scalars(sa.select(Note.body).where(Note.author_id == agent_id)).all()
        assert notes == [NOTE]
        promise = session.scalars(sa.select(Promise)).one()
        assert (promise.total_minor, promise.frequency) == (90_000, "monthly")
        attempt = session.scalars(
            sa.select(ContactAttempt).where(ContactAttempt.uuid == call.attempt_uuid)
        ).one()
        assert attempt.disposition_code == "PTP"
    actions = [
        action
        for action, actor, payload in audit_log(database)
        if actor == f"user:{agent_id}" and payload.get("attempt") == call.attempt_uuid
    ]
    assert actions == [
        "call.verification",
        "call.disclosure",
        "note.added",
        "promise.created",
        "call.dispositioned",
    ]
