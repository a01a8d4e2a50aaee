"""What a campaign is made of, read strictly from JSON or a form. Pure; no I/O.

`parse_campaign` turns a document (the JSON API's body, or a form converted by
`campaign_document_from_form`) into a `CampaignSpec`, or raises `CampaignSpecError` listing every
bad field by its path ("settings.pacing.abandon_target_percent"), so a manager sees each mistake
at once. Unknown fields are refused: a misspelt setting must not fall back to a default silently.
Missing settings take the defaults below, so `{}` is a complete, conservative settings object.

The calling schedule narrows when the dialer may call; it never widens the legal hours, which the
compliance gate applies to every call whatever a campaign says.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from campaigns.models import DialMode
from compliance.models import Outcome

Problem = tuple[str, str]
T = TypeVar("T")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
E164 = re.compile(r"\+[1-9]\d{6,14}")
TRUNK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
# The abandonment ceiling of the TSR safe harbour (16 CFR 310.4(b)(4)(i)): 3 % of live answers.
ABANDON_CEILING_PERCENT = 3.0
# A call must ring at least 15 seconds before the dialer gives up (same safe harbour).
MIN_RING_SECONDS = 15
NAME_LIMIT = 200

# Outcomes after which the dialer may try the number again; the others end with the number.
RETRYABLE_OUTCOMES = (
    Outcome.BUSY,
    Outcome.NO_ANSWER,
    Outcome.VOICEMAIL,
    Outcome.VOICEMAIL_MESSAGE_LEFT,
    Outcome.MACHINE,
    Outcome.ANSWERED_NO_CONVERSATION,
    Outcome.ABANDONED,
    Outcome.NETWORK_FAILURE,
)


class MachineAction(enum.StrEnum):
    HANG_UP = "hang_up"
    LEAVE_MESSAGE = "leave_message"  # a limited-content message (12 CFR 1006.2(j)) only


class CampaignSpecError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Days and hours of calling, in each person's own local time."""

    days: tuple[str, ...] = WEEKDAYS[:6]
    start: str = "09:00"
    end: str = "20:00"


@dataclasses.dataclass(frozen=True)
class RetryRule:
    retry_after_minutes: int
    max_attempts: int


DEFAULT_RETRY_RULES: dict[Outcome, RetryRule] = {
    Outcome.BUSY: RetryRule(30, 3),
    Outcome.NO_ANSWER: RetryRule(240, 3),
    Outcome.VOICEMAIL: RetryRule(24 * 60, 2),
    Outcome.VOICEMAIL_MESSAGE_LEFT: RetryRule(48 * 60, 1),
    Outcome.MACHINE: RetryRule(24 * 60, 2),
    Outcome.ANSWERED_NO_CONVERSATION: RetryRule(24 * 60, 2),
    Outcome.ABANDONED: RetryRule(60, 2),
    Outcome.NETWORK_FAILURE: RetryRule(15, 2),
}


@dataclasses.dataclass(frozen=True)
class Pacing:
    abandon_target_percent: float = 2.5
    max_dial_ratio: float = 2.0
    ring_timeout_seconds: int = 25


@dataclasses.dataclass(frozen=True)
class CampaignSettings:
    schedule: Schedule = Schedule()
    retry_rules: tuple[tuple[Outcome, RetryRule], ...] = tuple(DEFAULT_RETRY_RULES.items())
    wrap_up_seconds: int = 60
    pacing: Pacing = Pacing()
    machine_action: MachineAction = MachineAction.HANG_UP
    machine_message: str | None = None

    def retry_rule(self, outcome: Outcome) -> RetryRule | None:
        return dict(self.retry_rules).get(outcome)

    def to_json(self) -> dict[str, Any]:
        return {
            "schedule": {
                "days": list(self.schedule.days),
                "start": self.schedule.start,
                "end": self.schedule.end,
            },
            "retry_rules": {outcome.value: dataclasses.asdict(rule) for outcome, rule in self.retry_rules},
            "wrap_up_seconds": self.wrap_up_seconds,
            "pacing": dataclasses.asdict(self.pacing),
            "machine_action": self.machine_action.value,
            "machine_message": self.machine_message,
        }


@dataclasses.dataclass(frozen=True)
class CampaignSpec:
    name: str
    dial_mode: DialMode
    caller_id: str | None
    trunk: str | None
    settings: CampaignSettings


class _Reader:
    """One JSON object being read: typed accessors that record problems and carry on."""

    def __init__(self, value: object, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        self.data: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
        self.valid = isinstance(value, Mapping)
        if not self.valid:
            problems.append((path or "$", "must be an object"))
        self.seen: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, message: str) -> None:
        self.problems.append((self.at(key), message))

    def get(self, key: str) -> Any:
        self.seen.add(key)
        return self.data.get(key)

    def finish(self) -> None:
        for key in self.data:
            if key not in self.seen:
                self.problems.append((self.at(str(key)), "unknown field"))

    def number(self, key: str, default: T, low: float, high: float, kind: type[T]) -> T:
        value = self.get(key)
        if value is None:
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (kind is int and value != int(value))
        ):
            self.problem(key, "must be a whole number" if kind is int else "must be a number")
            return default
        if not low <= value <= high:
            self.problem(key, f"must be between {_plain(low)} and {_plain(high)}")
            return default
        return kind(value)  # type: ignore[call-arg]

    def text(self, key: str, default: str | None, *, limit: int = 200) -> str | None:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problem(key, "must be text")
            return default
        value = value.strip()
        if len(value) > limit:
            self.problem(key, f"must be at most {limit} characters")
            return default
        return value or default

    def nested(self, key: str, read: Callable[[_Reader], T], default: T) -> T:
        value = self.get(key)
        if value is None:
            return default
        reader = _Reader(value, self.at(key), self.problems)
        if not reader.valid:
            return default
        result = read(reader)
        reader.finish()
        return result


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _clock_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _schedule(reader: _Reader) -> Schedule:
    default = Schedule()
    days = reader.get("days")
    chosen = default.days
    if days is not None:
        if not isinstance(days, list) or not all(isinstance(day, str) for day in days):
            reader.problem("days", 'must be a list of weekdays such as ["mon", "tue"]')
        else:
            unknown = [day for day in days if day not in WEEKDAYS]
            if unknown:
                reader.problem("days", f"unknown weekday {unknown[0]!r}; use {', '.join(WEEKDAYS)}")
            elif not days:
                reader.problem("days", "choose at least one day")
            else:
                chosen = tuple(day for day in WEEKDAYS if day in days)
    times = {}
    for key in ("start", "end"):
        value = reader.text(key, getattr(default, key), limit=5)
        if value is not None and not CLOCK.fullmatch(value):
            reader.problem(key, "must be a time of day as HH:MM, e.g. 09:00")
            value = getattr(default, key)
        times[key] = value or getattr(default, key)
    if _clock_minutes(times["start"]) >= _clock_minutes(times["end"]):
        reader.problem("end", "must be later than the start")
    return Schedule(chosen, times["start"], times["end"])


def _retry_rules(reader: _Reader) -> tuple[tuple[Outcome, RetryRule], ...]:
    rules = dict(DEFAULT_RETRY_RULES)
    for key in list(reader.data):
        reader.seen.add(key)
        try:
            outcome = Outcome(key)
        except ValueError:
            outcome = None
        if outcome not in RETRYABLE_OUTCOMES:
            reader.problem(str(key), "no retry rule for this outcome; use " + ", ".join(RETRYABLE_OUTCOMES))
            continue
        assert outcome is not None
        default = DEFAULT_RETRY_RULES[outcome]

        def read(rule: _Reader, default: RetryRule = default) -> RetryRule:
            return RetryRule(
                rule.number("retry_after_minutes", default.retry_after_minutes, 1, 30 * 24 * 60, int),
                rule.number("max_attempts", default.max_attempts, 0, 20, int),
            )

        rules[outcome] = reader.nested(str(key), read, default)
    return tuple((outcome, rules[outcome]) for outcome in RETRYABLE_OUTCOMES)


def _pacing(reader: _Reader) -> Pacing:
    default = Pacing()
    return Pacing(
        reader.number(
            "abandon_target_percent", default.abandon_target_percent, 0, ABANDON_CEILING_PERCENT, float
        ),
        reader.number("max_dial_ratio", default.max_dial_ratio, 1, 5, float),
        reader.number("ring_timeout_seconds", default.ring_timeout_seconds, MIN_RING_SECONDS, 60, int),
    )


def _settings(reader: _Reader) -> CampaignSettings:
    default = CampaignSettings()
    action_text = reader.text("machine_action", default.machine_action.value, limit=32)
    try:
        action = MachineAction(action_text or default.machine_action.value)
    except ValueError:
        reader.problem("machine_action", f"must be one of {', '.join(MachineAction)}")
        action = default.machine_action
    message = reader.text("machine_message", None)
    if action is MachineAction.LEAVE_MESSAGE and message is None:
        reader.problem("machine_message", "name the approved limited-content message to leave")
    return CampaignSettings(
        schedule=reader.nested("schedule", _schedule, default.schedule),
        retry_rules=reader.nested("retry_rules", _retry_rules, default.retry_rules),
        wrap_up_seconds=reader.number("wrap_up_seconds", default.wrap_up_seconds, 0, 900, int),
        pacing=reader.nested("pacing", _pacing, default.pacing),
        machine_action=action,
        machine_message=message if action is MachineAction.LEAVE_MESSAGE else None,
    )


def parse_settings(document: object) -> CampaignSettings:
    problems: list[Problem] = []
    reader = _Reader(document, "settings", problems)
    settings = _settings(reader)
    reader.finish()
    if problems:
        raise CampaignSpecError(problems)
    return settings


def parse_campaign(document: object) -> CampaignSpec:
    """The campaign a manager described, or every problem with its path."""
    problems: list[Problem] = []
    reader = _Reader(document, "", problems)
    name = reader.text("name", None, limit=NAME_LIMIT)
    if name is None:
        reader.problem("name", "give the campaign a name")
    mode_text = reader.text("dial_mode", DialMode.PREVIEW.value, limit=32)
    try:
        mode = DialMode(mode_text or DialMode.PREVIEW.value)
    except ValueError:
        reader.problem("dial_mode", f"must be one of {', '.join(DialMode)}")
        mode = DialMode.PREVIEW
    caller_id = reader.text("caller_id", None, limit=20)
    if caller_id is not None and not E164.fullmatch(caller_id):
        reader.problem("caller_id", "must be a phone number in E.164 form, e.g. +13125550100")
    trunk = reader.text("trunk", None, limit=64)
    if trunk is not None and not TRUNK_NAME.fullmatch(trunk):
        reader.problem("trunk", "letters, digits, '.', '_' and '-' only")
    settings = reader.nested("settings", _settings, CampaignSettings())
    reader.finish()
    if problems:
        raise CampaignSpecError(problems)
    assert name is not None
    return CampaignSpec(name, mode, caller_id, trunk, settings)


# Form fields whose text is a number in the JSON document, by their path.
_FORM_NUMBERS: dict[str, type] = {
    "settings.wrap_up_seconds": int,
    "settings.pacing.abandon_target_percent": float,
    "settings.pacing.max_dial_ratio": float,
    "settings.pacing.ring_timeout_seconds": int,
    **{f"settings.retry_rules.{outcome.value}.retry_after_minutes": int for outcome in RETRYABLE_OUTCOMES},
    **{f"settings.retry_rules.{outcome.value}.max_attempts": int for outcome in RETRYABLE_OUTCOMES},
}
_FORM_TEXTS = frozenset(
    {
        "name",
        "dial_mode",
        "caller_id",
        "trunk",
        "settings.schedule.start",
        "settings.schedule.end",
        "settings.machine_action",
        "settings.machine_message",
    }
)


def _place(document: dict[str, Any], path: str, value: object) -> None:
    *parents, last = path.split(".")
    target = document
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = value


def campaign_document_from_form(fields: Mapping[str, str], days: list[str]) -> dict[str, Any]:
    """The JSON document of the campaign editor's form, so both go through `parse_campaign`.

    Numbers that do not read as numbers are kept as text, for the parser to name the field.
    Blank fields are left out and take their defaults.
    """
    document: dict[str, Any] = {}
    for path, kind in _FORM_NUMBERS.items():
        text = fields.get(path, "").strip()
        if not text:
            continue
        try:
            number: object = kind(text)
        except ValueError:
            number = text
        _place(document, path, number)
    for path in _FORM_TEXTS:
        text = fields.get(path, "").strip()
        if text:
            _place(document, path, text)
    _place(document, "settings.schedule.days", days)
    return document
