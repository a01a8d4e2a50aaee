"""The JSON API and its OpenAPI description, on the real app and database."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

from campaigns.models import Campaign
from compliance.models import Outcome
from infra.models import Role
from tests.conftest import Database
from tests.workbench.conftest import Browser, add_client, add_user, audit_actions
from tests.workbench.console_fixtures import TUESDAY_10AM, add_account, add_list, place_call
from workbench.api_schema import openapi_document
from workbench.app import build_routes
from workbench.security import GuardedRoute

OpenBrowser = Callable[[], Browser]


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def test_the_openapi_document_describes_exactly_the_api_routes() -> None:
    document = openapi_document()
    described = {
        (method.upper(), path) for path, operations in document["paths"].items() for method in operations
    }
    served = {
        (method, re.sub(r"\{(\w+):int\}", r"{\1}", candidate.path))
        for candidate in build_routes()
        if isinstance(candidate, GuardedRoute) and candidate.path.startswith("/api/")
        for method in candidate.methods or ()
        if method != "HEAD"
    }
    assert described == served
    schemas = document["components"]["schemas"]
    assert all(ref.removeprefix("#/components/schemas/") in schemas for ref in _refs(document))
    json.dumps(document)  # serialisable as served


def _api(browser: Browser, method: str, path: str, body: Any = None) -> Any:
    return browser.http.request(
        method,
        path,
        content=None if body is None else json.dumps(body).encode(),
        headers={"X-CSRF-Token": browser.csrf, "content-type": "application/json"},
    )


def test_campaigns_through_the_api(db: Database, browsers: OpenBrowser) -> None:
    acme = add_client(db, "ACME", "Acme Bank")
    globex = add_client(db, "GLOBEX", "Globex Finance")
    list_id = add_list(db, acme, "June")
    other_list = add_list(db, globex, "Theirs")
    manager_id = add_user(db, "mona", Role.MANAGER, clients=["ACME"])
    add_user(db, "cora", Role.COMPLIANCE, clients=["ACME"])
    manager, officer = browsers(), browsers()
    manager.sign_in("mona")
    officer.sign_in("cora")
    me = manager.http.get("/api/me").json()
    assert (me["role"], me["client_ids"], me["csrf_token"]) == ("manager", [acme], manager.csrf)
    assert manager.http.get("/api/openapi.json").json()["openapi"] == "3.1.0"

    bad = _api(
        manager,
        "POST",
        "/api/campaigns",
        {
            "client_id": acme,
            "name": "Spring",
            "list_ids": [other_list],
            "settings": {"pacing": {"ring_timeout_seconds": 5}, "wrap_up": 30},
        },
    )
    assert bad.status_code == 422
    assert bad.json()["problems"] == [
        {"path": "settings.pacing.ring_timeout_seconds", "message": "must be between 15 and 60"},
        {"path": "settings.wrap_up", "message": "unknown field"},
    ]
    foreign = _api(manager, "POST", "/api/campaigns", {"client_id": globex, "name": "Spring"})
    assert foreign.json()["problems"] == [{"path": "client_id", "message": "not one of your clients"}]
    wrong_list = _api(
        manager, "POST", "/api/campaigns", {"client_id": acme, "name": "Spring", "list_ids": [other_list]}
    )
    assert wrong_list.json()["problems"] == [
        {"path": "list_ids[0]", "message": "no call list of this client has this id"}
    ]

    body = {"client_id": acme, "name": "Spring", "dial_mode": "predictive", "list_ids": [list_id]}
    created = _api(manager, "POST", "/api/campaigns", body)
    assert created.status_code == 201
    campaign = created.json()
    assert (
        campaign["status"],
        campaign["list_ids"],
        campaign["settings"]["pacing"]["abandon_target_percent"],
    ) == (
        "draft",
        [list_id],
        2.5,
    )
    path = created.headers["location"]
    assert _api(manager, "POST", "/api/campaigns", body).json()["problems"][0]["path"] == "name"
    refused = _api(manager, "POST", f"{path}/start")
    assert (refused.status_code, refused.json()["error"]) == (
        409,
        "before starting, set a caller ID; choose a trunk",
    )
    updated = _api(manager, "PUT", path, {**body, "caller_id": "+13125550100", "trunk": "carrier-a"})
    assert updated.json()["caller_id"] == "+13125550100"
    assert _api(manager, "POST", f"{path}/start").json()["status"] == "active"
    assert _api(manager, "POST", f"{path}/launch").status_code == 404

    assert [item["name"] for item in officer.http.get("/api/campaigns").json()["campaigns"]] == ["Spring"]
    assert _api(officer, "POST", f"{path}/pause").status_code == 403  # compliance reads, managers change
    assert _api(manager, "POST", f"{path}/pause", None).status_code == 200
    no_token = manager.http.post(f"{path}/stop")
    assert (no_token.status_code, no_token.headers["content-type"]) == (403, "application/json")
    with db.sessions() as session:
        stored = session.scalars(sa.select(Campaign)).one()
        assert (stored.status.value, stored.created_by) == ("paused", manager_id)
    assert [action for _, action, _ in audit_actions(db) if action.startswith("campaign.")] == [
        "campaign.create",
        "campaign.update",
        "campaign.start",
        "campaign.pause",
    ]


def test_attempts_persons_and_debts_read_through_the_api(db: Database, browsers: OpenBrowser) -> None:
    add_client(db, "ACME", "Acme Bank")
    account = add_account(db, "ACME", 1)
    attempt_id = place_call(db, account, TUESDAY_10AM, Outcome.BUSY)
    add_user(db, "cora", Role.COMPLIANCE, clients=["ACME"])
    officer = browsers()
    officer.sign_in("cora")
    [attempt] = officer.http.get("/api/attempts", params={"account": account.account_ref}).json()["attempts"]
    assert (attempt["id"], attempt["outcome"], attempt["gate_decision"]["allowed"]) == (
        attempt_id,
        "busy",
        True,
    )
    assert officer.http.get("/api/attempts", params={"agent": "x"}).json()["problems"] == [
        {"path": "agent", "message": "must be a whole number"}
    ]
    [person] = officer.http.get("/api/persons", params={"find": account.person_ref}).json()["persons"]
    assert person["debts"][0]["balance_minor"] == 170_000
    assert person["phones"] == [
        {"number": account.number, "type": "mobile", "status": "active", "autodial_consent": True}
    ]
    assert officer.http.get(f"/api/debts/{account.debt_id}").json()["account_ref"] == account.account_ref
    assert officer.http.get("/api/persons").status_code == 422
    assert officer.http.get("/api/lists").status_code == 403
