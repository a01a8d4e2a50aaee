"""Time of day: 12 CFR 1006.6(b)(1)(i) and 15 U.S.C. 1692c(a)(1): calls only from 08:00 to
before 21:00 local time in every place the person may be, and never in a time the person
called inconvenient."""

from __future__ import annotations

import pytest

from tests.compliance.builders import (
    CHICAGO_MOBILE,
    HONOLULU_MOBILE,
    NEW_YORK_MOBILE,
    PHOENIX_MOBILE,
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

CHICAGO = base_case()
PHOENIX = located(CHICAGO, PHOENIX_MOBILE, {"country": "US", "state": "AZ", "postal_code": "85004"})
HONOLULU = located(CHICAGO, HONOLULU_MOBILE, {"country": "US", "state": "HI", "postal_code": "96813"})
# A 212 (New York) number and a Los Angeles address: both places must be inside the window.
NEW_YORK_NUMBER_CALIFORNIA_ADDRESS = located(
    CHICAGO, NEW_YORK_MOBILE, {"country": "US", "state": "CA", "postal_code": "90012"}
)
# An 850 number is Eastern for the numbering plan, but Pensacola keeps Central time.
PANHANDLE = located(CHICAGO, "+18505550100", {"country": "US", "state": "FL", "postal_code": "32501"})
TRAVELLING = located(CHICAGO, CHICAGO_MOBILE, None, zones=["Europe/London"])

HOURS = "regf.hours.local_time"

# (why, case, call time, allowed, next allowed instant or None when allowed)
TABLE = [
    ("1006.6(b)(1)(i): 08:00:00 local is allowed", CHICAGO, "2025-06-10T08:00:00-05:00", True, None),
    (
        "1006.6(b)(1)(i): one second before 08:00 is not",
        CHICAGO,
        "2025-06-10T07:59:59-05:00",
        False,
        "2025-06-10T08:00:00-05:00",
    ),
    ("1006.6(b)(1)(i): 20:59:59 is allowed", CHICAGO, "2025-06-10T20:59:59-05:00", True, None),
    (
        "1692c(a)(1): 21:00:00 is not ('before 9 o'clock')",
        CHICAGO,
        "2025-06-10T21:00:00-05:00",
        False,
        "2025-06-11T08:00:00-05:00",
    ),
    (
        "DST spring forward: Saturday night CST -> Sunday 08:00 CDT",
        CHICAGO,
        "2025-03-08T21:30:00-06:00",
        False,
        "2025-03-09T08:00:00-05:00",
    ),
    (
        "DST spring forward: 07:30 CDT on the change day is still early",
        CHICAGO,
        "2025-03-09T07:30:00-05:00",
        False,
        "2025-03-09T08:00:00-05:00",
    ),
    (
        "DST fall back: Saturday night CDT -> Sunday 08:00 CST",
        CHICAGO,
        "2025-11-01T22:00:00-05:00",
        False,
        "2025-11-02T08:00:00-06:00",
    ),
    (
        "DST fall back: 07:30 CST (13:30Z) is early though 08:30 CDT would not be",
        CHICAGO,
        "2025-11-02T13:30:00+00:00",
        False,
        "2025-11-02T08:00:00-06:00",
    ),
    (
        "Arizona keeps MST in summer: 07:59 MST is early",
        PHOENIX,
        "2025-06-10T14:59:00+00:00",
        False,
        "2025-06-10T08:00:00-07:00",
    ),
    ("Arizona keeps MST in summer: 08:00 MST is 11:00 EDT", PHOENIX, "2025-06-10T08:00:00-07:00", True, None),
    (
        "Hawaii (UTC-10): 07:59 HST is early",
        HONOLULU,
        "2025-06-10T17:59:00+00:00",
        False,
        "2025-06-10T08:00:00-10:00",
    ),
    (
        "Hawaii (UTC-10): 20:30 HST is fine though it is 02:30 in Chicago",
        HONOLULU,
        "2025-06-11T06:30:00+00:00",
        True,
        None,
    ),
    (
        "212 + California address: 10:30 EDT is 07:30 PDT",
        NEW_YORK_NUMBER_CALIFORNIA_ADDRESS,
        "2025-06-10T10:30:00-04:00",
        False,
        "2025-06-10T11:00:00-04:00",
    ),
    (
        "212 + California address: 11:00 EDT opens the intersection",
        NEW_YORK_NUMBER_CALIFORNIA_ADDRESS,
        "2025-06-10T11:00:00-04:00",
        True,
        None,
    ),
    (
        "212 + California address: 18:00 PDT is 21:00 EDT, closed",
        NEW_YORK_NUMBER_CALIFORNIA_ADDRESS,
        "2025-06-10T18:00:00-07:00",
        False,
        "2025-06-11T11:00:00-04:00",
    ),
    (
        "850 number + Pensacola address: 20:30 CDT is 21:30 EDT; opens 08:00 CDT",
        PANHANDLE,
        "2025-06-10T20:30:00-05:00",
        False,
        "2025-06-11T09:00:00-04:00",
    ),
    (
        "explicit zone (travelling to London): 15:30 CDT is 21:30 BST",
        TRAVELLING,
        "2025-06-10T15:30:00-05:00",
        False,
        "2025-06-11T14:00:00+01:00",
    ),
    (
        "explicit zone (travelling to London): 14:59 CDT is 20:59 BST",
        TRAVELLING,
        "2025-06-10T14:59:00-05:00",
        True,
        None,
    ),
]


@pytest.mark.parametrize(
    ("why", "document", "when", "allowed", "next_allowed"), TABLE, ids=[row[0] for row in TABLE]
)
def test_calling_window_in_every_candidate_zone(
    why: str, document: Document, when: str, allowed: bool, next_allowed: str | None
) -> None:
    verdict = judge(at(document, when))
    assert verdict.allowed is allowed, verdict.reason
    assert result(verdict, HOURS) is allowed
    if allowed:
        assert verdict.next_allowed_at == instant(when)
    else:
        assert verdict.rule == HOURS
        assert verdict.citation is not None
        assert verdict.citation.startswith("12 CFR 1006.6(b)(1)(i)")
        assert verdict.next_allowed_at is not None
        assert next_allowed is not None
        assert verdict.next_allowed_at == instant(next_allowed)
        assert verdict.next_allowed_at.isoformat() == next_allowed, "shown in the person's own zone"


def test_a_person_nothing_locates_cannot_be_called_until_something_does() -> None:
    """1006.6(b)(1)(i) needs the consumer's local time; an international freephone number
    and no address give none."""
    verdict = judge(located(CHICAGO, "+80012345678", None))
    assert (verdict.allowed, verdict.rule, verdict.next_allowed_at) == (False, HOURS, None)


def _inconvenient(document: Document, start: str, end: str, days: list[str], stated: str) -> Document:
    changed = at(document, document["call"]["at"])
    period = {"stated_at": stated, "from": start, "to": end, "days": days}
    changed["person"]["inconvenient_times"] = [period]
    return changed


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
MORNINGS = _inconvenient(CHICAGO, "00:00", "12:00", WEEKDAYS, "2025-06-01T12:00:00-05:00")
EVENINGS = _inconvenient(CHICAGO, "18:00", "09:00", ["mon"], "2025-06-01T12:00:00-05:00")
INCONVENIENT = "regf.hours.inconvenient"

INCONVENIENT_TABLE = [
    (
        "designated weekday mornings: Tuesday 10:00 blocked until noon",
        MORNINGS,
        "2025-06-10T10:00:00-05:00",
        "2025-06-10T12:00:00-05:00",
    ),
    ("designated weekday mornings: Tuesday 12:00 allowed", MORNINGS, "2025-06-10T12:00:00-05:00", None),
    ("designated weekday mornings: Saturday 10:00 allowed", MORNINGS, "2025-06-14T10:00:00-05:00", None),
    ("Friday 11:00 blocked until noon", MORNINGS, "2025-06-13T11:00:00-05:00", "2025-06-13T12:00:00-05:00"),
    (
        "Monday evening period runs past midnight: Tuesday 08:30 blocked",
        EVENINGS,
        "2025-06-10T08:30:00-05:00",
        "2025-06-10T09:00:00-05:00",
    ),
    (
        "Monday 18:00 blocked; 21:00 window then the period's end decide",
        EVENINGS,
        "2025-06-09T18:00:00-05:00",
        "2025-06-10T09:00:00-05:00",
    ),
    ("Tuesday evening is not designated", EVENINGS, "2025-06-10T19:00:00-05:00", None),
    (
        "a designation binds even a what-if dated before it",
        MORNINGS,
        "2025-05-30T10:00:00-05:00",
        "2025-05-30T12:00:00-05:00",
    ),
]


@pytest.mark.parametrize(
    ("why", "document", "when", "next_allowed"),
    INCONVENIENT_TABLE,
    ids=[row[0] for row in INCONVENIENT_TABLE],
)
def test_times_the_person_called_inconvenient(
    why: str, document: Document, when: str, next_allowed: str | None
) -> None:
    """1006.6(b)(1)(i): a time the collector knows is inconvenient to the consumer."""
    verdict = judge(at(document, when))
    assert verdict.allowed is (next_allowed is None), verdict.reason
    if next_allowed is not None:
        assert verdict.rule in (INCONVENIENT, HOURS)
        assert result(verdict, INCONVENIENT) is False
        assert verdict.next_allowed_at == instant(next_allowed)


def test_inconvenient_time_in_any_candidate_zone_blocks() -> None:
    """A 12:00-13:00 designation with a New York number and a Chicago address blocks 12:xx
    Eastern and 12:xx Central, so from 12:00 EDT nothing is possible until 13:00 CDT."""
    document = located(MORNINGS, NEW_YORK_MOBILE, {"country": "US", "state": "IL", "postal_code": "60601"})
    document["person"]["inconvenient_times"] = [
        {"stated_at": "2025-06-01T12:00:00-05:00", "from": "12:00", "to": "13:00"}
    ]
    eastern_noon = judge(at(document, "2025-06-10T12:30:00-04:00"))
    central_noon = judge(at(document, "2025-06-10T12:30:00-05:00"))
    assert eastern_noon.rule == central_noon.rule == INCONVENIENT
    assert eastern_noon.next_allowed_at == instant("2025-06-10T14:00:00-04:00")
    assert central_noon.next_allowed_at == instant("2025-06-10T13:00:00-05:00")


def test_one_response_to_a_contact_made_in_an_inconvenient_time() -> None:
    """Comment 6(b)(1)-2: a consumer who calls during a time they designated inconvenient may
    get one response then; once we have answered, the designation holds again."""
    contacted = with_history(
        MORNINGS, call("2025-06-10T09:50:00-05:00", outcome="inbound_message", direction="inbound")
    )
    respond = judge(at(contacted, "2025-06-10T10:00:00-05:00"))
    assert respond.allowed, respond.reason
    answered = with_history(contacted, call("2025-06-10T10:00:00-05:00", outcome="no_answer"))
    again = judge(at(answered, "2025-06-10T10:30:00-05:00"))
    assert again.rule == INCONVENIENT
    tomorrow = judge(at(contacted, "2025-06-11T10:00:00-05:00"))
    assert tomorrow.rule == INCONVENIENT, "the response belongs to the occurrence the person called in"


def test_a_designation_covering_every_hour_leaves_only_an_event() -> None:
    """ "Never call me" said as times: no instant within the search horizon passes, so the
    verdict says only an event (the person withdrawing it) can lift the block."""
    document = _inconvenient(
        CHICAGO,
        "00:00",
        "24:00",
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "2025-06-01T12:00:00-05:00",
    )
    verdict = judge(document)
    assert (verdict.rule, verdict.next_allowed_at) == (INCONVENIENT, None)
