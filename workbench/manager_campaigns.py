"""Campaigns: the database side shared by the manager's pages and the JSON API.

Every write checks the viewer's client scope, validates through `campaigns.campaign_settings` and
`campaigns.lifecycle`, and is audited in its own transaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.campaign_settings import (
    RETRYABLE_OUTCOMES,
    CampaignSettings,
    CampaignSpec,
    CampaignSpecError,
    Problem,
    parse_settings,
)
from campaigns.lifecycle import CampaignAction, Readiness, Refused, can_edit, transition
from campaigns.models import CallList, Campaign, CampaignList, CampaignStatus
from compliance import audit
from infra.models import Client
from workbench.viewer import ClientScope, Viewer


@dataclasses.dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    client: Client
    list_ids: tuple[int, ...]


def campaign_rows(db: Session, scope: ClientScope, campaign_id: int | None = None) -> list[CampaignRow]:
    query = (
        sa.select(Campaign, Client)
        .join(Client, Client.id == Campaign.client_id)
        .where(scope.filter(Campaign.client_id))
        .order_by(Client.name, Campaign.name)
    )
    if campaign_id is not None:
        query = query.where(Campaign.id == campaign_id)
    pairs = db.execute(query).all()
    lists: dict[int, list[int]] = {}
    ids = [campaign.id for campaign, _ in pairs]
    for campaign_key, list_id in db.execute(
        sa.select(CampaignList.campaign_id, CampaignList.list_id)
        .where(CampaignList.campaign_id.in_(ids))
        .order_by(CampaignList.list_id)
    ):
        lists.setdefault(campaign_key, []).append(list_id)
    return [CampaignRow(campaign, client, tuple(lists.get(campaign.id, ()))) for campaign, client in pairs]


def campaign_row(db: Session, scope: ClientScope, campaign_id: int) -> CampaignRow | None:
    rows = campaign_rows(db, scope, campaign_id)
    return rows[0] if rows else None


def stored_settings(campaign: Campaign) -> CampaignSettings:
    """The campaign's settings; anything stored before a schema change falls back to defaults."""
    try:
        return parse_settings(campaign.settings or {})
    except CampaignSpecError:
        return CampaignSettings()


def campaign_json(row: CampaignRow) -> dict[str, Any]:
    campaign = row.campaign
    return {
        "id": campaign.id,
        "client_id": campaign.client_id,
        "client_code": row.client.code,
        "name": campaign.name,
        "status": campaign.status.value,
        "dial_mode": campaign.dial_mode.value,
        "caller_id": campaign.caller_id,
        "trunk": campaign.trunk,
        "list_ids": list(row.list_ids),
        "settings": stored_settings(campaign).to_json(),
        "created_at": campaign.created_at.isoformat(),
        "updated_at": campaign.updated_at.isoformat(),
    }


def spec_json(spec: CampaignSpec, list_ids: tuple[int, ...]) -> dict[str, Any]:
    return {
        "name": spec.name,
        "dial_mode": spec.dial_mode.value,
        "caller_id": spec.caller_id,
        "trunk": spec.trunk,
        "list_ids": list(list_ids),
        "settings": spec.settings.to_json(),
    }


def lists_of_client(db: Session, client_id: int) -> list[CallList]:
    return list(
        db.scalars(sa.select(CallList).where(CallList.client_id == client_id).order_by(CallList.name))
    )


def _check(
    db: Session, client_id: int, spec: CampaignSpec, list_ids: tuple[int, ...], own_id: int | None
) -> list[Problem]:
    problems: list[Problem] = []
    clash = db.scalar(
        sa.select(Campaign.id).where(
            Campaign.client_id == client_id, Campaign.name == spec.name, Campaign.id != (own_id or 0)
        )
    )
    if clash is not None:
        problems.append(("name", "another campaign of this client has this name"))
    known = {call_list.id for call_list in lists_of_client(db, client_id)}
    problems.extend(
        (f"list_ids[{index}]", "no call list of this client has this id")
        for index, list_id in enumerate(list_ids)
        if list_id not in known
    )
    return problems


def _apply(campaign: Campaign, spec: CampaignSpec) -> None:
    campaign.name = spec.name
    campaign.dial_mode = spec.dial_mode
    campaign.caller_id = spec.caller_id
    campaign.trunk = spec.trunk
    campaign.settings = spec.settings.to_json()


def _set_lists(db: Session, campaign_id: int, list_ids: tuple[int, ...]) -> None:
    db.execute(sa.delete(CampaignList).where(CampaignList.campaign_id == campaign_id))
    db.add_all(CampaignList(campaign_id=campaign_id, list_id=list_id) for list_id in sorted(set(list_ids)))


def create_campaign(
    db: Session, viewer: Viewer, client_id: int, spec: CampaignSpec, list_ids: tuple[int, ...]
) -> Campaign | list[Problem]:
    if not viewer.scope.allows(client_id) or db.get(Client, client_id) is None:
        return [("client_id", "not one of your clients")]
    problems = _check(db, client_id, spec, list_ids, None)
    if problems:
        return problems
    campaign = Campaign(client_id=client_id, status=CampaignStatus.DRAFT, created_by=viewer.user_id)
    _apply(campaign, spec)
    db.add(campaign)
    db.flush()
    _set_lists(db, campaign.id, list_ids)
    audit.record(
        db,
        actor=viewer.actor,
        action="campaign.create",
        entity_type="campaign",
        entity_id=str(campaign.id),
        payload=spec_json(spec, list_ids),
        client_id=client_id,
    )
    return campaign


def update_campaign(
    db: Session, viewer: Viewer, row: CampaignRow, spec: CampaignSpec, list_ids: tuple[int, ...]
) -> list[Problem]:
    campaign = row.campaign
    if not can_edit(campaign.status):
        return [("status", "a stopped campaign cannot be changed")]
    problems = _check(db, campaign.client_id, spec, list_ids, campaign.id)
    if problems:
        return problems
    before = campaign_json(row)
    _apply(campaign, spec)
    _set_lists(db, campaign.id, list_ids)
    audit.record(
        db,
        actor=viewer.actor,
        action="campaign.update",
        entity_type="campaign",
        entity_id=str(campaign.id),
        payload={
            "before": {
                key: before[key]
                for key in ("name", "dial_mode", "caller_id", "trunk", "list_ids", "settings")
            },
            "after": spec_json(spec, list_ids),
        },
        client_id=campaign.client_id,
    )
    return []


def change_status(
    db: Session, viewer: Viewer, row: CampaignRow, action: CampaignAction
) -> CampaignStatus | Refused:
    campaign = row.campaign
    readiness = Readiness(campaign.caller_id, campaign.trunk, len(row.list_ids))
    result = transition(campaign.status, action, readiness)
    if isinstance(result, Refused):
        return result
    before = campaign.status
    campaign.status = result
    audit.record(
        db,
        actor=viewer.actor,
        action=f"campaign.{action.value}",
        entity_type="campaign",
        entity_id=str(campaign.id),
        payload={"from": before.value, "to": result.value},
        client_id=campaign.client_id,
    )
    return result


def form_values(spec: CampaignSpec | None, settings: CampaignSettings) -> dict[str, str]:
    """The editor's field texts for a stored campaign (or a new one when `spec` is None)."""
    values = {
        "name": spec.name if spec else "",
        "dial_mode": spec.dial_mode.value if spec else "preview",
        "caller_id": (spec.caller_id or "") if spec else "",
        "trunk": (spec.trunk or "") if spec else "",
        "settings.schedule.start": settings.schedule.start,
        "settings.schedule.end": settings.schedule.end,
        "settings.wrap_up_seconds": str(settings.wrap_up_seconds),
        "settings.pacing.abandon_target_percent": str(settings.pacing.abandon_target_percent),
        "settings.pacing.max_dial_ratio": str(settings.pacing.max_dial_ratio),
        "settings.pacing.ring_timeout_seconds": str(settings.pacing.ring_timeout_seconds),
        "settings.machine_action": settings.machine_action.value,
        "settings.machine_message": settings.machine_message or "",
    }
    for outcome in RETRYABLE_OUTCOMES:
        rule = settings.retry_rule(outcome)
        assert rule is not None
        prefix = f"settings.retry_rules.{outcome.value}"
        values[f"{prefix}.retry_after_minutes"] = str(rule.retry_after_minutes)
        values[f"{prefix}.max_attempts"] = str(rule.max_attempts)
    return values


def spec_of(campaign: Campaign) -> CampaignSpec:
    return CampaignSpec(
        campaign.name, campaign.dial_mode, campaign.caller_id, campaign.trunk, stored_settings(campaign)
    )
