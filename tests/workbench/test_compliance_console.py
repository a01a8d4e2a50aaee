"""The compliance console on the real app and database: the check endpoint of the contract,
attempt search over attempts placed through the real gate, holds and consent, reports and
audit-chain verification."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from campaigns.account_facts import load_account_facts
from campaigns.models import Phone
from compliance.gate import DialGate, DialRequest
from compliance.models import ContactRestriction, DialingMode, Notice, NoticeType, Outcome
from infra.models import Role
from tests.conftest import Database
from tests.workbench.conftest import Browser, add_client, add_user, audit_actions
from tests.workbench.console_fixtures import TUESDAY_10AM, Account, add_account, add_campaign, place_call

OpenBrowser = Callable[[], Browser]
CASES = Path(__file__).resolve().parents[1] / "compliance" / "cases"


def signed_in(browsers: OpenBrowser, username: str) -> Browser:
    browser = browsers()
    assert browser.sign_in(username).status_code == 303
    return browser


def check(browser: Browser, body: str) -> Any:
    return browser.http.post(
        "/api/compliance/check",
        content=body.encode(),
        headers={"X-CSRF-Token": browser.csrf, "content-type": "application/json"},
    )


def test_the_check_endpoint_follows_the_contract(db: Database, browsers: OpenBrowser) -> None:
    for username, role in (("cora", Role.COMPLIANCE), ("mona", Role.MANAGER), ("abe", Role.AGENT)):
        add_user(db, username, role)
    officer, manager, agent = (signed_in(browsers, name) for name in ("cora", "mona", "abe"))
    allowed_case = (CASES / "do_not_call_then_inbound.json").read_text()
    blocked_case = (CASES / "seven_in_seven.json").read_text()

    allowed = check(officer, allowed_case)
    assert allowed.status_code == 200
    assert (allowed.json()["allowed"], allowed.json()["next_allowed_at"]) == (
        True,
        "2025-06-10T10:00:00-05:00",
    )
    blocked = check(manager, blocked_case).json()
    assert (blocked["allowed"], blocked["rule"], blocked["next_allowed_at"]) == (
        False,
        "regf.frequency.seven_in_seven",
        "2025-06-09T08:00:00-05:00",
    )
    assert set(blocked) == {"allowed", "rule", "citation", "reason", "next_allowed_at", "evaluated"}

    malformed = check(officer, (CASES / "malformed.json").read_text())
    assert malformed.status_code == 422
    problems = {problem["path"]: problem["message"] for problem in malformed.json()["problems"]}
    assert problems["person.notices[0].typ"] == "unknown field"
    assert {"phones[0].type", "call.at", "person.notices[0].received_at"} <= set(problems)
    not_json = check(officer, "{not json")
    assert (not_json.status_code, not_json.json()["problems"][0]["path"]) == (422, "$")
    unknown_policy = check(officer, json.dumps({**json.loads(allowed_case), "policy": "mars"}))
    assert [problem["path"] for problem in unknown_policy.json()["problems"]] == ["policy"]

    assert check(agent, allowed_case).status_code == 403
    forged = officer.http.post(
        "/api/compliance/check", content=allowed_case.encode(), headers={"X-CSRF-Token": "x"}
    )
    assert forged.status_code == 403


def _search(officer: Browser, **params: str) -> list[str]:
    page = officer.http.get("/compliance/attempts", params=params)
    assert page.status_code == 200, page.text
    return re.findall(r'href="/compliance/attempts/(\d+)"', page.text)


def test_attempts_are_found_by_every_filter_with_their_gate_decision(
    db: Database, browsers: OpenBrowser
) -> None:
    add_client(db, "ACME", "Acme Bank")
    add_client(db, "GLOBEX", "Globex Finance")
    first, second = add_account(db, "ACME", 1), add_account(db, "ACME", 2)
    elsewhere = add_account(db, "GLOBEX", 3)
    campaign = add_campaign(db, first.client_id, "Acme spring")
    agent_id = add_user(db, "abe", Role.AGENT, clients=["ACME"], display_name="Abe Agent")
    add_user(db, "cora", Role.COMPLIANCE, clients=["ACME"])
    morning = place_call(db, first, TUESDAY_10AM, Outcome.NO_ANSWER, campaign_id=campaign)
    # 20:30 in Chicago: late, but inside the hours.
    evening = place_call(
        db, first, TUESDAY_10AM + dt.timedelta(hours=10, minutes=30), Outcome.CONVERSATION, agent_id=agent_id
    )
    other = place_call(db, second, TUESDAY_10AM + dt.timedelta(hours=1), Outcome.BUSY, campaign_id=campaign)
    place_call(db, elsewhere, TUESDAY_10AM, Outcome.NO_ANSWER)
    officer = signed_in(browsers, "cora")
    ids = {name: str(value) for name, value in (("morning", morning), ("evening", evening), ("other", other))}

    assert _search(officer, account=first.account_ref) == [ids["evening"], ids["morning"]]
    assert _search(officer, person=second.person_ref) == [ids["other"]]
    assert _search(officer, phone=first.number[2:]) == [ids["evening"], ids["morning"]]  # ten digits
    assert _search(officer, agent=str(agent_id)) == [ids["evening"]]
    assert _search(officer, campaign=str(campaign)) == [ids["other"], ids["morning"]]
    assert _search(officer, outcome="busy") == [ids["other"]]
    assert _search(officer, account=elsewhere.account_ref) == []  # another client's
    # 20:30 Chicago is 01:30 UTC the next day: the two readings of a range differ.
    evening_local = {"from": "2025-06-03T20:00", "to": "2025-06-03T21:00"}
    assert _search(officer, zone="local", **evening_local) == [ids["evening"]]
    assert _search(officer, zone="utc", **evening_local) == []
    assert _search(officer, zone="utc", **{"from": "2025-06-04T01:00", "to": "2025-06-04T02:00"}) == [
        ids["evening"]
    ]
    bad = officer.http.get("/compliance/attempts", params={"from": "yesterday", "outcome": "bored"})
    assert bad.status_code == 422
    assert "from: must be a date and time" in bad.text
    assert "outcome: not an outcome" in bad.text

    detail = officer.http.get(f"/compliance/attempts/{evening}").text
    assert "Allowed" in detail
    assert "regf.hours.local_time" in detail
    assert "20:30 CDT in America/Chicago" in detail
    assert re.search(r"<code>[0-9a-f]{64}</code>", detail)  # the inputs digest
    assert "us-federal" in detail
    assert "2025-06-03 20:30:00 CDT (America/Chicago)" in detail
    assert officer.http.get(f"/compliance/attempts/{elsewhere.person_id + 100}").status_code == 404
    api = officer.http.get(f"/api/attempts/{evening}").json()
    assert api["gate_decision"]["policy_name"] == "us-federal"
    assert api["local_times"] == {"America/Chicago": "2025-06-03T20:30:00-05:00"}


def _change(officer: Browser, account: Account, change: str, **fields: Any) -> Any:
    return officer.http.post(
        f"/compliance/persons/{account.person_id}/records",
        data={"csrf_token": officer.csrf, "change": change, **fields},
    )


def _gate_allows(db: Database, account: Account, at: dt.datetime) -> tuple[bool, object]:
    gate = DialGate(db.sessions, load_account_facts, "us-federal")
    verdict = gate.check(
        DialRequest(account.person_id, account.number, (account.debt_id,), DialingMode.PREDICTIVE, at)
    )
    return bool(verdict["allowed"]), verdict["rule"]


def test_holds_restrictions_and_consent_are_managed_with_reasons_and_audited(
    db: Database, browsers: OpenBrowser
) -> None:
    add_client(db, "ACME", "Acme Bank")
    account = add_account(db, "ACME", 1)
    officer_id = add_user(db, "cora", Role.COMPLIANCE, clients=["ACME"])
    officer = signed_in(browsers, "cora")
    # 10:00 or 11:00 in Chicago tomorrow: a call after the consent is withdrawn.
    tomorrow = dt.datetime.combine(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1), dt.time(16), dt.UTC)
    assert _gate_allows(db, account, TUESDAY_10AM)[0]
    found = officer.http.get("/compliance/holds", params={"find": account.account_ref}).text
    assert f'href="/compliance/persons/{account.person_id}"' in found

    assert _change(officer, account, "notice_add", notice_type="dispute").status_code == 422  # no reason
    added = _change(
        officer,
        account,
        "notice_add",
        notice_type="dispute",
        received_at="2025-06-01T09:00",
        reason="Letter 2025-06-01",
    )
    assert added.status_code == 200
    assert "Hold added." in added.text
    assert _gate_allows(db, account, TUESDAY_10AM) == (False, "regf.dispute.verification_pending")
    future = _change(
        officer, account, "notice_add", notice_type="bankruptcy", received_at="2999-01-01T00:00", reason="x"
    )
    assert "cannot be in the future" in future.text
    with db.sessions() as session:
        notice = session.scalars(sa.select(Notice)).one()
        assert (notice.type, notice.details, notice.debt_ids) == (NoticeType.DISPUTE, "Letter 2025-06-01", [])
    resolved = _change(
        officer, account, "notice_resolve", item_id=str(notice.id), reason="Verification mailed"
    )
    assert "Hold resolved." in resolved.text
    assert (
        _change(officer, account, "notice_resolve", item_id=str(notice.id), reason="again").status_code == 422
    )
    assert _gate_allows(db, account, tomorrow)[0]

    restricted = _change(
        officer,
        account,
        "restriction_add",
        restriction_kind="number",
        number=account.number,
        reason="Asked on a call",
    )
    assert "Restriction added." in restricted.text
    assert _gate_allows(db, account, tomorrow) == (False, "regf.media.no_calls")
    with db.sessions() as session:
        restriction = session.scalars(sa.select(ContactRestriction)).one()
    _change(officer, account, "restriction_withdraw", item_id=str(restriction.id), reason="Entered in error")
    assert _gate_allows(db, account, tomorrow)[0]

    with db.sessions() as session:
        phone_id = session.scalars(sa.select(Phone.id)).one()
    withdrawn = _change(
        officer, account, "phone_consent_withdraw", item_id=str(phone_id), reason="Revoked by e-mail"
    )
    assert "Consent to autodialled calls withdrawn." in withdrawn.text
    assert _gate_allows(db, account, tomorrow) == (False, "tcpa.wireless.consent")
    assert _change(officer, account, "consent_add", reason="Asked us to call Friday").status_code == 200

    actions = [
        (actor, action, payload["reason"])
        for actor, action, payload in audit_actions(db)
        if "reason" in payload
    ]
    actor = f"user:{officer_id}"
    assert actions == [
        (actor, "hold.add", "Letter 2025-06-01"),
        (actor, "hold.resolve", "Verification mailed"),
        (actor, "restriction.add", "Asked on a call"),
        (actor, "restriction.withdraw", "Entered in error"),
        (actor, "consent.autodial_withdraw", "Revoked by e-mail"),
        (actor, "consent.direct_add", "Asked us to call Friday"),
    ]


def test_reports_and_their_csv_cover_the_officers_clients_only(db: Database, browsers: OpenBrowser) -> None:
    add_client(db, "ACME", "Acme Bank")
    add_client(db, "GLOBEX", "Globex Finance")
    mine, theirs = add_account(db, "ACME", 1), add_account(db, "GLOBEX", 2)
    campaigns = {account: add_campaign(db, account.client_id, "Spring") for account in (mine, theirs)}
    for account, campaign in campaigns.items():
        for day in range(3):
            place_call(
                db, account, TUESDAY_10AM + dt.timedelta(days=day), Outcome.NO_ANSWER, campaign_id=campaign
            )
    add_user(db, "cora", Role.COMPLIANCE, clients=["ACME"])
    officer = signed_in(browsers, "cora")
    period = {"from": "2025-06-01", "to": "2025-06-07"}
    regf = officer.http.get("/compliance/reports", params={"report": "regf", **period, "format": "csv"})
    assert regf.headers["content-type"].startswith("text/csv")
    lines = regf.text.splitlines()
    assert lines[0].startswith("person_id,debt_id,counted_calls,most_in_7_days")
    assert [line.split(",")[:4] for line in lines[1:]] == [[str(mine.person_id), str(mine.debt_id), "3", "3"]]
    hours = officer.http.get("/compliance/reports", params={"report": "hours", **period})
    assert hours.text.count(mine.number) == 3
    assert theirs.number not in hours.text
    abandon = officer.http.get("/compliance/reports", params={"report": "abandon", **period, "format": "csv"})
    header, *days = abandon.text.splitlines()
    assert header.startswith("campaign_id,day,live_answered,abandoned,abandon_rate")
    assert {line.split(",")[0] for line in days} == {str(campaigns[mine])}
    assert len(days) == 7


def test_the_audit_chain_is_verified_against_an_anchor(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "cora", Role.COMPLIANCE)
    officer = signed_in(browsers, "cora")

    def verify(anchor: str) -> Any:
        return officer.http.post(
            "/compliance/audit/verify", data={"csrf_token": officer.csrf, "anchor": anchor}
        )

    intact = verify("")
    assert "Intact" in intact.text
    found = re.search(r'<code class="anchor">(\d+:[0-9a-f]{64})</code>', intact.text)
    assert found is not None
    assert "Intact" in verify(found.group(1)).text
    seq, _ = found.group(1).split(":")
    forged = verify(f"{seq}:{'0' * 64}")
    assert "Broken" in forged.text
    assert "anchor_mismatch" in forged.text
    assert verify("not an anchor").status_code == 422


def test_every_compliance_page_renders_with_its_section_marked(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "cora", Role.COMPLIANCE)
    officer = signed_in(browsers, "cora")
    for path in (
        "/compliance",
        "/compliance/attempts",
        "/compliance/holds",
        "/compliance/audit",
        "/compliance/reports",
    ):
        page = officer.http.get(path)
        assert page.status_code == 200, path
        assert f'<a href="{path}" aria-current="page">' in page.text
