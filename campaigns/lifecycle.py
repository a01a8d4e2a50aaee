"""A campaign's lifecycle: draft → active ⇄ paused → stopped. Pure; no I/O.

Stopped is final: a stopped campaign keeps its history for reporting and is cloned, not
restarted. A campaign starts only when it can dial: a caller ID to present, a trunk to dial out
on and at least one call list.
"""

from __future__ import annotations

import dataclasses
import enum

from campaigns.models import CampaignStatus


class CampaignAction(enum.StrEnum):
    START = "start"
    PAUSE = "pause"
    STOP = "stop"


ACTION_LABELS: dict[CampaignAction, str] = {
    CampaignAction.START: "Start",
    CampaignAction.PAUSE: "Pause",
    CampaignAction.STOP: "Stop",
}

_NEXT: dict[tuple[CampaignStatus, CampaignAction], CampaignStatus] = {
    (CampaignStatus.DRAFT, CampaignAction.START): CampaignStatus.ACTIVE,
    (CampaignStatus.DRAFT, CampaignAction.STOP): CampaignStatus.STOPPED,
    (CampaignStatus.ACTIVE, CampaignAction.PAUSE): CampaignStatus.PAUSED,
    (CampaignStatus.ACTIVE, CampaignAction.STOP): CampaignStatus.STOPPED,
    (CampaignStatus.PAUSED, CampaignAction.START): CampaignStatus.ACTIVE,
    (CampaignStatus.PAUSED, CampaignAction.STOP): CampaignStatus.STOPPED,
}


@dataclasses.dataclass(frozen=True)
class Readiness:
    """What starting needs to know about the campaign."""

    caller_id: str | None
    trunk: str | None
    list_count: int

    def problems(self) -> list[str]:
        missing = []
        if not self.caller_id:
            missing.append("set a caller ID")
        if not self.trunk:
            missing.append("choose a trunk")
        if self.list_count == 0:
            missing.append("attach at least one call list")
        return missing


@dataclasses.dataclass(frozen=True)
class Refused:
    reason: str


def transition(
    status: CampaignStatus, action: CampaignAction, readiness: Readiness
) -> CampaignStatus | Refused:
    """The status after `action`, or why it is refused."""
    target = _NEXT.get((status, action))
    if target is None:
        return Refused(f"a {status.value} campaign cannot {action.value}")
    if target is CampaignStatus.ACTIVE:
        missing = readiness.problems()
        if missing:
            return Refused("before starting, " + "; ".join(missing))
    return target


def available_actions(status: CampaignStatus) -> tuple[CampaignAction, ...]:
    return tuple(action for action in CampaignAction if (status, action) in _NEXT)


def can_edit(status: CampaignStatus) -> bool:
    return status is not CampaignStatus.STOPPED
