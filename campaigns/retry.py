"""When a campaign calls a person again after an attempt. Pure: no clock, no I/O.

Each outcome may have a rule: wait this long, and stop once this many attempts have ended with
that outcome. An outcome without a rule ends automatic retries (a conversation, a number not in
service); a terminal disposition (an attorney, a bankruptcy) ends them whatever the outcome; and
a campaign-wide cap bounds the attempts per person. The rules only ever propose a time: the dial
gate still decides at that time whether the call may go.

Settings use the campaign document's shape, `retry_rules: {"busy": {"retry_after_minutes": 10,
"max_attempts": 3}, ...}`; an outcome mapped to null has no rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from compliance.models import Outcome


@dataclasses.dataclass(frozen=True)
class RetryRule:
    retry_after: dt.timedelta
    max_attempts: int  # attempts ending with this outcome before retries stop

    def __post_init__(self) -> None:
        if self.retry_after <= dt.timedelta(0):
            raise RetrySettingsError("a retry delay must be positive")
        if self.max_attempts < 1:
            raise RetrySettingsError("max_attempts must be at least 1")


def _rule(minutes: float, max_attempts: int) -> RetryRule:
    return RetryRule(dt.timedelta(minutes=minutes), max_attempts)


DEFAULT_RULES: Mapping[Outcome, RetryRule] = {
    Outcome.BUSY: _rule(10, 5),
    Outcome.NETWORK_FAILURE: _rule(5, 3),
    Outcome.NO_ANSWER: _rule(120, 4),
    Outcome.MACHINE: _rule(240, 3),
    Outcome.VOICEMAIL: _rule(240, 3),
    Outcome.VOICEMAIL_MESSAGE_LEFT: _rule(24 * 60, 2),
    Outcome.ANSWERED_NO_CONVERSATION: _rule(60, 2),
    Outcome.ABANDONED: _rule(24 * 60, 2),
    Outcome.THIRD_PARTY_CONVERSATION: _rule(24 * 60, 2),
}
DEFAULT_MAX_ATTEMPTS = 8


class RetrySettingsError(ValueError):
    """Campaign retry settings that cannot be read."""


@dataclasses.dataclass(frozen=True)
class RetryRules:
    rules: Mapping[Outcome, RetryRule] = dataclasses.field(default_factory=lambda: dict(DEFAULT_RULES))
    max_attempts: int = DEFAULT_MAX_ATTEMPTS  # per person, every outcome together

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise RetrySettingsError("max_attempts must be at least 1")

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any], max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> RetryRules:
        """Override the default rules outcome by outcome; null removes an outcome's rule."""
        rules = dict(DEFAULT_RULES)
        for name, value in raw.items():
            try:
                outcome = Outcome(name)
            except ValueError:
                raise RetrySettingsError(f"unknown outcome {name!r} in retry rules") from None
            if value is None:
                rules.pop(outcome, None)
                continue
            if not isinstance(value, Mapping) or set(value) - {"retry_after_minutes", "max_attempts"}:
                raise RetrySettingsError(f"retry rule for {name}: retry_after_minutes and max_attempts only")
            minutes = value.get("retry_after_minutes", DEFAULT_RULES.get(outcome, _rule(60, 1)).retry_after)
            attempts = value.get("max_attempts", DEFAULT_RULES.get(outcome, _rule(60, 1)).max_attempts)
            if isinstance(minutes, dt.timedelta):
                minutes = minutes.total_seconds() / 60
            if isinstance(minutes, bool) or not isinstance(minutes, int | float):
                raise RetrySettingsError(f"retry rule for {name}: retry_after_minutes must be a number")
            if isinstance(attempts, bool) or not isinstance(attempts, int):
                raise RetrySettingsError(f"retry rule for {name}: max_attempts must be a whole number")
            rules[outcome] = _rule(float(minutes), attempts)
        return cls(rules=rules, max_attempts=max_attempts)


@dataclasses.dataclass(frozen=True)
class RetryDecision:
    next_at: dt.datetime | None  # None: no automatic retry
    reason: str


def next_attempt(
    rules: RetryRules,
    outcome: Outcome,
    *,
    with_outcome: int,
    attempts_made: int,
    ended_at: dt.datetime,
    terminal: bool = False,
) -> RetryDecision:
    """When to call the person again after an attempt ended with `outcome`.

    `with_outcome` counts this campaign's attempts to the person that ended with `outcome` and
    `attempts_made` all of them, this one included in both; `terminal` says the disposition
    recorded for it ends collection calls.
    """
    if ended_at.tzinfo is None:
        raise ValueError("ended_at must carry a time zone")
    if not 1 <= with_outcome <= attempts_made:
        raise ValueError("the attempt that just ended counts in both with_outcome and attempts_made")
    if terminal:
        return RetryDecision(None, "terminal disposition")
    rule = rules.rules.get(outcome)
    if rule is None:
        return RetryDecision(None, f"no automatic retry after {outcome.value}")
    if with_outcome >= rule.max_attempts:
        return RetryDecision(
            None, f"{with_outcome} attempts ended {outcome.value}; the rule allows {rule.max_attempts}"
        )
    if attempts_made >= rules.max_attempts:
        return RetryDecision(None, f"{attempts_made} attempts made; the campaign allows {rules.max_attempts}")
    return RetryDecision(
        ended_at + rule.retry_after, f"{outcome.value}: retry after {_describe(rule.retry_after)}"
    )


def _describe(delay: dt.timedelta) -> str:
    minutes = delay.total_seconds() / 60
    if minutes >= 1440 and minutes % 1440 == 0:
        return f"{minutes / 1440:g} d"
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes / 60:g} h"
    return f"{minutes:g} min"
