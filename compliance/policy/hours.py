"""Time of day: the default calling window and the times the person called inconvenient, both
checked in every candidate zone (a call must suit every place the person may be)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from compliance.policy.case import InconvenientTime, Weekday
from compliance.policy.clock import format_clock, local_date, local_instant, local_minute
from compliance.policy.facts import Check, Facts, Finding, blocks, passes
from compliance.policy.fields import Fields


@dataclass(frozen=True)
class LocalHours:
    """Calls only within [start, end) local time in every candidate zone."""

    rule_id: str
    citation: str
    start_minute: int
    end_minute: int

    @classmethod
    def read(cls, fields: Fields, rule_id: str, citation: str) -> Check | None:
        start = fields.clock("start")
        end = fields.clock("end")
        if start is None or end is None:
            return None
        if start >= end:
            fields.problem("end", "must be after start")
            return None
        return cls(rule_id, citation, start, end)

    def _next_opening(self, at: datetime, zone: ZoneInfo) -> datetime:
        day = local_date(at, zone)
        opening = local_instant(day, self.start_minute, zone)
        return opening if opening > at else local_instant(day + timedelta(days=1), self.start_minute, zone)

    def assess(self, facts: Facts, at: datetime) -> Finding:
        window = f"{format_clock(self.start_minute)}-{format_clock(self.end_minute)}"
        if not facts.zones:
            return blocks("nothing locates the person: no candidate time zone", None)
        local_times = []
        closed = []
        for zone in facts.zones:
            local = at.astimezone(zone)
            local_times.append(f"{local:%H:%M %Z} in {zone.key}")
            if not self.start_minute <= local_minute(at, zone) < self.end_minute:
                closed.append(zone)
        if not closed:
            return passes(f"{', '.join(local_times)}: inside {window} everywhere")
        lift = max(self._next_opening(at, zone) for zone in closed)
        outside = ", ".join(zone.key for zone in closed)
        return blocks(f"{', '.join(local_times)}: outside {window} in {outside}", lift)


_WEEKDAY_NUMBER = {day: number for number, day in enumerate(Weekday)}


def _occurrence(period: InconvenientTime, at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The occurrence of `period` that holds `at` in `zone`, as UTC [start, end)."""
    day = local_date(at, zone)
    minute = local_minute(at, zone)
    wraps = period.end_minute <= period.start_minute
    starts: list[date] = []
    if period.start_minute <= minute and (wraps or minute < period.end_minute):
        starts.append(day)
    if wraps and minute < period.end_minute:
        starts.append(day - timedelta(days=1))
    for start_day in starts:
        if any(_WEEKDAY_NUMBER[weekday] == start_day.weekday() for weekday in period.days):
            end_day = start_day + timedelta(days=1) if wraps else start_day
            return (
                local_instant(start_day, period.start_minute, zone),
                local_instant(end_day, period.end_minute, zone),
            )
    return None


@dataclass(frozen=True)
class InconvenientTimes:
    """Times the person designated inconvenient, in every candidate zone. A contact the person
    made during such a time allows one response within that same time."""

    rule_id: str
    citation: str

    @classmethod
    def read(cls, fields: Fields, rule_id: str, citation: str) -> Check | None:
        return cls(rule_id, citation)

    def assess(self, facts: Facts, at: datetime) -> Finding:
        person = facts.case.person
        periods = person.inconvenient_times
        blocking: list[tuple[str, datetime]] = []
        answered: list[str] = []
        for zone in facts.zones:
            for period in periods:
                occurrence = _occurrence(period, at, zone)
                if occurrence is None:
                    continue
                span = f"{format_clock(period.start_minute)}-{format_clock(period.end_minute)} in {zone.key}"
                contact = facts.unanswered_contact(facts.case.call.number, period.stated_at, at)
                if contact is not None and occurrence[0] <= contact.at < occurrence[1]:
                    answered.append(
                        f"{span} (one response to the person's contact at {contact.at.isoformat()})"
                    )
                else:
                    blocking.append((span, occurrence[1]))
        if blocking:
            spans = ", ".join(span for span, _end in blocking)
            return blocks(
                f"inside a time the person called inconvenient: {spans}", max(e for _s, e in blocking)
            )
        if answered:
            return passes(f"inside {', '.join(answered)}")
        return passes(f"outside the {len(periods)} time(s) the person called inconvenient")
