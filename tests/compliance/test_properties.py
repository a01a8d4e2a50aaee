"""Properties of the engine over generated cases: the calling window holds in every candidate
zone, and `next_allowed_at` is never early, never before the call, and exact to the minute when
only the time of day blocks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.policy import Case, Verdict, evaluate, load_policy, parse_case
from compliance.policy.case import InconvenientTime
from tests.compliance.builders import base_case, call, located, with_history

POLICY = load_policy("us-federal")

# (dialed number, address, the zones that evidence must yield): written out by hand so the
# property does not trust the engine's own zone lookup.
LOCATIONS: list[tuple[str, dict[str, str] | None, set[str]]] = [
    ("+13125550142", {"country": "US", "state": "IL", "postal_code": "60601"}, {"America/Chicago"}),
    (
        "+12125550142",
        {"country": "US", "state": "CA", "postal_code": "90012"},
        {"America/New_York", "America/Los_Angeles"},
    ),
    ("+16025550100", {"country": "US", "state": "AZ", "postal_code": "85004"}, {"America/Phoenix"}),
    ("+18085550100", {"country": "US", "state": "HI", "postal_code": "96813"}, {"Pacific/Honolulu"}),
    (
        "+18505550100",
        {"country": "US", "state": "FL", "postal_code": "32501"},
        {"America/New_York", "America/Chicago"},
    ),
    ("+19075550100", None, {"America/Anchorage", "America/Adak"}),
]
EXTRA_ZONES = [None, "America/Denver", "Europe/London"]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

# US clock changes in 2025 and 2026, and one ordinary day, to aim calls at.
ANCHORS = [
    datetime(2025, 3, 9, 8, tzinfo=UTC),
    datetime(2025, 11, 2, 7, tzinfo=UTC),
    datetime(2026, 3, 8, 8, tzinfo=UTC),
    datetime(2026, 11, 1, 7, tzinfo=UTC),
    datetime(2025, 6, 10, 12, tzinfo=UTC),
]

call_times = st.builds(
    lambda anchor, offset: anchor + timedelta(seconds=offset),
    st.sampled_from(ANCHORS),
    st.integers(min_value=-3 * 86400, max_value=3 * 86400),
)

periods = st.lists(
    st.fixed_dictionaries(
        {
            "stated_at": st.just("2025-01-01T00:00:00Z"),
            "from": st.sampled_from(["00:00", "07:30", "12:00", "17:45", "20:00"]),
            "to": st.sampled_from(["09:00", "13:15", "18:00", "23:00", "24:00"]),
            "days": st.lists(st.sampled_from(WEEKDAYS), min_size=1, unique=True),
        }
    ),
    max_size=2,
)


@st.composite
def located_cases(draw: st.DrawFn, with_history_and_notices: bool) -> tuple[Case, set[str]]:
    number, address, zones = draw(st.sampled_from(LOCATIONS))
    extra = draw(st.sampled_from(EXTRA_ZONES))
    document: dict[str, Any] = located(base_case(), number, address, zones=[extra] if extra else None)
    document["person"]["inconvenient_times"] = draw(periods)
    at = draw(call_times)
    document["call"]["at"] = at.isoformat()
    if with_history_and_notices:
        offsets = draw(st.lists(st.integers(min_value=1, max_value=14 * 24 * 60), max_size=12))
        outcomes = st.sampled_from(["no_answer", "voicemail", "busy", "conversation", "abandoned"])
        entries = [
            call((at - timedelta(minutes=m)).isoformat(), draw(outcomes), number=number) for m in offsets
        ]
        document = with_history(document, *entries)
        if draw(st.booleans()):
            resolved = at + timedelta(minutes=draw(st.integers(min_value=1, max_value=10 * 24 * 60)))
            document["person"]["notices"] = [
                {
                    "type": "dispute",
                    "received_at": "2024-12-01T00:00:00Z",
                    "resolved_at": resolved.isoformat(),
                }
            ]
    return parse_case(document), zones | ({extra} if extra else set())


def at_time(case: Case, when: datetime) -> Verdict:
    return evaluate(replace(case, call=replace(case.call, at=when)), POLICY)


def inside_window(when: datetime, zone: str) -> bool:
    local = when.astimezone(ZoneInfo(zone))
    return 8 * 60 <= local.hour * 60 + local.minute < 21 * 60


def inside_period(when: datetime, zone: str, period: InconvenientTime) -> bool:
    local = when.astimezone(ZoneInfo(zone))
    minute, today = local.hour * 60 + local.minute, local.weekday()
    days = {WEEKDAYS.index(day.value) for day in period.days}
    if period.start_minute < period.end_minute:
        return today in days and period.start_minute <= minute < period.end_minute
    return (today in days and minute >= period.start_minute) or (
        (today - 1) % 7 in days and minute < period.end_minute
    )


def oracle_allows(case: Case, zones: set[str], when: datetime) -> bool:
    """The time-of-day rules written out directly, independently of the engine."""
    periods = case.person.inconvenient_times
    return all(
        inside_window(when, zone) and not any(inside_period(when, zone, period) for period in periods)
        for zone in zones
    )


def oracle_earliest(case: Case, zones: set[str], days: int) -> datetime | None:
    """Every boundary of the generated windows and periods lies on a quarter hour of UTC (all
    the zones are whole hours from it), so the call's own minute and the quarter hours after it
    are the only candidates."""
    start = case.call.at.astimezone(UTC)
    first = start.replace(second=0, microsecond=0)
    first += timedelta(minutes=1) if first < start else timedelta(0)
    grid = first.replace(minute=first.minute - first.minute % 15)
    candidates = [first, *(grid + timedelta(minutes=15 * step) for step in range(1, days * 96))]
    return next((when for when in candidates if oracle_allows(case, zones, when)), None)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(located_cases(with_history_and_notices=False))
def test_never_allowed_outside_the_window_in_any_candidate_zone(located_case: tuple[Case, set[str]]) -> None:
    case, zones = located_case
    verdict = evaluate(case, POLICY)
    if verdict.allowed:
        assert all(inside_window(case.call.at, zone) for zone in zones), verdict.evaluated


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(located_cases(with_history_and_notices=False))
def test_time_of_day_blocks_lift_exactly_at_next_allowed(located_case: tuple[Case, set[str]]) -> None:
    case, zones = located_case
    verdict = evaluate(case, POLICY)
    expected = oracle_earliest(case, zones, days=9)
    if verdict.allowed:
        assert oracle_allows(case, zones, case.call.at)
        return
    assert verdict.rule in ("regf.hours.local_time", "regf.hours.inconvenient")
    earliest = verdict.next_allowed_at
    if expected is not None:
        assert earliest == expected
    if earliest is None:
        return
    assert earliest >= case.call.at
    assert (earliest.second, earliest.microsecond) == (0, 0)
    assert oracle_allows(case, zones, earliest)
    assert at_time(case, earliest).allowed
    assert not at_time(case, earliest - timedelta(minutes=1)).allowed


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(located_cases(with_history_and_notices=True))
def test_next_allowed_is_never_early(located_case: tuple[Case, set[str]]) -> None:
    case, zones = located_case
    verdict = evaluate(case, POLICY)
    if verdict.next_allowed_at is None:
        return
    assert verdict.next_allowed_at >= case.call.at
    assert oracle_allows(case, zones, verdict.next_allowed_at)
    assert at_time(case, verdict.next_allowed_at).allowed
    if not verdict.allowed:
        assert not at_time(case, verdict.next_allowed_at - timedelta(minutes=1)).allowed
