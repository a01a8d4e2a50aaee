"""How often: call caps over rolling windows of local days, the pause after a conversation,
and the pause after an abandoned or machine-answered call.

Day boundaries: a day is a calendar day of the person's local time, and when the person may be
in several zones every zone's calendar is checked and the strictest answer wins. Neither Reg F
nor the state rules say whose calendar; counting in each of the consumer's possible calendars
never allows a call that any of them would presume a violation.

Calls and conversations in the history count whatever their time, even one dated after the
call being checked: it has been placed, and another process's clock may simply run ahead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from compliance.policy.case import DialMode, Direction, HistoryCall, Outcome, Party, PhoneType
from compliance.policy.clock import local_date, start_of_day
from compliance.policy.facts import Check, Facts, Finding, blocks, passes
from compliance.policy.fields import Fields


class Per(StrEnum):
    """Whose calls a cap counts together."""

    PARTICULAR_DEBT = "particular_debt"
    PERSON = "person"


class Reach(StrEnum):
    """Which later calls a pause holds back."""

    PERSON = "person"
    NUMBER = "number"


_PERSON_UNIT = "*"


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


class _Counting:
    """What the frequency rules share: whose calls count together, and the consent exclusion."""

    per: Per
    consent_window_days: int

    def units(self, facts: Facts, debt_ids: Iterable[str]) -> frozenset[str]:
        return facts.units(debt_ids) if self.per is Per.PARTICULAR_DEBT else frozenset({_PERSON_UNIT})

    def about(self, facts: Facts, unit: str) -> str:
        person = facts.case.person.id
        return person if unit == _PERSON_UNIT else f"{person} about {facts.unit_label.get(unit, unit)}"

    def consented(self, facts: Facts, unit: str, at: datetime, zone: ZoneInfo) -> bool:
        """Reg F 1006.14(b)(3)(i): calls within the consent window do not count."""
        if not self.consent_window_days:
            return False
        units = facts.unit_of_debt.values() if unit == _PERSON_UNIT else (unit,)
        return any(facts.consent_for(each, at, zone, self.consent_window_days) for each in set(units))


def _suffix(facts: Facts, zone: ZoneInfo) -> str:
    return f", {zone.key} calendar" if len(facts.calendar_zones) > 1 else ""


@dataclass(frozen=True)
class CallCap(_Counting):
    """At most `max_calls` counted calls in any `window_days` consecutive local days."""

    rule_id: str
    citation: str
    max_calls: int
    window_days: int
    per: Per
    uncounted_outcomes: frozenset[Outcome]
    phone_types: frozenset[PhoneType] | None
    consent_window_days: int

    @classmethod
    def read(cls, fields: Fields, rule_id: str, citation: str) -> Check | None:
        max_calls = fields.integer("max_calls", minimum=1)
        window_days = fields.integer("window_days", minimum=1)
        per = fields.choice("per", Per)
        uncounted = fields.members("uncounted_outcomes", Outcome) or frozenset()
        phone_types = fields.members("phone_types", PhoneType)
        consent_window_days = fields.integer("consent_window_days")
        if max_calls is None or window_days is None or per is None or consent_window_days is None:
            return None
        return cls(
            rule_id, citation, max_calls, window_days, per, uncounted, phone_types, consent_window_days
        )

    def _counts(self, facts: Facts, entry: HistoryCall) -> bool:
        return entry.outcome not in self.uncounted_outcomes and (
            self.phone_types is None or facts.phone_type(entry.number) in self.phone_types
        )

    def assess(self, facts: Facts, at: datetime) -> Finding:
        call = facts.case.call
        if call.party is not Party.CONSUMER:
            return passes("a call to a third party is counted separately")
        if self.phone_types is not None and facts.phone_type(call.number) not in self.phone_types:
            kinds = ", ".join(sorted(self.phone_types))
            return passes(
                f"applies to calls to {kinds} numbers; {call.number} is {facts.phone_type(call.number)}"
            )
        counted = [entry for entry in facts.calls_placed_to_person() if self._counts(facts, entry)]
        over: list[str] = []
        within: list[str] = []
        lifts: list[datetime] = []
        for unit in sorted(self.units(facts, call.debt_ids)):
            for zone in facts.calendar_zones:
                day = local_date(at, zone)
                first = day - timedelta(days=self.window_days - 1)
                span = f"{self.window_days} consecutive days ({first}..{day}{_suffix(facts, zone)})"
                if self.consented(facts, unit, at, zone):
                    within.append(f"the call to {self.about(facts, unit)} is within consent given directly")
                    continue
                days = sorted(
                    local_date(entry.at, zone)
                    for entry in counted
                    if unit in self.units(facts, entry.debt_ids)
                    and local_date(entry.at, zone) >= first
                    and not self.consented(facts, unit, entry.at, zone)
                )
                if len(days) < self.max_calls:
                    within.append(
                        f"{ordinal(len(days) + 1)} counted call to {self.about(facts, unit)} in {span}"
                    )
                    continue
                over.append(f"{ordinal(len(days) + 1)} counted call to {self.about(facts, unit)} in {span}")
                # The window must move past the call whose leaving brings the count under the cap.
                released = days[len(days) - self.max_calls] + timedelta(days=self.window_days)
                lifts.append(start_of_day(released, zone))
        if over:
            return blocks(f"{'; '.join(over)}: the cap is {self.max_calls}", max(lifts))
        return passes(f"{'; '.join(dict.fromkeys(within))}; the cap is {self.max_calls}")


@dataclass(frozen=True)
class ConversationPause(_Counting):
    """No call about a debt on the day of a conversation about it or the `days` - 1 days after."""

    rule_id: str
    citation: str
    days: int
    consent_window_days: int
    per: Per = Per.PARTICULAR_DEBT

    @classmethod
    def read(cls, fields: Fields, rule_id: str, citation: str) -> Check | None:
        days = fields.integer("days", minimum=1)
        consent_window_days = fields.integer("consent_window_days")
        if days is None or consent_window_days is None:
            return None
        return cls(rule_id, citation, days, consent_window_days)

    def assess(self, facts: Facts, at: datetime) -> Finding:
        call = facts.case.call
        if call.party is not Party.CONSUMER:
            return passes("a call to a third party is counted separately")
        conversations = [
            entry
            for entry in facts.history
            if entry.outcome is Outcome.CONVERSATION and entry.party is Party.CONSUMER
        ]
        over: list[str] = []
        lifts: list[datetime] = []
        for unit in sorted(self.units(facts, call.debt_ids)):
            about = [entry for entry in conversations if unit in self.units(facts, entry.debt_ids)]
            for zone in facts.calendar_zones:
                if not about or self.consented(facts, unit, at, zone):
                    continue
                day = local_date(at, zone)
                latest = local_date(about[-1].at, zone)
                if (day - latest).days < self.days:
                    resume = latest + timedelta(days=self.days)
                    over.append(
                        f"conversation with {self.about(facts, unit)} on {latest}{_suffix(facts, zone)}: "
                        f"day {(day - latest).days + 1} of {self.days}, calls resume on {resume}"
                    )
                    lifts.append(start_of_day(resume, zone))
        if over:
            return blocks("; ".join(over), max(lifts))
        return passes(
            f"no conversation about these debts in the last {self.days} days, or consent given directly"
        )


@dataclass(frozen=True)
class RepeatPause:
    """After a call with one of `outcomes`, no call for `hours` unless a live operator is on it."""

    rule_id: str
    citation: str
    outcomes: frozenset[Outcome]
    hours: int
    reach: Reach
    live_operator_modes: frozenset[DialMode]

    @classmethod
    def read(cls, fields: Fields, rule_id: str, citation: str) -> Check | None:
        outcomes = fields.members("outcomes", Outcome, required=True)
        hours = fields.integer("hours", minimum=1)
        reach = fields.choice("reach", Reach)
        live = fields.members("live_operator_modes", DialMode) or frozenset()
        if not outcomes or hours is None or reach is None:
            return None
        return cls(rule_id, citation, outcomes, hours, reach, live)

    def assess(self, facts: Facts, at: datetime) -> Finding:
        call = facts.case.call
        if call.mode in self.live_operator_modes:
            return passes(f"{call.mode} calls have a live operator on the line")
        pause = timedelta(hours=self.hours)
        recent = [
            entry
            for entry in facts.history
            if entry.direction is Direction.OUTBOUND
            and entry.outcome in self.outcomes
            and (self.reach is Reach.PERSON or entry.number == call.number)
            and at < entry.at + pause
        ]
        if not recent:
            return passes(f"no {' or '.join(sorted(self.outcomes))} call in the last {self.hours} hours")
        last = recent[-1]
        return blocks(
            f"{last.outcome} call to {last.number} at {last.at.isoformat()}: no {call.mode} call "
            f"for {self.hours} hours without a live operator",
            last.at + pause,
        )
