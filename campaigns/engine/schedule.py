"""A campaign's calling days and hours, read in each person's local time. Pure.

The campaign's own window is a business choice (say 09:00-20:00 on weekdays) that narrows what the
law allows; the dial gate remains the authority on the law. A person whose zone is uncertain is
callable only when the window is open in every candidate zone, the same reading the gate uses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleError(ValueError):
    """Schedule settings that cannot be read."""


@dataclasses.dataclass(frozen=True)
class CallingSchedule:
    # The manager console's defaults: Monday to Saturday, 09:00-20:00 local time.
    days: frozenset[str] = frozenset(WEEKDAYS[:6])
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(20, 0)  # exclusive

    def __post_init__(self) -> None:
        unknown = self.days - set(WEEKDAYS)
        if unknown:
            raise ScheduleError(f"unknown days: {', '.join(sorted(unknown))}")
        if self.start >= self.end:
            raise ScheduleError("the calling window must start before it ends")

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any]) -> CallingSchedule:
        """From {"days": ["mon", ...], "start": "09:00", "end": "20:00"}; missing keys keep the defaults."""
        unknown = set(raw) - {"days", "start", "end"}
        if unknown:
            raise ScheduleError(f"unknown schedule settings: {', '.join(sorted(unknown))}")
        default = cls()
        try:
            return cls(
                days=frozenset(str(day) for day in raw.get("days", default.days)),
                start=dt.time.fromisoformat(raw["start"]) if "start" in raw else default.start,
                end=dt.time.fromisoformat(raw["end"]) if "end" in raw else default.end,
            )
        except (TypeError, ValueError) as error:
            raise ScheduleError(f"bad schedule: {error}") from error


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _minutes_left_in(schedule: CallingSchedule, zone: str, at: dt.datetime) -> float:
    """Minutes until the window closes in `zone`, or a negative number when it is closed now."""
    local = at.astimezone(_zone(zone))
    if WEEKDAYS[local.weekday()] not in schedule.days:
        return -1.0
    now = local.time()
    if not schedule.start <= now < schedule.end:
        return -1.0
    end = dt.datetime.combine(local.date(), schedule.end, _zone(zone))
    return (end - local).total_seconds() / 60.0


def minutes_left(schedule: CallingSchedule, zones: Sequence[str], at: dt.datetime) -> float | None:
    """Minutes the window stays open in every candidate zone; None when it is closed in one.

    With no known zone the campaign has nothing to narrow with, so the whole day counts as open
    and the gate decides.
    """
    if at.tzinfo is None:
        raise ValueError("at must carry a time zone")
    if not zones:
        return 24 * 60.0
    left = min(_minutes_left_in(schedule, zone, at) for zone in zones)
    return left if left > 0 else None


def is_open(schedule: CallingSchedule, zones: Sequence[str], at: dt.datetime) -> bool:
    return minutes_left(schedule, zones, at) is not None
