"""The manager console on the real app and database: roles, client scope, campaigns, list
upload, dispositions, approvals and the wallboard."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from campaigns.models import (
    Campaign,
    CampaignList,
    CampaignStatus,
    ImportRun,
    InstalmentStatus,
    Note,
    Promise,
    PromiseInstalment,
    PromiseStatus,
)
from compliance.models import DispositionCode, Outcome
from infra.models import Role
from infra.settings import Settings
from tests.conftest import Database
from tests.workbench.conftest import CHEAP_HASHER, Browser, add_client, add_user, audit_actions
from tests.workbench.console_fixtures import (
    TUESDAY_10AM,
    add_account,
    add_campaign,
    add_list,
    add_pending_promise,
    place_call,
)
from workbench.app import build_routes, create_app
from workbench.security import GuardedRoute

OpenBrowser = Callable[[], Browser]
# The app's clock in these tests: noon in Chicago, two hours after TUESDAY_10AM.
NOW = TUESDAY_10AM + dt.timedelta(hours=2)
DIRTY_CSV = (
    "person_ref,account_ref,first_name,last_name,phone1,principal,state,postal_code,placed_on\n"
    "P1,A1,Dana,Smith,(312) 555-0142,1200.50,IL,60601,2025-01-15\n"
    "P2,A2,Lee,Jones,555,300.00,IL,60601,2025-01-15\n"
    "P3,A3,Max,Brown,+13125550143,-5,IL,60601,2025-01-15\n"
    "P4,A4,,White,+13125550144,10.00,IL,60601,2025-02-30\n"
)


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings, password_hasher=CHEAP_HASHER, clock=lambda: NOW)


def console_routes(*prefixes: str) -> list[tuple[str, str]]:
    """(method, path) of every console route, path parameters filled in."""
    found: list[tuple[str, str]] = []
    for candidate in build_routes():
        if (
            isinstance(candidate, GuardedRoute)
            and candidate.path.startswith(prefixes)
            and not candidate.access.public
        ):
            path = re.sub(r"\{(\w+):int\}", "1", candidate.path)
            path = re.sub(r"\{(\w+)\}", "start", path)
            found.extend((method, path) for method in sorted(candidate.methods or ()) if method != "HEAD")
    return found


def request(browser: Browser, method: str, path: str) -> Any:
    return browser.http.request(method, path, headers={"X-CSRF-Token": browser.csrf})


def signed_in(browsers: OpenBrowser, username: str) -> Browser:
    browser = browsers()
    assert browser.sign_in(username).status_code == 303
    return browser


def test_each_role_reaches_only_its_own_console(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "abe", Role.AGENT)
    add_user(db, "mona", Role.MANAGER)
    add_user(db, "cora", Role.COMPLIANCE)
    agent, manager, officer = (signed_in(browsers, name) for name in ("abe", "mona", "cora"))
    everything = console_routes("/manager", "/compliance", "/api/")
    assert len(everything) > 30
    for method, path in everything:
        if path in {"/api/me", "/api/openapi.json"}:
            continue  # open to every signed-in user
        response = request(agent, method, path)
        assert response.status_code == 403, (method, path)
        if path.startswith("/api/"):
            assert response.headers["content-type"] == "application/json"
    for method, path in console_routes("/compliance"):
        assert request(manager, method, path).status_code == 403, (method, path)
    for method, path in console_routes("/manager"):
        assert request(officer, method, path).status_code == 403, (method, path)
    # Not signed in at all: pages send the browser to sign in, the API answers in JSON.
    stranger = browsers()
    assert stranger.http.get("/manager/campaigns").status_code == 303
    refused = stranger.http.get("/api/campaigns")
    assert (refused.status_code, refused.json()["error"][:12]) == (401, "Sign in firs")


def test_a_manager_sees_and_changes_only_their_clients(db: Database, browsers: OpenBrowser) -> None:
    add_client(db, "ACME", "Acme Bank")
    add_client(db, "GLOBEX", "Globex Finance")
    acme, globex = add_account(db, "ACME", 1), add_account(db, "GLOBEX", 2)
    acme_campaign = add_campaign(db, acme.client_id, "Acme spring")
    globex_campaign = add_campaign(db, globex.client_id, "Globex spring")
    place_call(db, acme, TUESDAY_10AM, Outcome.NO_ANSWER, campaign_id=acme_campaign)
    globex_call = place_call(db, globex, TUESDAY_10AM, Outcome.NO_ANSWER, campaign_id=globex_campaign)
    add_user(db, "mona", Role.MANAGER, clients=["ACME"])
    manager = signed_in(browsers, "mona")

    listing = manager.http.get("/manager/campaigns").text
    assert "Acme spring" in listing
    assert "Globex spring" not in listing
    assert manager.http.get(f"/manager/campaigns/{globex_campaign}").status_code == 404
    stop = manager.http.post(
        f"/manager/campaigns/{globex_campaign}/lifecycle", data={"csrf_token": manager.csrf, "action": "stop"}
    )
    assert stop.status_code == 404
    api = manager.http.get("/api/campaigns").json()["campaigns"]
    assert [campaign["name"] for campaign in api] == ["Acme spring"]
    attempts = manager.http.get("/api/attempts").json()["attempts"]
    assert [attempt["person_ref"] for attempt in attempts] == [acme.person_ref]
    assert manager.http.get(f"/api/attempts/{globex_call}").status_code == 404
    assert manager.http.get(f"/api/persons/{globex.person_id}").status_code == 404
    with db.sessions() as session:
        assert session.get(Campaign, globex_campaign).status is CampaignStatus.DRAFT  # type: ignore[union-attr]


def _campaign_form(manager: Browser, **fields: Any) -> dict[str, Any]:
    return {
        "csrf_token": manager.csrf,
        "name": "Q3 fresh",
        "dial_mode": "progressive",
        "caller_id": "+13125550100",
        "trunk": "carrier-a",
        "settings.schedule.days": ["mon", "tue", "wed"],
        "settings.schedule.start": "09:00",
        "settings.schedule.end": "19:00",
        "settings.wrap_up_seconds": "45",
        "settings.pacing.abandon_target_percent": "2.5",
        "settings.pacing.max_dial_ratio": "2",
        "settings.pacing.ring_timeout_seconds": "25",
        "settings.machine_action": "hang_up",
        "settings.retry_rules.busy.retry_after_minutes": "20",
        "settings.retry_rules.busy.max_attempts": "4",
        **fields,
    }


def test_campaigns_are_created_validated_edited_and_run_through_their_lifecycle(
    db: Database, browsers: OpenBrowser
) -> None:
    client_id = add_client(db, "ACME", "Acme Bank")
    list_id = add_list(db, client_id, "June placements")
    manager_id = add_user(db, "mona", Role.MANAGER, clients=["ACME"])
    manager = signed_in(browsers, "mona")

    bad = manager.http.post(
        "/manager/campaigns",
        data=_campaign_form(
            manager,
            client_id=str(client_id),
            **{"settings.pacing.abandon_target_percent": "4", "settings.retry_rules.busy.max_attempts": "x"},
        ),
    )
    assert bad.status_code == 422
    assert (
        'href="#field-settings-pacing-abandon_target_percent">Abandon target</a>: must be between 0 and 3'
        in bad.text
    )
    assert "Busy: maximum attempts</a>: must be a whole number" in bad.text
    assert 'value="4"' in bad.text  # what the manager typed stays in the form

    created = manager.http.post(
        "/manager/campaigns", data=_campaign_form(manager, client_id=str(client_id), list_ids=[str(list_id)])
    )
    assert created.status_code == 303
    campaign_id = int(created.headers["location"].split("/")[3].split("?")[0])
    with db.sessions() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert campaign.settings["retry_rules"]["busy"] == {"retry_after_minutes": 20, "max_attempts": 4}
        assert campaign.settings["schedule"]["days"] == ["mon", "tue", "wed"]
        assert session.scalars(sa.select(CampaignList.list_id)).all() == [list_id]

    def act(action: str) -> Any:
        return manager.http.post(
            f"/manager/campaigns/{campaign_id}/lifecycle",
            data={"csrf_token": manager.csrf, "action": action, "back": "campaign"},
        )

    assert act("pause").status_code == 409
    assert act("start").status_code == 200
    edited = manager.http.post(
        f"/manager/campaigns/{campaign_id}",
        data=_campaign_form(manager, caller_id="", list_ids=[str(list_id)]),
    )
    assert edited.status_code == 303
    assert act("pause").status_code == 200
    refused = act("start")
    assert refused.status_code == 409
    assert "before starting, set a caller ID" in refused.text
    assert act("stop").status_code == 200
    frozen = manager.http.post(f"/manager/campaigns/{campaign_id}", data=_campaign_form(manager))
    assert frozen.status_code == 422
    assert "a stopped campaign cannot be changed" in frozen.text

    actions = [(actor, action) for actor, action, _ in audit_actions(db) if action.startswith("campaign.")]
    actor = f"user:{manager_id}"
    assert actions == [
        (actor, "campaign.create"),
        (actor, "campaign.start"),
        (actor, "campaign.update"),
        (actor, "campaign.pause"),
        (actor, "campaign.stop"),
    ]
    update = next(payload for _, action, payload in audit_actions(db) if action == "campaign.update")
    assert (update["before"]["caller_id"], update["after"]["caller_id"]) == ("+13125550100", None)


def test_uploading_a_dirty_list_reports_each_rejected_row(db: Database, browsers: OpenBrowser) -> None:
    client_id = add_client(db, "ACME", "Acme Bank")
    add_client(db, "GLOBEX", "Globex Finance")
    manager_id = add_user(db, "mona", Role.MANAGER, clients=["ACME"])
    manager = signed_in(browsers, "mona")
    files = {"file": ("june.csv", DIRTY_CSV.encode(), "text/csv")}
    globex_id = str(client_id + 1)
    refused = manager.http.post(
        "/manager/lists/upload", data={"csrf_token": manager.csrf, "client_id": globex_id}, files=files
    )
    assert refused.status_code == 422
    started = manager.http.post(
        "/manager/lists/upload", data={"csrf_token": manager.csrf, "client_id": str(client_id)}, files=files
    )
    assert started.status_code == 303
    job = started.headers["location"]
    deadline = time.monotonic() + 20
    while (progress := manager.http.get(job, headers={"HX-Request": "true"})).status_code == 200:
        assert "failed" not in progress.text
        assert time.monotonic() < deadline, progress.text
        time.sleep(0.05)
    report_path = progress.headers["HX-Redirect"]
    assert manager.http.get(job).status_code == 404  # done: the job has handed over to its report
    report = manager.http.get(report_path)
    cells = re.findall(r"<tr><td>(\d+)</td><td>(\w+)</td><td>(\w+)</td><td>([^<]+)</td></tr>", report.text)
    assert cells == [
        ("3", "phone1", "invalid_phone", "&#39;555&#39; is not a valid phone number for US"),
        ("4", "principal", "negative_amount", "&#39;-5&#39; is negative"),
        ("5", "first_name", "required", "first_name is required"),
        ("5", "placed_on", "invalid_date", "&#39;2025-02-30&#39; is not a calendar date"),
    ]
    rejects_csv = manager.http.get(f"{report_path}/rejects.csv").text.splitlines()
    assert rejects_csv[0] == "line,column,code,reason"
    assert rejects_csv[2] == "4,principal,negative_amount,'-5' is negative"
    with db.sessions() as session:
        run = session.scalars(sa.select(ImportRun)).one()
        assert (run.rows_read, run.debts_created, run.rows_rejected, run.started_by) == (4, 1, 3, manager_id)
    [(actor, payload)] = [
        (actor, payload) for actor, action, payload in audit_actions(db) if action == "import.accounts"
    ]
    assert (actor, payload["file_name"], payload["rows_rejected"]) == (f"user:{manager_id}", "june.csv", 3)
    lists = manager.http.get("/api/lists").json()["lists"]
    assert [(item["name"], item["accounts"]) for item in lists] == [("june", 1)]


def test_promise_approvals_need_a_reason_and_are_audited(db: Database, browsers: OpenBrowser) -> None:
    add_client(db, "ACME", "Acme Bank")
    account = add_account(db, "ACME", 1)
    agent_id = add_user(db, "abe", Role.AGENT, clients=["ACME"], display_name="Abe Agent")
    manager_id = add_user(db, "mona", Role.MANAGER, clients=["ACME"])
    first = add_pending_promise(db, account, agent_id)
    second = add_pending_promise(db, account, agent_id, total_minor=20_000)
    manager = signed_in(browsers, "mona")
    queue = manager.http.get("/manager/approvals").text
    assert f"Promise #{first}" in queue
    assert "Abe Agent" in queue
    assert "600.00 USD" in queue

    def decide(promise_id: int, decision: str, reason: str) -> Any:
        return manager.http.post(
            f"/manager/approvals/{promise_id}",
            data={"csrf_token": manager.csrf, "decision": decision, "reason": reason},
        )

    assert decide(first, "approve", "").status_code == 422
    assert decide(first, "approve", "Client allows 35 % on this portfolio").status_code == 200
    assert decide(first, "reject", "changed my mind").status_code == 409  # already decided
    assert decide(second, "reject", "Below the settlement floor").status_code == 200
    with db.sessions() as session:
        approved, rejected = session.get(Promise, first), session.get(Promise, second)
        assert approved is not None
        assert rejected is not None
        assert (approved.status, approved.approved_by) == (PromiseStatus.ACTIVE, manager_id)
        assert rejected.status is PromiseStatus.REJECTED
        statuses = session.scalars(
            sa.select(PromiseInstalment.status).where(PromiseInstalment.promise_id == second)
        ).all()
        assert set(statuses) == {InstalmentStatus.CANCELLED}
        notes = session.scalars(sa.select(Note.body).order_by(Note.id)).all()
        assert notes[0] == f"Promise #{first} approved by Mona: Client allows 35 % on this portfolio"
    decisions = [
        (action, payload["reason"])
        for _, action, payload in audit_actions(db)
        if action.startswith("promise.")
    ]
    assert decisions == [
        ("promise.approve", "Client allows 35 % on this portfolio"),
        ("promise.reject", "Below the settlement floor"),
    ]
    assert "No promises are waiting for approval." in manager.http.get("/manager/approvals").text


def test_disposition_codes_are_edited_with_an_audit_trail(db: Database, browsers: OpenBrowser) -> None:
    # The codes the initial migration ships: PTP on hotkey 1, CB on hotkey 3.
    with db.sessions() as session:
        codes = dict(session.execute(sa.select(DispositionCode.code, DispositionCode.id)).all())
    ptp, callback = codes["PTP"], codes["CB"]
    add_user(db, "mona", Role.MANAGER)
    manager = signed_in(browsers, "mona")
    clash = manager.http.post(
        f"/manager/dispositions/{callback}",
        data={"csrf_token": manager.csrf, "label": "Callback", "hotkey": "1", "active": "yes"},
    )
    assert clash.status_code == 422
    assert "already used by PTP" in clash.text
    saved = manager.http.post(
        f"/manager/dispositions/{ptp}",
        data={
            "csrf_token": manager.csrf,
            "label": "Promise to pay <b>",
            "hotkey": "p",
            "active": "yes",
            "required_fields": ["promise", "note"],
        },
    )
    assert saved.status_code == 200
    assert "Promise to pay &lt;b&gt;" in saved.text
    with db.sessions() as session:
        row = session.get(DispositionCode, ptp)
        assert row is not None
        assert (row.label, row.hotkey, row.required_fields) == (
            "Promise to pay <b>",
            "p",
            ["note", "promise"],
        )
    [payload] = [payload for _, action, payload in audit_actions(db) if action == "disposition.update"]
    assert payload["before"]["hotkey"] == "1"
    assert payload["after"] == {
        "label": "Promise to pay <b>",
        "hotkey": "p",
        "active": True,
        "required_fields": ["note", "promise"],
    }


def _figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found is not None, html
    return found.group(1).strip()


def test_the_wallboard_is_pushed_with_live_figures(db: Database, browsers: OpenBrowser) -> None:
    add_client(db, "ACME", "Acme Bank")
    talked, dropped = add_account(db, "ACME", 1), add_account(db, "ACME", 2)
    campaign_id = add_campaign(db, talked.client_id, "Acme spring")
    add_user(db, "abe", Role.AGENT, clients=["ACME"], display_name="Abe Agent")
    add_user(db, "mona", Role.MANAGER, clients=["ACME"])
    manager, agent = signed_in(browsers, "mona"), browsers()
    page = manager.http.get("/manager").text
    assert _figure(page, "signed-in") == "0"
    with manager.socket() as board:
        first = board.receive_text()
        assert 'id="wallboard" class="wallboard"' in first
        assert 'hx-swap-oob="true"' in first
        assert _figure(first, "signed-in") == "0"
        agent.sign_in("abe")
        signed = board.receive_text()
        assert "Abe Agent" in signed  # the agents table and the figures travel together
        assert _figure(signed, "signed-in") == "1"
        assert 'data-state-count="Paused: Signed in">1<' in signed
        place_call(db, talked, NOW - dt.timedelta(minutes=5), Outcome.CONVERSATION, campaign_id=campaign_id)
        place_call(db, dropped, NOW - dt.timedelta(minutes=4), Outcome.ABANDONED, campaign_id=campaign_id)
        time.sleep(1.1)  # past the moment tabs of one scope share figures
        with agent.socket() as tab:
            tab.receive_text()
            agent.send(tab, "ready")
            update = board.receive_text()
            while 'data-state-count="Ready">1<' not in update:
                update = board.receive_text()
        assert _figure(update, "contacts-hour") == "1"
        assert _figure(update, "rpc-hour") == "1"
        assert _figure(update, "abandon-30d") == "50.0 %"
        assert _figure(update, "abandon-today").startswith("today: 50.0 % (1 of 2)")
    assert re.search(r"<span>Acme spring</span> <strong>50.0 %</strong>", update)
    assert 'class="tile abandon-critical"' in update


def test_the_kpi_report_counts_by_campaign_and_agent(db: Database, browsers: OpenBrowser) -> None:
    add_client(db, "ACME", "Acme Bank")
    account = add_account(db, "ACME", 1)
    campaign_id = add_campaign(db, account.client_id, "Acme spring")
    agent_id = add_user(db, "abe", Role.AGENT, clients=["ACME"], display_name="Abe Agent")
    add_user(db, "mona", Role.MANAGER, clients=["ACME"])
    place_call(db, account, TUESDAY_10AM, Outcome.NO_ANSWER, campaign_id=campaign_id)
    place_call(
        db,
        account,
        TUESDAY_10AM + dt.timedelta(hours=2),
        Outcome.CONVERSATION,
        campaign_id=campaign_id,
        agent_id=agent_id,
    )
    manager = signed_in(browsers, "mona")
    by_campaign = manager.http.get("/manager/reports", params={"from": "2025-06-01", "to": "2025-06-07"}).text
    row = re.search(r"<th scope=\"row\">Acme spring</th>(.*?)</tr>", by_campaign, re.S)
    assert row is not None
    cells = re.findall(r"<td>([^<]*)", row.group(1))
    assert cells[:5] == ["2", "50.0 %", "50.0 %", "50.0 %", "100.0 %"]
    by_agent = manager.http.get(
        "/manager/reports", params={"from": "2025-06-01", "to": "2025-06-07", "by": "agent"}
    )
    assert "Abe Agent" in by_agent.text
    assert "No agent (dialer only)" in by_agent.text  # the unanswered call
    assert (
        manager.http.get("/manager/reports", params={"from": "2025-06-07", "to": "2025-06-01"}).status_code
        == 422
    )


def test_console_pages_escape_data_and_protect_every_form(db: Database, browsers: OpenBrowser) -> None:
    add_client(db, "ACME", "Acme <Bank>")
    add_user(db, "mona", Role.MANAGER)
    manager = signed_in(browsers, "mona")
    for path in (
        "/manager",
        "/manager/campaigns/new",
        "/manager/lists",
        "/manager/dispositions",
        "/manager/reports",
    ):
        page = manager.http.get(path)
        assert page.status_code == 200, path
        assert "<script>" not in page.text
        assert "Acme <Bank>" not in page.text
        forms = re.findall(r"<form method=\"post\".*?</form>", page.text, re.S)
        assert all('name="csrf_token"' in form for form in forms), path
