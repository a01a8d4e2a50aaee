"""The campaign schema and lifecycle: pure, table-tested."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.campaign_settings import (
    DEFAULT_RETRY_RULES,
    CampaignSettings,
    CampaignSpecError,
    MachineAction,
    RetryRule,
    campaign_document_from_form,
    parse_campaign,
    parse_settings,
)
from campaigns.lifecycle import (
    CampaignAction,
    Readiness,
    Refused,
    available_actions,
    can_edit,
    transition,
)
from campaigns.models import CampaignStatus, DialMode
from compliance.models import Outcome


def _problems(document: Any) -> list[tuple[str, str]]:
    with pytest.raises(CampaignSpecError) as caught:
        parse_campaign(document)
    return caught.value.problems


def test_an_empty_settings_object_takes_the_conservative_defaults() -> None:
    settings = parse_settings({})
    assert settings == CampaignSettings()
    assert settings.pacing.abandon_target_percent <= 3
    assert settings.retry_rule(Outcome.BUSY) == DEFAULT_RETRY_RULES[Outcome.BUSY]
    assert parse_settings(settings.to_json()) == settings  # what is stored reads back the same


def test_a_full_campaign_reads_into_a_spec() -> None:
    spec = parse_campaign(
        {
            "name": " Q3 fresh ",
            "dial_mode": "predictive",
            "caller_id": "+13125550100",
            "trunk": "carrier-a",
            "settings": {
                "schedule": {"days": ["fri", "mon"], "start": "08:30", "end": "19:45"},
                "retry_rules": {"busy": {"retry_after_minutes": 10, "max_attempts": 5}},
                "wrap_up_seconds": 45,
                "pacing": {"abandon_target_percent": 1.5, "max_dial_ratio": 3, "ring_timeout_seconds": 20},
                "machine_action": "leave_message",
                "machine_message": "lcm-v2",
            },
        }
    )
    assert (spec.name, spec.dial_mode, spec.caller_id, spec.trunk) == (
        "Q3 fresh",
        DialMode.PREDICTIVE,
        "+13125550100",
        "carrier-a",
    )
    settings = spec.settings
    assert settings.schedule.days == ("mon", "fri")
    assert (settings.schedule.start, settings.schedule.end) == ("08:30", "19:45")
    assert settings.retry_rule(Outcome.BUSY) == RetryRule(10, 5)
    assert settings.retry_rule(Outcome.NO_ANSWER) == DEFAULT_RETRY_RULES[Outcome.NO_ANSWER]
    assert settings.pacing.max_dial_ratio == 3.0
    assert (settings.machine_action, settings.machine_message) == (MachineAction.LEAVE_MESSAGE, "lcm-v2")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({}, [("name", "give the campaign a name")]),
        (
            {"name": "x", "dial_mode": "robocall"},
            [("dial_mode", "must be one of preview, progressive, predictive")],
        ),
        (
            {"name": "x", "caller_id": "3125550100"},
            [("caller_id", "must be a phone number in E.164 form, e.g. +13125550100")],
        ),
        ({"name": "x", "trunk": "a b"}, [("trunk", "letters, digits, '.', '_' and '-' only")]),
        ({"name": "x", "colour": "red"}, [("colour", "unknown field")]),
        (
            {"name": "x", "settings": {"pacing": {"abandon_target_percent": 5}}},
            [("settings.pacing.abandon_target_percent", "must be between 0 and 3")],
        ),
        (
            {"name": "x", "settings": {"pacing": {"ring_timeout_seconds": 10}}},
            [("settings.pacing.ring_timeout_seconds", "must be between 15 and 60")],
        ),
        (
            {"name": "x", "settings": {"pacing": {"max_dial_ratio": "2"}}},
            [("settings.pacing.max_dial_ratio", "must be a number")],
        ),
        (
            {"name": "x", "settings": {"wrap_up_seconds": 1.5}},
            [("settings.wrap_up_seconds", "must be a whole number")],
        ),
        (
            {"name": "x", "settings": {"wrap_up_seconds": True}},
            [("settings.wrap_up_seconds", "must be a whole number")],
        ),
        (
            {"name": "x", "settings": {"schedule": {"start": "21:00", "end": "09:00"}}},
            [("settings.schedule.end", "must be later than the start")],
        ),
        (
            {"name": "x", "settings": {"schedule": {"start": "9am"}}},
            [("settings.schedule.start", "must be a time of day as HH:MM, e.g. 09:00")],
        ),
        (
            {"name": "x", "settings": {"schedule": {"days": []}}},
            [("settings.schedule.days", "choose at least one day")],
        ),
        (
            {"name": "x", "settings": {"schedule": {"days": ["funday"]}}},
            [("settings.schedule.days", "unknown weekday 'funday'; use mon, tue, wed, thu, fri, sat, sun")],
        ),
        (
            {"name": "x", "settings": {"retry_rules": {"busy": {"max_attempts": 99}}}},
            [("settings.retry_rules.busy.max_attempts", "must be between 0 and 20")],
        ),
        (
            {"name": "x", "settings": {"retry_rules": {"busy": {"tries": 1}}}},
            [("settings.retry_rules.busy.tries", "unknown field")],
        ),
        (
            {"name": "x", "settings": {"machine_action": "leave_message"}},
            [("settings.machine_message", "name the approved limited-content message to leave")],
        ),
        ({"name": "x", "settings": []}, [("settings", "must be an object")]),
        ([], [("$", "must be an object"), ("name", "give the campaign a name")]),
    ],
)
def test_each_bad_field_is_named_by_its_path(document: Any, expected: list[tuple[str, str]]) -> None:
    assert _problems(document) == expected


def test_a_retry_rule_for_an_outcome_that_ends_the_number_is_refused() -> None:
    [(path, message)] = _problems({"name": "x", "settings": {"retry_rules": {"conversation": {}}}})
    assert path == "settings.retry_rules.conversation"
    assert message.startswith("no retry rule for this outcome")


def test_every_problem_is_reported_at_once() -> None:
    paths = [
        path
        for path, _ in _problems(
            {"caller_id": "x", "settings": {"wrap_up_seconds": -1, "pacing": {"max_dial_ratio": 9}}}
        )
    ]
    assert paths == ["name", "caller_id", "settings.wrap_up_seconds", "settings.pacing.max_dial_ratio"]


def test_the_editor_form_becomes_the_same_document() -> None:
    fields = {
        "name": "Spring",
        "dial_mode": "progressive",
        "caller_id": "+13125550100",
        "trunk": "",
        "settings.wrap_up_seconds": "30",
        "settings.pacing.abandon_target_percent": "2.0",
        "settings.pacing.max_dial_ratio": "abc",
        "settings.retry_rules.busy.max_attempts": "4",
        "settings.schedule.start": "09:00",
        "settings.schedule.end": "18:00",
    }
    document = campaign_document_from_form(fields, ["mon", "tue"])
    assert document == {
        "name": "Spring",
        "dial_mode": "progressive",
        "caller_id": "+13125550100",
        "settings": {
            "wrap_up_seconds": 30,
            "pacing": {"abandon_target_percent": 2.0, "max_dial_ratio": "abc"},
            "retry_rules": {"busy": {"max_attempts": 4}},
            "schedule": {"start": "09:00", "end": "18:00", "days": ["mon", "tue"]},
        },
    }
    assert _problems(document) == [("settings.pacing.max_dial_ratio", "must be a number")]


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
)
def test_any_json_either_parses_or_names_its_problems(document: Any) -> None:
    problems: list[tuple[str, str]] = []
    try:
        parse_settings(document)
    except CampaignSpecError as error:
        problems = error.problems or [("", "a refusal without problems")]
    assert all(path.startswith("settings") for path, _ in problems)


READY = Readiness(caller_id="+13125550100", trunk="carrier-a", list_count=1)
EXPECTED_TRANSITIONS = {
    (CampaignStatus.DRAFT, CampaignAction.START): CampaignStatus.ACTIVE,
    (CampaignStatus.DRAFT, CampaignAction.STOP): CampaignStatus.STOPPED,
    (CampaignStatus.ACTIVE, CampaignAction.PAUSE): CampaignStatus.PAUSED,
    (CampaignStatus.ACTIVE, CampaignAction.STOP): CampaignStatus.STOPPED,
    (CampaignStatus.PAUSED, CampaignAction.START): CampaignStatus.ACTIVE,
    (CampaignStatus.PAUSED, CampaignAction.STOP): CampaignStatus.STOPPED,
}


@pytest.mark.parametrize(("status", "action"), list(itertools.product(CampaignStatus, CampaignAction)))
def test_every_transition_of_the_lifecycle(status: CampaignStatus, action: CampaignAction) -> None:
    result = transition(status, action, READY)
    expected = EXPECTED_TRANSITIONS.get((status, action))
    if expected is None:
        assert result == Refused(f"a {status.value} campaign cannot {action.value}")
        assert action not in available_actions(status)
    else:
        assert result is expected
        assert action in available_actions(status)


@pytest.mark.parametrize(
    ("readiness", "reason"),
    [
        (Readiness(None, "t", 1), "before starting, set a caller ID"),
        (Readiness("+13125550100", None, 1), "before starting, choose a trunk"),
        (Readiness("+13125550100", "t", 0), "before starting, attach at least one call list"),
        (
            Readiness(None, None, 0),
            "before starting, set a caller ID; choose a trunk; attach at least one call list",
        ),
    ],
)
def test_a_campaign_starts_only_when_it_can_dial(readiness: Readiness, reason: str) -> None:
    for status in (CampaignStatus.DRAFT, CampaignStatus.PAUSED):
        assert transition(status, CampaignAction.START, readiness) == Refused(reason)
    assert transition(CampaignStatus.ACTIVE, CampaignAction.STOP, readiness) is CampaignStatus.STOPPED


def test_a_stopped_campaign_is_final() -> None:
    assert available_actions(CampaignStatus.STOPPED) == ()
    assert [status for status in CampaignStatus if not can_edit(status)] == [CampaignStatus.STOPPED]
