"""Hard bars (12 CFR 1006.6(c), 1006.6(b)(2), 1006.38, 11 U.S.C. 362/524, deceased) scoped to
the debts they cover, and "don't call" requests (1006.14(h), 1006.6(b)(1)(ii))."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.compliance.builders import (
    CHICAGO_MOBILE,
    WORK_NUMBER,
    Document,
    at,
    base_case,
    call,
    judge,
    with_history,
)


def two_debts() -> Document:
    document = base_case()
    document["debts"].append({"id": "D2", "kind": "medical"})
    return document


def with_notice(notice_type: str, debt_ids: list[str] | None, resolved_at: str | None = None) -> Document:
    document = two_debts()
    notice: dict[str, Any] = {"type": notice_type, "received_at": "2025-06-01T12:00:00-05:00"}
    if debt_ids is not None:
        notice["debt_ids"] = debt_ids
    if resolved_at is not None:
        notice["resolved_at"] = resolved_at
    document["person"]["notices"] = [notice]
    return document


def about(document: Document, *debts: str) -> Document:
    changed = copy.deepcopy(document)
    changed["call"]["debt_ids"] = list(debts)
    return changed


# (why, notice type, notice debts, call debts, blocking rule or None)
NOTICES = [
    (
        "1006.6(c)(1) written cease stops calls about its debt",
        "cease_communication",
        ["D1"],
        ["D1"],
        "regf.cease.written_notice",
    ),
    ("1006.6(c)(1) cease about D1 leaves D2 callable", "cease_communication", ["D1"], ["D2"], None),
    (
        "1006.6(c)(1) a cease naming no debt covers every debt",
        "cease_communication",
        None,
        ["D2"],
        "regf.cease.written_notice",
    ),
    (
        "1006.6(c)(1) written refusal to pay",
        "refusal_to_pay",
        ["D2"],
        ["D1", "D2"],
        "regf.cease.written_notice",
    ),
    (
        "1006.38(d)(2) written dispute until verification is sent",
        "dispute",
        ["D1"],
        ["D1"],
        "regf.dispute.verification_pending",
    ),
    (
        "1006.38(c) original-creditor request until answered",
        "original_creditor_request",
        ["D1"],
        ["D1"],
        "regf.dispute.verification_pending",
    ),
    ("1006.38(d)(2) dispute about D1 leaves D2 callable", "dispute", ["D1"], ["D2"], None),
    ("11 U.S.C. 362(a) bankruptcy stay", "bankruptcy", None, ["D1"], "bankruptcy.stay_or_discharge"),
    ("11 U.S.C. 362(a): a debt outside the petition is callable", "bankruptcy", ["D2"], ["D1"], None),
    ("deceased: every debt, whatever the notice names", "deceased", ["D2"], ["D1"], "person.deceased"),
]


@pytest.mark.parametrize(
    ("why", "notice_type", "notice_debts", "call_debts", "rule"), NOTICES, ids=[n[0] for n in NOTICES]
)
def test_notice_bars_are_scoped_to_their_debts(
    why: str, notice_type: str, notice_debts: list[str] | None, call_debts: list[str], rule: str | None
) -> None:
    verdict = judge(about(with_notice(notice_type, notice_debts), *call_debts))
    assert verdict.rule == rule, verdict.reason
    if rule is not None:
        assert verdict.next_allowed_at is None, "only an event lifts a hard bar"


def test_a_resolved_notice_no_longer_blocks() -> None:
    """1006.38(d)(2): once verification is sent, collection may resume."""
    resolved = with_notice("dispute", ["D1"], resolved_at="2025-06-05T12:00:00-05:00")
    assert judge(resolved).allowed


def test_a_resolution_dated_later_lifts_the_bar_then() -> None:
    """Verification already scheduled to go out at a known time: the bar lifts at that time,
    and the next convenient minute is the answer."""
    pending = with_notice("dispute", ["D1"], resolved_at="2025-06-12T22:10:00-05:00")
    verdict = judge(pending)
    assert verdict.rule == "regf.dispute.verification_pending"
    assert verdict.next_allowed_at is not None
    assert verdict.next_allowed_at.isoformat() == "2025-06-13T08:00:00-05:00"


def test_a_notice_dated_after_the_call_time_still_blocks_it() -> None:
    """A case states what is known when it is asked: a notice recorded by a process whose
    clock runs ahead must not let a call through."""
    document = at(with_notice("cease_communication", None), "2025-05-30T10:00:00-05:00")
    assert judge(document).rule == "regf.cease.written_notice"


ATTORNEY = [
    ("1006.6(b)(2) represented for every debt", None, ["D1"], False),
    ("1006.6(b)(2) represented for D1 only: D2 callable", ["D1"], ["D2"], True),
    ("1006.6(b)(2) represented for D1: a call about D1 and D2 is not", ["D1"], ["D1", "D2"], False),
]


@pytest.mark.parametrize(
    ("why", "attorney_debts", "call_debts", "allowed"), ATTORNEY, ids=[a[0] for a in ATTORNEY]
)
def test_attorney_representation(
    why: str, attorney_debts: list[str] | None, call_debts: list[str], allowed: bool
) -> None:
    document = two_debts()
    attorney: dict[str, Any] = {"since": "2025-06-01T12:00:00-05:00"}
    if attorney_debts is not None:
        attorney["debt_ids"] = attorney_debts
    document["person"]["attorney"] = attorney
    verdict = judge(about(document, *call_debts))
    assert verdict.allowed is allowed
    if not allowed:
        assert (verdict.rule, verdict.citation) == ("regf.attorney.represented", "12 CFR 1006.6(b)(2)")


def restricted(number: str | None, place: str | None, dialed: str = CHICAGO_MOBILE) -> Document:
    document = base_case()
    document["person"]["medium_restrictions"] = [
        {"requested_at": "2025-06-01T12:00:00-05:00", "number": number, "place": place}
    ]
    document["call"]["number"] = dialed
    return document


RESTRICTIONS = [
    ("1006.14(h)(1) don't call me: every number", None, None, CHICAGO_MOBILE, "regf.media.no_calls"),
    ("1006.14(h)(1) don't call me: the work number too", None, None, WORK_NUMBER, "regf.media.no_calls"),
    ("1006.14(h)(1) not this number", CHICAGO_MOBILE, None, CHICAGO_MOBILE, "regf.media.no_calls"),
    ("1006.14(h)(1) not that number: this one is fine", WORK_NUMBER, None, CHICAGO_MOBILE, None),
    ("1006.6(b)(1)(ii) not at work: work numbers", None, "work", WORK_NUMBER, "regf.place.work"),
    ("1006.6(b)(1)(ii) not at work: the mobile is fine", None, "work", CHICAGO_MOBILE, None),
    (
        "1006.6(b)(1)(ii) not at work on this number",
        CHICAGO_MOBILE,
        "work",
        CHICAGO_MOBILE,
        "regf.place.work",
    ),
]


@pytest.mark.parametrize(
    ("why", "number", "place", "dialed", "rule"), RESTRICTIONS, ids=[r[0] for r in RESTRICTIONS]
)
def test_requests_not_to_be_called(
    why: str, number: str | None, place: str | None, dialed: str, rule: str | None
) -> None:
    verdict = judge(restricted(number, place, dialed))
    assert verdict.rule == rule, verdict.reason
    if rule is not None:
        assert verdict.next_allowed_at is None


def test_one_response_after_the_person_contacts_us() -> None:
    """1006.14(h)(2)(ii): the person called us from the number they blocked; we may respond
    once through it, and not again."""
    document = restricted(None, None)
    contacted = with_history(
        document, call("2025-06-09T16:00:00-05:00", "inbound_message", direction="inbound")
    )
    assert judge(contacted).allowed
    responded = with_history(contacted, call("2025-06-10T09:30:00-05:00", "voicemail"))
    assert judge(responded).rule == "regf.media.no_calls"


def test_the_response_goes_to_the_number_the_person_used() -> None:
    document = restricted(None, None, dialed=WORK_NUMBER)
    contacted = with_history(document, call("2025-06-09T16:00:00-05:00", "conversation", direction="inbound"))
    assert judge(contacted).rule == "regf.media.no_calls"


def test_a_contact_before_the_request_allows_no_response() -> None:
    document = restricted(None, None)
    earlier = with_history(
        document, call("2025-05-30T16:00:00-05:00", "inbound_message", direction="inbound")
    )
    assert judge(earlier).rule == "regf.media.no_calls"
