"""The JSON API: campaigns, call lists and imports, attempts with their gate decisions, persons
and debts (read-only), and the compliance check.

Routes are declared with the same guards as the pages (role, client scope, CSRF token on every
write, read from the database on each request); only the refusals are turned into JSON. Callers
authenticate with the session cookie of a sign-in and send the session's CSRF token, from
`GET /api/me`, in the X-CSRF-Token header of every write.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from campaigns.campaign_settings import CampaignSpec, CampaignSpecError, Problem, parse_campaign
from campaigns.lifecycle import CampaignAction, Refused
from campaigns.models import CallList, Debt, ImportRun, Person, Phone
from compliance.policy import DEFAULT_POLICY, CaseError, UnknownPolicyError, evaluate, load_policy, parse_case
from infra.models import Role
from workbench.api_schema import openapi_document
from workbench.compliance_console_attempts import (
    QueryError,
    attempt_json,
    attempt_row,
    parse_query,
    search_attempts,
)
from workbench.compliance_console_holds import find_people
from workbench.manager_campaigns import (
    campaign_json,
    campaign_row,
    campaign_rows,
    change_status,
    create_campaign,
    update_campaign,
)
from workbench.manager_lists import import_run, import_runs, list_rows
from workbench.security import ALL_ROLES, GuardedRoute, route
from workbench.services import services_of
from workbench.viewer import Viewer

MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})
READERS = frozenset({Role.MANAGER, Role.ADMIN, Role.COMPLIANCE})
CHECKERS = frozenset({Role.COMPLIANCE, Role.MANAGER})
MAX_BODY_BYTES = 1024 * 1024
REFUSALS = {
    303: (401, "Sign in first: the API uses the session of a signed-in user."),
    401: (401, "Sign in first: the API uses the session of a signed-in user."),
    403: (403, "Your role, your clients or the CSRF token do not allow this request."),
}


def problems_response(problems: list[Problem], status_code: int = 422) -> JSONResponse:
    return JSONResponse(
        {
            "error": "invalid request",
            "problems": [{"path": path, "message": message} for path, message in problems],
        },
        status_code=status_code,
    )


def error_response(message: str, status_code: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


def _json_refusals(app: ASGIApp) -> ASGIApp:
    """The guard answers refusals with pages and sign-in redirects; API callers get JSON."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        replaced = False

        async def send_json(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] in REFUSALS:
                replaced = True
                status, text = REFUSALS[message["status"]]
                await JSONResponse({"error": text}, status_code=status)(scope, receive, send)
                return
            if not replaced:
                await send(message)

        await app(scope, receive, send_json)

    return wrapped


def api_route(
    path: str,
    endpoint: Callable[[Request, Viewer], Awaitable[Response]],
    *,
    roles: frozenset[Role],
    methods: tuple[str, ...] = ("GET",),
) -> GuardedRoute:
    guarded = route(path, endpoint, roles=roles, methods=methods)
    guarded.app = _json_refusals(guarded.app)
    return guarded


async def _body(request: Request) -> tuple[Any, list[Problem]]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return None, [("$", f"the body is larger than {MAX_BODY_BYTES} bytes")]
    try:
        return json.loads(raw), []
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return None, [("$", f"not valid JSON: {error}")]


def _campaign_input(document: Any) -> tuple[CampaignSpec | None, int | None, tuple[int, ...], list[Problem]]:
    """The API's campaign body: the campaign document plus `client_id` and `list_ids`."""
    if not isinstance(document, dict):
        return None, None, (), [("$", "must be an object")]
    body = dict(document)
    client_id = body.pop("client_id", None)
    list_ids = body.pop("list_ids", [])
    problems: list[Problem] = []
    if not isinstance(list_ids, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in list_ids
    ):
        problems.append(("list_ids", "must be a list of call list ids"))
        list_ids = []
    if client_id is not None and (not isinstance(client_id, int) or isinstance(client_id, bool)):
        problems.append(("client_id", "must be a client id"))
        client_id = None
    spec = None
    try:
        spec = parse_campaign(body)
    except CampaignSpecError as error:
        problems = error.problems + problems
    return spec, client_id, tuple(list_ids), problems


async def me(request: Request, viewer: Viewer) -> Response:
    return JSONResponse(
        {
            "id": viewer.user_id,
            "username": viewer.username,
            "display_name": viewer.display_name,
            "role": viewer.role.value,
            "client_ids": None if viewer.scope.client_ids is None else sorted(viewer.scope.client_ids),
            "csrf_token": viewer.session.csrf_token,
        }
    )


async def list_campaigns(request: Request, viewer: Viewer) -> Response:
    rows = await services_of(request).run_db(lambda db: campaign_rows(db, viewer.scope))
    return JSONResponse({"campaigns": [campaign_json(row) for row in rows]})


async def get_campaign(request: Request, viewer: Viewer) -> Response:
    campaign_id: int = request.path_params["campaign_id"]
    row = await services_of(request).run_db(lambda db: campaign_row(db, viewer.scope, campaign_id))
    return error_response("no such campaign", 404) if row is None else JSONResponse(campaign_json(row))


async def post_campaign(request: Request, viewer: Viewer) -> Response:
    document, problems = await _body(request)
    spec, client_id, list_ids, found = _campaign_input(document) if not problems else (None, None, (), [])
    problems += found
    if client_id is None and not problems:
        problems.append(("client_id", "name the client the campaign is for"))
    if problems or spec is None or client_id is None:
        return problems_response(problems)

    def save(db: Session) -> dict[str, Any] | list[Problem]:
        result = create_campaign(db, viewer, client_id, spec, list_ids)
        if isinstance(result, list):
            return result
        row = campaign_row(db, viewer.scope, result.id)
        assert row is not None
        return campaign_json(row)

    outcome = await services_of(request).run_db(save)
    if isinstance(outcome, list):
        return problems_response(outcome)
    return JSONResponse(outcome, status_code=201, headers={"Location": f"/api/campaigns/{outcome['id']}"})


async def put_campaign(request: Request, viewer: Viewer) -> Response:
    campaign_id: int = request.path_params["campaign_id"]
    document, problems = await _body(request)
    spec, client_id, list_ids, found = _campaign_input(document) if not problems else (None, None, (), [])
    problems += found
    if problems or spec is None:
        return problems_response(problems)

    def save(db: Session) -> dict[str, Any] | list[Problem] | None:
        row = campaign_row(db, viewer.scope, campaign_id)
        if row is None:
            return None
        if client_id is not None and client_id != row.campaign.client_id:
            return [("client_id", "a campaign cannot move to another client")]
        errors = update_campaign(db, viewer, row, spec, list_ids)
        if errors:
            return errors
        updated = campaign_row(db, viewer.scope, campaign_id)
        assert updated is not None
        return campaign_json(updated)

    outcome = await services_of(request).run_db(save)
    if outcome is None:
        return error_response("no such campaign", 404)
    if isinstance(outcome, list):
        return problems_response(outcome, 409 if outcome[0][0] == "status" else 422)
    return JSONResponse(outcome)


async def campaign_action(request: Request, viewer: Viewer) -> Response:
    campaign_id: int = request.path_params["campaign_id"]
    try:
        action = CampaignAction(request.path_params["action"])
    except ValueError:
        return error_response("the action is start, pause or stop", 404)

    def save(db: Session) -> dict[str, Any] | str | None:
        row = campaign_row(db, viewer.scope, campaign_id)
        if row is None:
            return None
        result = change_status(db, viewer, row, action)
        if isinstance(result, Refused):
            return result.reason
        return campaign_json(row)

    outcome = await services_of(request).run_db(save)
    if outcome is None:
        return error_response("no such campaign", 404)
    if isinstance(outcome, str):
        return error_response(outcome, 409)
    return JSONResponse(outcome)


def _list_json(call_list: CallList, members: int) -> dict[str, Any]:
    return {
        "id": call_list.id,
        "client_id": call_list.client_id,
        "name": call_list.name,
        "accounts": members,
        "created_at": call_list.created_at.isoformat(),
    }


def _run_json(run: ImportRun, *, rejects: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": run.id,
        "client_id": run.client_id,
        "list_id": run.list_id,
        "file_name": run.file_name,
        "file_sha256": run.file_sha256,
        "status": run.status,
        "rows_read": run.rows_read,
        "debts_created": run.debts_created,
        "debts_updated": run.debts_updated,
        "debts_unchanged": run.debts_unchanged,
        "rows_rejected": run.rows_rejected,
        "people_merged": run.people_merged,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    if rejects:
        data["rejects"] = run.rejects
    return data


async def get_lists(request: Request, viewer: Viewer) -> Response:
    rows = await services_of(request).run_db(lambda db: list_rows(db, viewer.scope))
    return JSONResponse({"lists": [_list_json(row.call_list, row.members) for row in rows]})


async def get_imports(request: Request, viewer: Viewer) -> Response:
    runs = await services_of(request).run_db(lambda db: import_runs(db, viewer.scope, limit=100))
    return JSONResponse({"imports": [_run_json(run, rejects=False) for run, _ in runs]})


async def get_import(request: Request, viewer: Viewer) -> Response:
    run_id: int = request.path_params["run_id"]
    found = await services_of(request).run_db(lambda db: import_run(db, viewer.scope, run_id))
    return (
        error_response("no such import", 404)
        if found is None
        else JSONResponse(_run_json(found[0], rejects=True))
    )


async def get_attempts(request: Request, viewer: Viewer) -> Response:
    try:
        query = parse_query(dict(request.query_params))
    except QueryError as error:
        return problems_response(error.problems)
    rows = await services_of(request).run_db(lambda db: search_attempts(db, viewer.scope, query))
    return JSONResponse({"attempts": [attempt_json(row) for row in rows]})


async def get_attempt(request: Request, viewer: Viewer) -> Response:
    attempt_id: int = request.path_params["attempt_id"]
    row = await services_of(request).run_db(lambda db: attempt_row(db, viewer.scope, attempt_id))
    return error_response("no such attempt", 404) if row is None else JSONResponse(attempt_json(row))


def _debt_json(debt: Debt) -> dict[str, Any]:
    return {
        "id": debt.id,
        "client_id": debt.client_id,
        "person_id": debt.person_id,
        "account_ref": debt.account_ref,
        "original_creditor": debt.original_creditor,
        "kind": debt.kind.value,
        "status": debt.status.value,
        "currency": debt.currency,
        "principal_minor": debt.principal_minor,
        "interest_minor": debt.interest_minor,
        "fees_minor": debt.fees_minor,
        "balance_minor": debt.placed_balance_minor,
        "placed_on": debt.placed_on.isoformat() if debt.placed_on else None,
    }


def _person_json(db: Session, person: Person) -> dict[str, Any]:
    debts = db.scalars(sa.select(Debt).where(Debt.person_id == person.id).order_by(Debt.account_ref))
    phones = db.scalars(sa.select(Phone).where(Phone.person_id == person.id).order_by(Phone.id))
    return {
        "id": person.id,
        "client_id": person.client_id,
        "person_ref": person.person_ref,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "debts": [_debt_json(debt) for debt in debts],
        "phones": [
            {
                "number": phone.number,
                "type": phone.type.value,
                "status": phone.status.value,
                "autodial_consent": phone.consent_given_at is not None and phone.consent_revoked_at is None,
            }
            for phone in phones
        ],
    }


async def get_persons(request: Request, viewer: Viewer) -> Response:
    text = request.query_params.get("find", "").strip()[:100]
    if not text:
        return problems_response([("find", "give a person reference, account reference or phone number")])

    def load(db: Session) -> list[dict[str, Any]]:
        return [_person_json(db, person) for person in find_people(db, viewer.scope, text)]

    return JSONResponse({"persons": await services_of(request).run_db(load)})


async def get_person(request: Request, viewer: Viewer) -> Response:
    person_id: int = request.path_params["person_id"]

    def load(db: Session) -> dict[str, Any] | None:
        person = db.scalar(
            sa.select(Person).where(Person.id == person_id, viewer.scope.filter(Person.client_id))
        )
        return None if person is None else _person_json(db, person)

    found = await services_of(request).run_db(load)
    return error_response("no such person", 404) if found is None else JSONResponse(found)


async def get_debt(request: Request, viewer: Viewer) -> Response:
    debt_id: int = request.path_params["debt_id"]
    debt = await services_of(request).run_db(
        lambda db: db.scalar(sa.select(Debt).where(Debt.id == debt_id, viewer.scope.filter(Debt.client_id)))
    )
    return error_response("no such debt", 404) if debt is None else JSONResponse(_debt_json(debt))


async def compliance_check(request: Request, viewer: Viewer) -> Response:
    """The compliance-check contract over HTTP: the verdict, or 422 naming each bad field."""
    document, problems = await _body(request)
    if problems:
        return problems_response(problems)
    try:
        case = parse_case(document)
    except CaseError as error:
        return problems_response(error.problems)
    try:
        policy = load_policy(case.policy or services_of(request).settings.policy or DEFAULT_POLICY)
    except UnknownPolicyError as error:
        return problems_response([("policy", str(error))])
    return JSONResponse(evaluate(case, policy).to_json())


async def openapi(request: Request, viewer: Viewer) -> Response:
    return JSONResponse(openapi_document())


def api_routes() -> list[BaseRoute]:
    return [
        api_route("/api/openapi.json", openapi, roles=ALL_ROLES),
        api_route("/api/me", me, roles=ALL_ROLES),
        api_route("/api/campaigns", list_campaigns, roles=READERS),
        api_route("/api/campaigns", post_campaign, roles=MANAGERS, methods=("POST",)),
        api_route("/api/campaigns/{campaign_id:int}", get_campaign, roles=READERS),
        api_route("/api/campaigns/{campaign_id:int}", put_campaign, roles=MANAGERS, methods=("PUT",)),
        api_route(
            "/api/campaigns/{campaign_id:int}/{action}", campaign_action, roles=MANAGERS, methods=("POST",)
        ),
        api_route("/api/lists", get_lists, roles=MANAGERS),
        api_route("/api/imports", get_imports, roles=MANAGERS),
        api_route("/api/imports/{run_id:int}", get_import, roles=MANAGERS),
        api_route("/api/attempts", get_attempts, roles=READERS),
        api_route("/api/attempts/{attempt_id:int}", get_attempt, roles=READERS),
        api_route("/api/persons", get_persons, roles=READERS),
        api_route("/api/persons/{person_id:int}", get_person, roles=READERS),
        api_route("/api/debts/{debt_id:int}", get_debt, roles=READERS),
        api_route("/api/compliance/check", compliance_check, roles=CHECKERS, methods=("POST",)),
    ]
