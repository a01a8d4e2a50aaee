"""Retry rules per outcome: table tests and properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.retry import DEFAULT_RULES, RetryRules, RetrySettingsError, next_attempt
from compliance.models import Outcome

ENDED = dt.datetime(2025, 6, 3, 15, 0, tzinfo=dt.UTC)
RULES = RetryRules()


@pytest.mark.parametrize(
    ("outcome", "delay"),
    [
        (Outcome.BUSY, dt.timedelta(minutes=10)),
        (Outcome.NO_ANSWER, dt.timedelta(hours=2)),
        (Outcome.MACHINE, dt.timedelta(hours=4)),
        (Outcome.VOICEMAIL, dt.timedelta(hours=4)),
        (Outcome.VOICEMAIL_MESSAGE_LEFT, dt.timedelta(days=1)),
        (Outcome.NETWORK_FAILURE, dt.timedelta(minutes=5)),
        (Outcome.ABANDONED, dt.timedelta(days=1)),
        (Outcome.CONVERSATION, None),
        (Outcome.NOT_IN_SERVICE, None),
    ],
)
def test_first_retry_delay_per_outcome(outcome: Outcome, delay: dt.timedelta | None) -> None:
    decision = next_attempt(RULES, outcome, with_outcome=1, attempts_made=1, ended_at=ENDED)
    assert decision.next_at == (ENDED + delay if delay is not None else None)


def test_terminal_disposition_stops_whatever_the_outcome() -> None:
    decision = next_attempt(
        RULES, Outcome.BUSY, with_outcome=1, attempts_made=1, ended_at=ENDED, terminal=True
    )
    assert decision.next_at is None
    assert decision.reason == "terminal disposition"


def test_per_outcome_and_campaign_caps() -> None:
    busy_cap = DEFAULT_RULES[Outcome.BUSY].max_attempts
    assert (
        next_attempt(
            RULES, Outcome.BUSY, with_outcome=busy_cap, attempts_made=busy_cap, ended_at=ENDED
        ).next_at
        is None
    )
    assert (
        next_attempt(
            RULES, Outcome.BUSY, with_outcome=1, attempts_made=RULES.max_attempts, ended_at=ENDED
        ).next_at
        is None
    )
    assert (
        next_attempt(RULES, Outcome.BUSY, with_outcome=1, attempts_made=2, ended_at=ENDED).next_at is not None
    )


def test_settings_override_remove_and_refuse() -> None:
    rules = RetryRules.from_settings(
        {"busy": {"retry_after_minutes": 30, "max_attempts": 2}, "machine": None}, max_attempts=3
    )
    assert rules.rules[Outcome.BUSY].retry_after == dt.timedelta(minutes=30)
    assert Outcome.MACHINE not in rules.rules
    assert rules.max_attempts == 3
    for bad in ({"bogus": None}, {"busy": {"retry_after_minutes": "soon"}}, {"busy": {"extra": 1}}):
        with pytest.raises(RetrySettingsError):
            RetryRules.from_settings(bad)
    with pytest.raises(RetrySettingsError):
        RetryRules.from_settings({"busy": {"retry_after_minutes": 0}})


def test_naive_end_time_and_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        next_attempt(
            RULES, Outcome.BUSY, with_outcome=1, attempts_made=1, ended_at=ENDED.replace(tzinfo=None)
        )
    with pytest.raises(ValueError, match="counts"):
        next_attempt(RULES, Outcome.BUSY, with_outcome=2, attempts_made=1, ended_at=ENDED)


@given(
    outcome=st.sampled_from(list(Outcome)),
    attempts=st.integers(1, 20),
    share=st.floats(0, 1),
    terminal=st.booleans(),
    minutes=st.integers(0, 10**6),
)
def test_a_retry_is_always_later_and_respects_every_cap(
    outcome: Outcome, attempts: int, share: float, terminal: bool, minutes: int
) -> None:
    ended = ENDED + dt.timedelta(minutes=minutes)
    with_outcome = max(1, round(attempts * share))
    decision = next_attempt(
        RULES, outcome, with_outcome=with_outcome, attempts_made=attempts, ended_at=ended, terminal=terminal
    )
    if decision.next_at is not None:
        rule = RULES.rules[outcome]
        assert decision.next_at == ended + rule.retry_after
        assert not terminal
        assert with_outcome < rule.max_attempts
        assert attempts < RULES.max_attempts
