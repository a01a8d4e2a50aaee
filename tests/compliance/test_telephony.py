"""TCPA consent and reassigned numbers (47 CFR 64.1200(a)(1)(iii), (a)(10), (l), (m)) and the
UK profile's Ofcom rules after abandoned and machine-answered calls."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compliance.builders import CHICAGO_MOBILE, Document, base_case, call, instant, judge, with_history

CONSENT = "tcpa.wireless.consent"
REASSIGNED = "tcpa.reassigned_number"


def phone(phone_type: str, consent: dict[str, Any] | None, mode: str, check: str | None = None) -> Document:
    document = base_case()
    entry: dict[str, Any] = {"number": CHICAGO_MOBILE, "type": phone_type}
    if consent is not None:
        entry["autodial_consent"] = consent
    if check is not None:
        entry["reassigned_check"] = {"checked_at": "2025-06-01T09:00:00-05:00", "result": check}
    document["phones"][0] = entry
    document["call"]["mode"] = mode
    return document


GIVEN = {"given_at": "2025-01-02T10:00:00-06:00"}
REVOKED = {"given_at": "2025-01-02T10:00:00-06:00", "revoked_at": "2025-06-01T10:00:00-05:00"}
LATER = {"given_at": "2025-06-10T09:00:00-05:00", "revoked_at": "2025-06-10T09:30:00-05:00"}

TCPA = [
    (
        "64.1200(a)(1)(iii): predictive call to a mobile without consent",
        "mobile",
        None,
        "predictive",
        CONSENT,
    ),
    (
        "64.1200(a)(1)(iii): prerecorded voice to a mobile without consent",
        "mobile",
        None,
        "prerecorded",
        CONSENT,
    ),
    ("64.1200(a)(1)(iii): progressive counts as autodialed here", "mobile", None, "progressive", CONSENT),
    ("manual dialing is not autodialed", "mobile", None, "manual", None),
    ("preview dialing is a person's click, not autodialed", "mobile", None, "preview", None),
    ("consent given: predictive call allowed", "mobile", GIVEN, "predictive", None),
    ("64.1200(a)(10): revoked consent", "mobile", REVOKED, "predictive", CONSENT),
    ("consent given and revoked before the call", "mobile", LATER, "predictive", CONSENT),
    ("a number of unknown type may be wireless", "unknown", None, "predictive", CONSENT),
    ("a landline needs no wireless consent", "landline", None, "predictive", None),
]


@pytest.mark.parametrize(("why", "phone_type", "consent", "mode", "rule"), TCPA, ids=[t[0] for t in TCPA])
def test_autodialed_calls_to_wireless_numbers_need_consent(
    why: str, phone_type: str, consent: dict[str, Any] | None, mode: str, rule: str | None
) -> None:
    verdict = judge(phone(phone_type, consent, mode))
    assert verdict.rule == rule, verdict.reason
    if rule is not None:
        assert verdict.next_allowed_at is None


REASSIGNED_TABLE = [
    ("64.1200(m): 'yes' means reassigned, so no call at all", "yes", "manual", REASSIGNED),
    ("'no' keeps the safe harbour", "no", "predictive", None),
    ("'no data': no autodialed call", "no_data", "predictive", REASSIGNED),
    ("'no data': a manual call is fine", "no_data", "manual", None),
]


@pytest.mark.parametrize(
    ("why", "answer", "mode", "rule"), REASSIGNED_TABLE, ids=[r[0] for r in REASSIGNED_TABLE]
)
def test_reassigned_numbers_database(why: str, answer: str, mode: str, rule: str | None) -> None:
    verdict = judge(phone("mobile", GIVEN, mode, check=answer))
    assert verdict.rule == rule, verdict.reason


LONDON_MOBILE = "+447911123456"


def uk_case(mode: str, *history: Document, when: str = "2025-06-10T10:00:00+01:00") -> Document:
    document = base_case(when, number=LONDON_MOBILE)
    document["policy"] = "uk"
    document["person"]["address"] = {"country": "GB", "postal_code": "SW1A 1AA", "city": "London"}
    document["phones"] = [{"number": LONDON_MOBILE, "type": "mobile"}]
    document["call"]["mode"] = mode
    return with_history(document, *history)


ABANDONED = call("2025-06-08T18:30:20+01:00", "abandoned", number=LONDON_MOBILE, mode="predictive")


def test_uk_no_repeat_within_72_hours_of_an_abandoned_call() -> None:
    """Ofcom: no repeat call within 72 hours of an abandoned call without a live operator.
    The pause ends at 18:30:20 on 06-11; the answer is the first whole minute after it."""
    verdict = judge(uk_case("predictive", ABANDONED), policy="uk")
    assert verdict.rule == "ofcom.abandoned.seventy_two_hours"
    assert verdict.next_allowed_at == instant("2025-06-11T18:31:00+01:00")


@pytest.mark.parametrize("mode", ["manual", "preview"])
def test_uk_a_live_operator_may_call_back(mode: str) -> None:
    assert judge(uk_case(mode, ABANDONED), policy="uk").allowed


def test_uk_machine_answer_holds_that_number_for_a_day() -> None:
    machine = call("2025-06-10T09:15:00+01:00", "machine", number=LONDON_MOBILE, mode="predictive")
    verdict = judge(uk_case("predictive", machine), policy="uk")
    assert verdict.rule == "ofcom.machine.same_day"
    assert verdict.next_allowed_at == instant("2025-06-11T09:15:00+01:00")


def test_uk_profile_uses_uk_hours_and_no_us_rules() -> None:
    verdict = judge(uk_case("predictive", when="2025-06-10T21:00:00+01:00"), policy="uk")
    assert verdict.rule == "uk.hours.local_time"
    assert verdict.next_allowed_at is not None
    assert verdict.next_allowed_at.isoformat() == "2025-06-11T08:00:00+01:00"
    assert not any(entry.rule.startswith(("regf.", "tcpa.")) for entry in verdict.evaluated)


def test_uk_72_hours_cross_the_clock_change() -> None:
    """British Summer Time ends on 2025-10-26: 72 hours are 72 elapsed hours, so the wall
    clock shows one hour earlier than it did at the abandoned call."""
    abandoned = call("2025-10-24T18:00:00+01:00", "abandoned", number=LONDON_MOBILE, mode="predictive")
    verdict = judge(uk_case("predictive", abandoned, when="2025-10-25T10:00:00+01:00"), policy="uk")
    assert verdict.next_allowed_at is not None
    assert verdict.next_allowed_at.isoformat() == "2025-10-27T17:00:00+00:00"
