"""The manager's campaign pages: list, create, edit, start / pause / stop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from campaigns.campaign_settings import (
    RETRYABLE_OUTCOMES,
    WEEKDAYS,
    CampaignSettings,
    CampaignSpecError,
    MachineAction,
    Problem,
    campaign_document_from_form,
    parse_campaign,
)
from campaigns.lifecycle import ACTION_LABELS, CampaignAction, Refused, available_actions, can_edit
from campaigns.models import CallList, DialMode
from compliance.models import Outcome
from infra.models import Client
from workbench.manager_campaigns import (
    CampaignRow,
    campaign_row,
    campaign_rows,
    change_status,
    create_campaign,
    form_values,
    lists_of_client,
    spec_of,
    stored_settings,
    update_campaign,
)
from workbench.manager_http import form_fields, form_text, form_texts, not_found, page
from workbench.services import services_of
from workbench.viewer import Viewer, visible_clients

OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.BUSY: "Busy",
    Outcome.NO_ANSWER: "No answer",
    Outcome.VOICEMAIL: "Voicemail, no message",
    Outcome.VOICEMAIL_MESSAGE_LEFT: "Voicemail, message left",
    Outcome.MACHINE: "Answering machine",
    Outcome.ANSWERED_NO_CONVERSATION: "Answered, no conversation",
    Outcome.ABANDONED: "Abandoned (no agent in time)",
    Outcome.NETWORK_FAILURE: "Network failure",
}
# What the editor calls each field, for the summary of problems; the API reports paths.
FIELD_LABELS: dict[str, str] = {
    "client_id": "Client",
    "name": "Campaign name",
    "dial_mode": "Dial mode",
    "caller_id": "Caller ID",
    "trunk": "Trunk",
    "status": "Status",
    "settings.wrap_up_seconds": "Wrap-up time",
    "settings.schedule.days": "Calling days",
    "settings.schedule.start": "First call at",
    "settings.schedule.end": "Last call by",
    "settings.pacing.abandon_target_percent": "Abandon target",
    "settings.pacing.max_dial_ratio": "Maximum dial ratio",
    "settings.pacing.ring_timeout_seconds": "Ring time",
    "settings.machine_action": "When a machine answers",
    "settings.machine_message": "Limited-content message",
    **{
        f"settings.retry_rules.{outcome.value}.{field}": f"{label}: {text}"
        for outcome, label in OUTCOME_LABELS.items()
        for field, text in (("retry_after_minutes", "retry after"), ("max_attempts", "maximum attempts"))
    },
}
DAY_LABELS = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))


def _editor_context(
    *,
    clients: list[Client],
    lists: list[CallList],
    values: Mapping[str, str],
    days: list[str],
    list_ids: list[int],
    problems: list[Problem],
) -> dict[str, Any]:
    return {
        "clients": clients,
        "lists": lists,
        "values": values,
        "days": days,
        "list_ids": list_ids,
        "errors": dict(problems),
        "problems": [
            (path, FIELD_LABELS.get(path.split("[")[0], path), message) for path, message in problems
        ],
        "list_error": next((message for path, message in problems if path.startswith("list_ids")), ""),
        "dial_modes": list(DialMode),
        "machine_actions": list(MachineAction),
        "retry_outcomes": [(outcome.value, OUTCOME_LABELS[outcome]) for outcome in RETRYABLE_OUTCOMES],
        "day_labels": DAY_LABELS,
    }


async def _campaigns_list(
    request: Request, viewer: Viewer, notice: str = "", status_code: int = 200
) -> Response:
    rows = await services_of(request).run_db(lambda db: campaign_rows(db, viewer.scope))
    return page(
        request,
        viewer,
        "manager/campaigns.html",
        status_code=status_code,
        rows=rows,
        actions={row.campaign.id: available_actions(row.campaign.status) for row in rows},
        action_labels=ACTION_LABELS,
        notice=notice,
    )


async def campaigns_page(request: Request, viewer: Viewer) -> Response:
    return await _campaigns_list(request, viewer)


async def new_campaign_page(request: Request, viewer: Viewer) -> Response:
    def load(db: Session) -> tuple[list[Client], list[CallList]]:
        clients = visible_clients(db, viewer.scope)
        return clients, [item for client in clients for item in lists_of_client(db, client.id)]

    clients, lists = await services_of(request).run_db(load)
    settings = CampaignSettings()
    context = _editor_context(
        clients=clients,
        lists=lists,
        values=form_values(None, settings),
        days=list(settings.schedule.days),
        list_ids=[],
        problems=[],
    )
    return page(request, viewer, "manager/campaign_form.html", row=None, **context)


def _list_ids(texts: list[str]) -> tuple[list[int], list[Problem]]:
    ids, problems = [], []
    for index, text in enumerate(texts):
        if text.isdigit():
            ids.append(int(text))
        else:
            problems.append((f"list_ids[{index}]", "not a call list id"))
    return ids, problems


async def create_campaign_action(request: Request, viewer: Viewer) -> Response:
    form = await request.form()
    fields = form_fields(form)
    days = form_texts(form, "settings.schedule.days")
    list_ids, problems = _list_ids(form_texts(form, "list_ids"))
    client_text = form_text(form, "client_id")
    client_id = int(client_text) if client_text.isdigit() else 0
    try:
        spec = parse_campaign(campaign_document_from_form(fields, days))
    except CampaignSpecError as error:
        problems = error.problems + problems
        spec = None

    def save(db: Session) -> int | list[Problem]:
        if spec is None or problems:
            return problems or [("$", "invalid campaign")]
        result = create_campaign(db, viewer, client_id, spec, tuple(list_ids))
        return result if isinstance(result, list) else result.id

    outcome = await services_of(request).run_db(save)
    if isinstance(outcome, int):
        return RedirectResponse(f"/manager/campaigns/{outcome}?saved=1", status_code=303)

    def load(db: Session) -> tuple[list[Client], list[CallList]]:
        clients = visible_clients(db, viewer.scope)
        return clients, [item for client in clients for item in lists_of_client(db, client.id)]

    clients, lists = await services_of(request).run_db(load)
    context = _editor_context(
        clients=clients,
        lists=lists,
        values={**fields, "client_id": client_text},
        days=days,
        list_ids=list_ids,
        problems=outcome,
    )
    return page(request, viewer, "manager/campaign_form.html", status_code=422, row=None, **context)


async def _row(request: Request, viewer: Viewer) -> tuple[CampaignRow | None, list[CallList]]:
    campaign_id: int = request.path_params["campaign_id"]

    def load(db: Session) -> tuple[CampaignRow | None, list[CallList]]:
        row = campaign_row(db, viewer.scope, campaign_id)
        return row, (lists_of_client(db, row.campaign.client_id) if row else [])

    return await services_of(request).run_db(load)


def _edit_page(
    request: Request,
    viewer: Viewer,
    row: CampaignRow,
    lists: list[CallList],
    *,
    values: Mapping[str, str] | None = None,
    days: list[str] | None = None,
    list_ids: list[int] | None = None,
    problems: list[Problem] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    settings = stored_settings(row.campaign)
    context = _editor_context(
        clients=[row.client],
        lists=lists,
        values=values if values is not None else form_values(spec_of(row.campaign), settings),
        days=days if days is not None else list(settings.schedule.days),
        list_ids=list_ids if list_ids is not None else list(row.list_ids),
        problems=problems or [],
    )
    return page(
        request,
        viewer,
        "manager/campaign_form.html",
        status_code=status_code,
        row=row,
        editable=can_edit(row.campaign.status),
        actions=available_actions(row.campaign.status),
        action_labels=ACTION_LABELS,
        notice=notice,
        **context,
    )


async def campaign_page(request: Request, viewer: Viewer) -> Response:
    row, lists = await _row(request, viewer)
    if row is None:
        return not_found(request, viewer, "campaign")
    notice = "Campaign saved." if request.query_params.get("saved") else ""
    return _edit_page(request, viewer, row, lists, notice=notice)


async def update_campaign_action(request: Request, viewer: Viewer) -> Response:
    form = await request.form()
    fields = form_fields(form)
    days = form_texts(form, "settings.schedule.days")
    list_ids, problems = _list_ids(form_texts(form, "list_ids"))
    campaign_id: int = request.path_params["campaign_id"]
    try:
        spec = parse_campaign(campaign_document_from_form(fields, days))
    except CampaignSpecError as error:
        problems = error.problems + problems
        spec = None

    def save(db: Session) -> tuple[CampaignRow | None, list[CallList], list[Problem]]:
        row = campaign_row(db, viewer.scope, campaign_id)
        if row is None:
            return None, [], []
        found = problems
        if spec is not None and not problems:
            found = update_campaign(db, viewer, row, spec, tuple(list_ids))
        return row, lists_of_client(db, row.campaign.client_id), found

    row, lists, found = await services_of(request).run_db(save)
    if row is None:
        return not_found(request, viewer, "campaign")
    if not found:
        return RedirectResponse(f"/manager/campaigns/{campaign_id}?saved=1", status_code=303)
    return _edit_page(
        request,
        viewer,
        row,
        lists,
        values=fields,
        days=days,
        list_ids=list_ids,
        problems=found,
        status_code=422,
    )


async def campaign_lifecycle_action(request: Request, viewer: Viewer) -> Response:
    form = await request.form()
    campaign_id: int = request.path_params["campaign_id"]
    try:
        action = CampaignAction(form_text(form, "action"))
    except ValueError:
        action = None

    def save(db: Session) -> tuple[CampaignRow | None, list[CallList], str, bool]:
        row = campaign_row(db, viewer.scope, campaign_id)
        if row is None:
            return None, [], "", False
        lists = lists_of_client(db, row.campaign.client_id)
        if action is None:
            return row, lists, "Choose start, pause or stop.", False
        result = change_status(db, viewer, row, action)
        if isinstance(result, Refused):
            return row, lists, f"{row.campaign.name}: {result.reason}.", False
        return row, lists, f"{row.campaign.name} is now {result.value}.", True

    row, lists, message, done = await services_of(request).run_db(save)
    if row is None:
        return not_found(request, viewer, "campaign")
    status_code = 200 if done else 409
    if form_text(form, "back") == "campaign":
        return _edit_page(request, viewer, row, lists, notice=message, status_code=status_code)
    return await _campaigns_list(request, viewer, message, status_code)
