"""Candidate zones from every piece of location evidence (12 CFR 1006.6(b)(1)(i): a time
convenient in every place the collector's information points to)."""

from __future__ import annotations

import pytest

from compliance.policy import candidate_zones, parse_case
from tests.compliance.builders import Document, base_case, located

TOLL_FREE = "+18005550100"

ZONES: list[tuple[str, str, Document | None, list[str] | None, set[str] | None]] = [
    (
        "area code and ZIP agree",
        "+13125550142",
        {"country": "US", "state": "IL", "postal_code": "60601"},
        None,
        {"America/Chicago"},
    ),
    (
        "212 number, Los Angeles ZIP",
        "+12125550142",
        {"country": "US", "state": "CA", "postal_code": "90012"},
        None,
        {"America/New_York", "America/Los_Angeles"},
    ),
    (
        "Navajo Nation ZIP keeps DST though Arizona does not",
        "+16025550100",
        {"country": "US", "state": "AZ", "postal_code": "86515"},
        None,
        {"America/Phoenix", "America/Denver"},
    ),
    (
        "no ZIP: every zone of the state",
        "+13055550100",
        {"country": "US", "state": "FL"},
        None,
        {"America/New_York", "America/Chicago"},
    ),
    (
        "unknown ZIP: the state",
        "+13055550100",
        {"country": "US", "state": "FL", "postal_code": "00000"},
        None,
        {"America/New_York", "America/Chicago"},
    ),
    (
        "ZIP in another state than the address says: both",
        "+13125550142",
        {"country": "US", "state": "IN", "postal_code": "60601"},
        None,
        None,
    ),
    (
        "explicit zones come first",
        "+13125550142",
        None,
        ["America/Denver"],
        {"America/Denver", "America/Chicago"},
    ),
    (
        "a toll-free number is no evidence next to an address",
        TOLL_FREE,
        {"country": "US", "state": "IL", "postal_code": "60601"},
        None,
        {"America/Chicago"},
    ),
    ("UK address", "+447911123456", {"country": "GB", "city": "London"}, None, {"Europe/London"}),
]


@pytest.mark.parametrize(
    ("why", "number", "address", "explicit", "expected"), ZONES, ids=[z[0] for z in ZONES]
)
def test_candidate_zones(
    why: str, number: str, address: Document | None, explicit: list[str] | None, expected: set[str] | None
) -> None:
    zones = candidate_zones(parse_case(located(base_case(), number, address, zones=explicit)))
    if expected is not None:
        assert set(zones) == expected
    else:
        assert {"America/Chicago", "America/Indiana/Indianapolis"} <= set(zones)
    if explicit:
        assert list(zones[: len(explicit)]) == explicit


def test_a_toll_free_number_alone_means_anywhere_in_the_country() -> None:
    zones = set(candidate_zones(parse_case(located(base_case(), TOLL_FREE, None))))
    assert {"America/New_York", "America/Los_Angeles", "Pacific/Honolulu", "America/Anchorage"} <= zones
    assert not zones & {"Pacific/Guam", "America/Toronto", "America/Puerto_Rico"}, (
        "other NANP countries are not the US"
    )
