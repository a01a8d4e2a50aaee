"""Instants and local calendars. Every instant the engine computes is in UTC: comparing two
datetimes that share a ZoneInfo compares wall clocks and gets the autumn overlap wrong."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
MINUTE = timedelta(minutes=1)


def local_date(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def local_minute(at: datetime, zone: ZoneInfo) -> int:
    """Minutes after local midnight, seconds dropped: a half-open period of whole minutes holds
    an instant exactly when it holds this minute."""
    local = at.astimezone(zone)
    return local.hour * 60 + local.minute


def local_instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The first UTC instant at which the local wall clock reads at least this time; minute
    1440 is the next midnight. A time skipped by a spring-forward gap maps to the end of the
    gap; a time repeated in autumn maps to its first occurrence."""
    day += timedelta(days=minute // MINUTES_PER_DAY)
    minute %= MINUTES_PER_DAY
    wall = datetime.combine(day, time(minute // 60, minute % 60))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return min(first, second)
    # In a gap fold=0 lands as far past the gap's end as the time is into the gap: step back.
    while (first - MINUTE).astimezone(zone).replace(tzinfo=None) >= wall:
        first -= MINUTE
    return first


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    return local_instant(day, 0, zone)


def ceil_minute(at: datetime) -> datetime:
    whole = at.replace(second=0, microsecond=0)
    return whole if whole == at else whole + MINUTE


_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_clock(text: str, *, allow_end_of_day: bool = False) -> int | None:
    """ "HH:MM" -> minutes after midnight; "24:00" (1440) only where a period may end at midnight."""
    if allow_end_of_day and text == "24:00":
        return MINUTES_PER_DAY
    match = _CLOCK.match(text)
    return int(match.group(1)) * 60 + int(match.group(2)) if match else None


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
