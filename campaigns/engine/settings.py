"""A campaign's settings as the engine reads them from `Campaign.settings`. Pure.

The document is the one the manager console writes (schedule, retry_rules, wrap_up_seconds,
pacing, machine_action, machine_message), plus an optional `engine` object for what only the
engine uses:

```jsonc
"engine": {
  "pacer": "predictive",           // progressive | predictive | ratio; default from the dial mode
  "pacer_params": {},              // passed to dialer.pacing.make_pacer
  "amd": true,                     // screen answers for machines before routing to agents
  "safe_harbour_text": "...",
  "give_up_after_s": 1.8,          // start the safe-harbour message this long after a live answer
  "expected_talk_s": 180, "expected_wrap_s": 30, "expected_answer_rate": 0.25,
  "strategy": "balance",           // balance | aging | last_contact
  "hopper_size": 200,
  "max_attempts": 8                // per person, every outcome together
}
```
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from campaigns.engine.schedule import CallingSchedule
from campaigns.models import DialMode
from campaigns.retry import DEFAULT_MAX_ATTEMPTS, RetryRules
from dialer.pacing import PACERS

# The Telemarketing Sales Rule safe harbour allows 2 s from the person's greeting to a live
# agent or the recorded message (16 CFR 310.4(b)(4)(i)); starting the message a little earlier
# leaves room for the command to reach the SIP worker.
CONNECT_DEADLINE_S = 2.0
DEFAULT_GIVE_UP_AFTER_S = 1.8
MIN_RING_TIMEOUT_S = 15.0

DEFAULT_SAFE_HARBOUR = (
    "Sorry we missed you. This call was from Arrears Services. "
    "Please call us back at 5 5 5, 0 1 0 0. To stop these calls, press 9 now."
)
# A limited-content message (12 CFR 1006.2(j)): business name, a request to reply, a number.
DEFAULT_VOICEMAIL = (
    "Hello, this is Jordan Lee from Arrears Services. Please call us back at 5 5 5, 0 1 0 0. Thank you."
)


class CampaignSettingsError(ValueError):
    """Campaign settings the engine cannot run with."""


class MachineAction(enum.StrEnum):
    HANG_UP = "hang_up"
    LEAVE_MESSAGE = "leave_message"


class Strategy(enum.StrEnum):
    BALANCE = "balance"  # largest balance first
    AGING = "aging"  # oldest charge-off or placement first
    LAST_CONTACT = "last_contact"  # least recently called first


_PACER_FOR_MODE = {DialMode.PREDICTIVE: "predictive", DialMode.PROGRESSIVE: "progressive"}
_DOCUMENT_KEYS = frozenset(
    {"schedule", "retry_rules", "wrap_up_seconds", "pacing", "machine_action", "machine_message", "engine"}
)
_PACING_KEYS = frozenset({"abandon_target_percent", "max_dial_ratio", "ring_timeout_seconds"})
_ENGINE_KEYS = frozenset(
    {
        "pacer",
        "pacer_params",
        "amd",
        "safe_harbour_text",
        "give_up_after_s",
        "expected_talk_s",
        "expected_wrap_s",
        "expected_answer_rate",
        "strategy",
        "hopper_size",
        "max_attempts",
    }
)


@dataclasses.dataclass(frozen=True)
class EngineSettings:
    pacer: str = "predictive"
    pacer_params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    abandon_target: float = 0.025
    max_dial_ratio: float = 2.0  # calls in flight per working agent, at most
    ring_timeout_s: float = 25.0
    amd: bool = True
    machine: MachineAction = MachineAction.HANG_UP
    voicemail_text: str = DEFAULT_VOICEMAIL
    safe_harbour_text: str = DEFAULT_SAFE_HARBOUR
    give_up_after_s: float = DEFAULT_GIVE_UP_AFTER_S
    expected_talk_s: float = 180.0
    expected_wrap_s: float = 30.0
    expected_answer_rate: float = 0.25
    strategy: Strategy = Strategy.BALANCE
    hopper_size: int = 200
    schedule: CallingSchedule = dataclasses.field(default_factory=CallingSchedule)
    retry: RetryRules = dataclasses.field(default_factory=RetryRules)

    def __post_init__(self) -> None:
        if self.pacer not in PACERS:
            raise CampaignSettingsError(f"unknown pacer {self.pacer!r}; known: {', '.join(PACERS)}")
        if not 0 < self.abandon_target <= 0.03:
            raise CampaignSettingsError("the abandon target must be above 0 and at most 3 %")
        if self.max_dial_ratio < 1:
            raise CampaignSettingsError("max_dial_ratio must be at least 1")
        if self.ring_timeout_s < MIN_RING_TIMEOUT_S:
            raise CampaignSettingsError(f"calls must ring at least {MIN_RING_TIMEOUT_S:g} s")
        if not 0 < self.give_up_after_s <= CONNECT_DEADLINE_S:
            raise CampaignSettingsError(f"give_up_after_s must be in (0, {CONNECT_DEADLINE_S:g}]")
        if self.expected_talk_s <= 0 or self.expected_wrap_s <= 0:
            raise CampaignSettingsError("expected talk and wrap times must be positive")
        if not 0 < self.expected_answer_rate <= 1:
            raise CampaignSettingsError("expected_answer_rate must be in (0, 1]")
        if self.hopper_size < 1:
            raise CampaignSettingsError("hopper_size must be at least 1")
        if not self.safe_harbour_text.strip() or not self.voicemail_text.strip():
            raise CampaignSettingsError("the safe-harbour and voicemail messages need words")


def _only(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise CampaignSettingsError(f"unknown {where} settings: {', '.join(sorted(unknown))}")


def _mapping(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, Mapping):
        raise CampaignSettingsError(f"{key} must be an object")
    return value


def engine_settings(raw: Mapping[str, Any], dial_mode: DialMode) -> EngineSettings:
    """Validate a campaign's settings document for the engine."""
    if dial_mode is DialMode.PREVIEW:
        raise CampaignSettingsError("preview campaigns are dialled by agents, not by the engine")
    _only(raw, _DOCUMENT_KEYS, "campaign")
    pacing, engine = _mapping(raw, "pacing"), _mapping(raw, "engine")
    _only(pacing, _PACING_KEYS, "pacing")
    _only(engine, _ENGINE_KEYS, "engine")
    values: dict[str, Any] = {key: engine[key] for key in _ENGINE_KEYS - {"max_attempts"} if key in engine}
    values.setdefault("pacer", _PACER_FOR_MODE[dial_mode])
    try:
        if "abandon_target_percent" in pacing:
            values["abandon_target"] = float(pacing["abandon_target_percent"]) / 100
        if "max_dial_ratio" in pacing:
            values["max_dial_ratio"] = float(pacing["max_dial_ratio"])
        if "ring_timeout_seconds" in pacing:
            values["ring_timeout_s"] = float(pacing["ring_timeout_seconds"])
        if raw.get("machine_action") is not None:
            values["machine"] = MachineAction(raw["machine_action"])
        if raw.get("machine_message"):
            values["voicemail_text"] = str(raw["machine_message"])
        if "strategy" in values:
            values["strategy"] = Strategy(values["strategy"])
        if "schedule" in raw:
            values["schedule"] = CallingSchedule.from_settings(_mapping(raw, "schedule"))
        max_attempts = engine.get("max_attempts", DEFAULT_MAX_ATTEMPTS)
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int):
            raise CampaignSettingsError("engine.max_attempts must be a whole number")
        values["retry"] = RetryRules.from_settings(_mapping(raw, "retry_rules"), max_attempts)
        for name in ("give_up_after_s", "expected_talk_s", "expected_wrap_s", "expected_answer_rate"):
            if name in values:
                values[name] = float(values[name])
        values["pacer_params"] = dict(_mapping(engine, "pacer_params"))
        return EngineSettings(**values)
    except CampaignSettingsError:
        raise
    except (TypeError, ValueError) as error:
        raise CampaignSettingsError(str(error)) from error
