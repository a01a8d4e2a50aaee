"""The manager and compliance consoles in a real browser (Debian's Chromium) against a real
uvicorn server: a manager uploads a list and watches the wallboard follow an agent; a compliance
officer finds an attempt placed through the real gate and opens its decision. Each screen is
saved under var/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from compliance.models import Outcome
from infra.models import Role
from infra.passwords import DEFAULT_HASHER
from tests.conftest import Database
from tests.workbench.conftest import PASSWORD, add_client, add_user
from tests.workbench.console_fixtures import (
    TUESDAY_10AM,
    add_account,
    add_campaign,
    add_list,
    add_pending_promise,
    place_call,
)
from tests.workbench.test_browser import SCREENSHOTS, browser_page, web_server
from tests.workbench.test_manager_console import DIRTY_CSV

__all__ = ["web_server"]  # the server fixture, shared with the agent's browser test


# A form sent back with its problems answers 422 (409 for a refused status change); Chromium
# logs every such document load as a console error, which here is expected.
EXPECTED_REFUSALS = re.compile(r"^Failed to load resource: the server responded with a status of (422|409) ")


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.slow
def test_a_manager_uploads_a_list_and_watches_the_wallboard(
    sqlite_database: Database, web_server: str, tmp_path: Path
) -> None:
    db = sqlite_database
    client_id = add_client(db, "ACME", "Acme Bank")
    account = add_account(db, "ACME", 1)
    add_list(db, client_id, "May placements")
    agent_id = add_user(
        db, "jo", Role.AGENT, display_name="Jo Collector", clients=["ACME"], hasher=DEFAULT_HASHER
    )
    add_user(db, "mona", Role.MANAGER, display_name="Mona Manager", clients=["ACME"], hasher=DEFAULT_HASHER)
    add_pending_promise(db, account, agent_id)
    csv_file = tmp_path / "june.csv"
    csv_file.write_text(DIRTY_CSV, encoding="utf-8")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with (
        sync_playwright() as playwright,
        browser_page(playwright, tmp_path / "manager", problems, expected=EXPECTED_REFUSALS) as page,
    ):
        sign_in(page, web_server, "mona")
        page.wait_for_url(f"{web_server}/manager")
        board = page.locator("#wallboard")
        expect(board.locator('[data-figure="signed-in"]')).to_have_text("0")

        page.get_by_role("link", name="Call lists").click()
        page.get_by_label("Client").select_option(label="Acme Bank (ACME)")
        page.get_by_label("CSV file").set_input_files(str(csv_file))
        page.get_by_role("button", name="Upload and import").click()
        expect(page.get_by_role("heading", name="Import of june.csv")).to_be_visible()
        rejects = page.get_by_role("table", name="Rejected rows")
        expect(rejects.get_by_role("row")).to_have_count(5)
        expect(
            rejects.get_by_role("row", name="3 phone1 invalid_phone '555' is not a valid phone number for US")
        ).to_be_visible()
        expect(rejects.get_by_role("row", name=re.compile(r"^5 placed_on invalid_date"))).to_be_visible()
        shot(page, "manager-import-report")

        page.get_by_role("link", name="Campaigns").click()
        page.get_by_role("link", name="New campaign").click()
        page.get_by_label("Campaign name").fill("June fresh")
        page.get_by_label("Dial mode").select_option("progressive")
        page.get_by_label("Caller ID").fill("+13125550100")
        page.get_by_label("Trunk").fill("carrier-a")
        page.get_by_label("Abandon target (%)").fill("4")
        page.get_by_label("june").check()
        page.get_by_role("button", name="Create campaign").click()
        expect(page.get_by_role("alert")).to_contain_text("must be between 0 and 3")
        expect(page.get_by_label("Abandon target (%)")).to_have_attribute("aria-invalid", "true")
        shot(page, "manager-campaign-error")
        page.get_by_label("Abandon target (%)").fill("2.5")
        page.get_by_label("Busy: maximum attempts").fill("4")
        page.get_by_role("button", name="Create campaign").click()
        expect(page.get_by_role("status")).to_contain_text("Campaign saved.")
        shot(page, "manager-campaign-editor")
        page.get_by_role("group", name="Campaign status").get_by_role("button", name="Start").click()
        expect(page.get_by_role("status")).to_contain_text("June fresh is now active.")
        page.get_by_role("link", name="Campaigns").click()
        expect(page.get_by_role("row", name=re.compile("June fresh"))).to_contain_text("active")
        shot(page, "manager-campaigns")

        page.get_by_role("link", name="Approvals").click()
        page.get_by_label(re.compile("Reason for promise")).fill("Client allows 35 %")
        shot(page, "manager-approvals")
        page.get_by_role("button", name=re.compile("Approve promise")).click()
        expect(page.get_by_role("status")).to_contain_text("approved")

        page.get_by_role("link", name="Dispositions").click()
        expect(page.get_by_label("Label of PTP")).to_have_value("Promise to pay")
        shot(page, "manager-dispositions")
        page.get_by_role("link", name="Reports").click()
        shot(page, "manager-reports")

        page.get_by_role("link", name="Wallboard").click()
        expect(board.locator('[data-figure="signed-in"]')).to_have_text("0")
        with browser_page(playwright, tmp_path / "agent", problems, expected=EXPECTED_REFUSALS) as agent:
            sign_in(agent, web_server, "jo")
            agent.wait_for_url(f"{web_server}/agent")
            # Pushed over the manager's WebSocket: no reload.
            expect(board.locator('[data-figure="signed-in"]')).to_have_text("1")
            expect(board).to_contain_text("Paused: Signed in")
            agent.get_by_role("button", name="Ready", exact=True).click()
            expect(board.locator('[data-state-count="Ready"]')).to_have_text("1")
            expect(page.locator("#agent-monitor")).to_contain_text("Jo Collector")
            shot(page, "manager-wallboard")
    assert problems == []


@pytest.mark.browser
@pytest.mark.slow
def test_a_compliance_officer_opens_the_gate_decision_of_an_attempt(
    sqlite_database: Database, web_server: str, tmp_path: Path
) -> None:
    db = sqlite_database
    add_client(db, "ACME", "Acme Bank")
    account, other = add_account(db, "ACME", 1), add_account(db, "ACME", 2)
    campaign = add_campaign(db, account.client_id, "June fresh")
    attempt_id = place_call(db, account, TUESDAY_10AM, Outcome.NO_ANSWER, campaign_id=campaign)
    place_call(db, other, TUESDAY_10AM, Outcome.CONVERSATION, campaign_id=campaign)
    add_user(
        db, "cora", Role.COMPLIANCE, display_name="Cora Compliance", clients=["ACME"], hasher=DEFAULT_HASHER
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with (
        sync_playwright() as playwright,
        browser_page(playwright, tmp_path / "officer", problems, expected=EXPECTED_REFUSALS) as page,
    ):
        sign_in(page, web_server, "cora")
        page.wait_for_url(f"{web_server}/compliance")
        shot(page, "compliance-overview")
        page.get_by_role("link", name="Attempts", exact=True).click()
        page.get_by_label("Account reference").fill(account.account_ref)
        page.get_by_label("the person's local time").check()
        page.get_by_label("From").fill("2025-06-03T09:00:00")
        page.get_by_label("To").fill("2025-06-03T11:00:00")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("heading", name="1 attempt")).to_be_visible()
        shot(page, "compliance-attempt-search")
        page.get_by_role("link", name=f"Attempt {attempt_id}").click()
        decision = page.get_by_role("region", name="Gate decision")
        expect(decision).to_contain_text("Allowed")
        expect(decision.get_by_role("row", name=re.compile("regf.hours.local_time"))).to_contain_text(
            "10:00 CDT in America/Chicago"
        )
        expect(decision).to_contain_text("us-federal")
        shot(page, "compliance-gate-decision")

        page.get_by_role("link", name="Holds and consent").click()
        page.get_by_label("Person reference, account reference or phone number").fill(account.person_ref)
        page.get_by_role("button", name="Find").click()
        page.get_by_role("link", name=re.compile(account.person_ref)).click()
        page.get_by_label("Kind of hold").select_option(label="Dispute")
        page.get_by_label("Reason and source").first.fill("Dispute letter received")
        page.get_by_role("button", name="Add hold").click()
        expect(page.get_by_role("status")).to_contain_text("Hold added.")
        shot(page, "compliance-person")

        page.get_by_role("link", name="Reports").click()
        page.get_by_label("From (UTC day)").fill("2025-06-01")
        page.get_by_label("To (UTC day)").fill("2025-06-07")
        page.get_by_role("button", name="Show report").click()
        expect(page.get_by_role("heading", name="Reg F call frequency")).to_be_visible()
        shot(page, "compliance-regf-report")
        page.get_by_role("link", name="Audit chain").click()
        page.get_by_role("button", name="Verify the chain").click()
        expect(page.get_by_role("status")).to_contain_text("audit chain intact")
        shot(page, "compliance-audit")
    assert problems == []
