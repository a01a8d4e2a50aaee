"""State and city overlays applied by the person's address, with their effective dates:
Massachusetts 940 CMR 7.04(1)(f), Washington RCW 19.16.250, New York City 6 RCNY 5-77."""

from __future__ import annotations

import copy

import pytest

from compliance.policy import load_policy, parse_case
from tests.compliance.builders import (
    CHICAGO_MOBILE,
    Document,
    at,
    base_case,
    call,
    instant,
    judge,
    located,
    result,
    with_history,
)

BOSTON = {"country": "US", "state": "MA", "postal_code": "02108", "city": "Boston"}
SEATTLE = {"country": "US", "state": "WA", "postal_code": "98101", "city": "Seattle"}
BROOKLYN = {"country": "US", "state": "NY", "postal_code": "11201", "city": "Brooklyn"}
BUFFALO = {"country": "US", "state": "NY", "postal_code": "14201", "city": "Buffalo"}


LOCAL_NUMBERS = {"MA": "+16175550100", "WA": "+12065550100", "NY": "+17185550100", "IL": CHICAGO_MOBILE}
LOCAL_WORK_NUMBERS = {"MA": "+16175550199", "WA": "+12065550199"}


def living_in(address: Document, when: str = "2025-06-10T10:00:00-05:00") -> Document:
    """One person with a mobile and a work number local to the address, two debts."""
    document = located(base_case(when), LOCAL_NUMBERS[address["state"]], address)
    if address["state"] in LOCAL_WORK_NUMBERS:
        document["phones"].append({"number": LOCAL_WORK_NUMBERS[address["state"]], "type": "work"})
    document["debts"].append({"id": "D2", "kind": "medical"})
    return document


def dialing(document: Document, number: str) -> Document:
    changed = copy.deepcopy(document)
    changed["call"]["number"] = number
    return changed


def test_overlays_follow_the_address_and_name_their_versions() -> None:
    policy = load_policy("us-federal")
    boston = parse_case(living_in(BOSTON))
    chicago = parse_case(base_case())
    assert policy.version_for(boston) == f"us-federal@{policy.version}+us-ma@2025.06.1"
    assert policy.version_for(chicago) == f"us-federal@{policy.version}"
    ids = [rule.check.rule_id for rule in policy.rules_for(boston)]
    assert ids.index("regf.frequency.seven_in_seven") < ids.index("ma.frequency.personal_two_in_seven")
    assert ids.index("ma.frequency.other_two_in_thirty") < ids.index("tcpa.wireless.consent")


MA_PERSONAL = "ma.frequency.personal_two_in_seven"
MA_OTHER = "ma.frequency.other_two_in_thirty"

MASSACHUSETTS = [
    (
        "940 CMR 7.04(1)(f): two calls to a personal number in 7 days is the cap",
        ["2025-06-05", "2025-06-08"],
        "mobile",
        MA_PERSONAL,
        "2025-06-12T08:00:00-04:00",
    ),
    ("940 CMR 7.04(1)(f): one earlier call leaves room", ["2025-06-08"], "mobile", None, None),
    (
        "the 7-day window is rolling: a call on 06-03 has left it",
        ["2025-06-03", "2025-06-08"],
        "mobile",
        None,
        None,
    ),
    (
        "Armata: an unanswered call counts; busy does not (see the busy row)",
        ["2025-06-09", "2025-06-09"],
        "mobile",
        MA_PERSONAL,
        "2025-06-16T08:00:00-04:00",
    ),
    (
        "940 CMR 7.04(1)(f): two calls to a work number in 30 days",
        ["2025-05-15", "2025-06-01"],
        "work",
        MA_OTHER,
        "2025-06-14T08:00:00-04:00",
    ),
    ("work calls 31 days ago have left the 30-day window", ["2025-05-10", "2025-06-01"], "work", None, None),
]


@pytest.mark.parametrize(
    ("why", "days", "phone", "rule", "next_allowed"), MASSACHUSETTS, ids=[m[0] for m in MASSACHUSETTS]
)
def test_massachusetts_caps_per_debt(
    why: str, days: list[str], phone: str, rule: str | None, next_allowed: str | None
) -> None:
    number = LOCAL_WORK_NUMBERS["MA"] if phone == "work" else LOCAL_NUMBERS["MA"]
    document = dialing(living_in(BOSTON, "2025-06-10T10:00:00-04:00"), number)
    document = with_history(
        document, *(call(f"{day}T{10 + index}:00:00-04:00", number=number) for index, day in enumerate(days))
    )
    verdict = judge(document)
    assert verdict.rule == rule, verdict.reason
    if next_allowed is not None:
        assert verdict.next_allowed_at == instant(next_allowed)


def test_massachusetts_counts_per_debt_and_skips_busy() -> None:
    number = LOCAL_NUMBERS["MA"]
    history = [
        call("2025-06-08T10:00:00-04:00", number=number),
        call("2025-06-09T10:00:00-04:00", "busy", number=number),
    ]
    document = with_history(living_in(BOSTON, "2025-06-10T10:00:00-04:00"), *history)
    assert judge(document).allowed, "a busy signal is not a communication the debtor could receive"
    document = with_history(document, call("2025-06-09T11:00:00-04:00", number=number))
    assert judge(document).rule == MA_PERSONAL
    other = copy.deepcopy(document)
    other["call"]["debt_ids"] = ["D2"]
    assert judge(other).allowed, "the cap is for each debt"


def test_washington_three_per_week_across_every_debt() -> None:
    history = [call("2025-06-05T10:00:00-07:00"), call("2025-06-07T10:00:00-07:00", debts=("D2",))]
    document = with_history(living_in(SEATTLE, "2025-06-10T10:00:00-07:00"), *history)
    assert result(judge(document), "wa.frequency.three_per_week"), "calls to any number of the person count"
    third = with_history(document, call("2025-06-09T10:00:00-07:00", debts=("D2",)))
    verdict = judge(third)
    assert verdict.rule == "wa.frequency.three_per_week"
    assert verdict.next_allowed_at == instant("2025-06-12T08:00:00-07:00")


def test_washington_work_once_a_week() -> None:
    work = LOCAL_WORK_NUMBERS["WA"]
    document = dialing(living_in(SEATTLE, "2025-06-10T10:00:00-07:00"), work)
    document = with_history(document, call("2025-06-06T10:00:00-07:00", number=work))
    assert judge(document).rule == "wa.frequency.work_once_per_week"


def test_new_york_city_cap_is_not_in_force_before_its_date() -> None:
    number = LOCAL_NUMBERS["NY"]
    history = [call(f"2025-06-0{day}T10:00:00-04:00", number=number) for day in (5, 7, 9)]
    before = with_history(living_in(BROOKLYN, "2025-06-10T10:00:00-04:00"), *history)
    verdict = judge(before)
    assert verdict.allowed
    detail = next(entry.detail for entry in verdict.evaluated if entry.rule == "nyc.frequency.three_in_seven")
    assert "not in force" in detail
    history_2027 = [call(f"2027-01-0{day}T10:00:00-05:00", number=number) for day in (5, 6, 7)]
    after = with_history(living_in(BROOKLYN, "2027-01-08T10:00:00-05:00"), *history_2027)
    verdict = judge(after)
    assert verdict.rule == "nyc.frequency.three_in_seven"
    assert verdict.next_allowed_at == instant("2027-01-12T08:00:00-05:00")


def test_new_york_state_outside_the_city_gets_no_city_rule() -> None:
    history_2027 = [call(f"2027-01-0{day}T10:00:00-05:00", number=LOCAL_NUMBERS["NY"]) for day in (5, 6, 7)]
    document = with_history(living_in(BUFFALO, "2027-01-08T10:00:00-05:00"), *history_2027)
    verdict = judge(document)
    assert verdict.allowed
    assert all(not entry.rule.startswith("nyc.") for entry in verdict.evaluated)


def test_the_city_is_found_by_county_when_the_city_name_is_a_neighbourhood() -> None:
    flushing = {"country": "US", "state": "NY", "postal_code": "11354", "city": "Flushing"}
    policy = load_policy("us-federal")
    assert [o.name for o in policy.overlays_for(parse_case(living_in(flushing)))] == ["us-nyc"]


def test_a_cap_blocked_at_night_resumes_at_the_first_convenient_minute() -> None:
    """The MA window rolls off at local midnight, and 08:00 is the first minute both rules pass."""
    number = LOCAL_NUMBERS["MA"]
    history = [
        call("2025-06-05T10:00:00-04:00", number=number),
        call("2025-06-08T10:00:00-04:00", number=number),
    ]
    document = with_history(living_in(BOSTON, "2025-06-11T22:30:00-04:00"), *history)
    verdict = judge(at(document, "2025-06-11T22:30:00-04:00"))
    assert verdict.next_allowed_at == instant("2025-06-12T08:00:00-04:00")
