"""Reg F call frequency, 12 CFR 1006.14(b): the 7-in-7 prong (b)(2)(i)(A), the conversation
prong (b)(2)(i)(B), the exclusions of (b)(3) and the particular debt of (b)(4)."""

from __future__ import annotations

import copy

import pytest

from tests.compliance.builders import (
    NEW_YORK_MOBILE,
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

SEVEN = "regf.frequency.seven_in_seven"
CONVERSATION = "regf.frequency.conversation"
CALL_TIME = "2025-06-10T10:00:00-05:00"  # a Tuesday in Chicago


def daily(
    first_day: int, last_day: int, outcome: str = "no_answer", debts: tuple[str, ...] = ("D1",)
) -> list[Document]:
    return [
        call(f"2025-06-{day:02d}T09:00:00-05:00", outcome, debts=debts)
        for day in range(first_day, last_day + 1)
    ]


# (why, history, allowed, next allowed)
SEVEN_TABLE = [
    ("7 calls in 7 days is compliant: 6 before and this one", daily(4, 9), True, None),
    ("the 8th counted call in 7 consecutive days is not", daily(4, 10), False, "2025-06-11T08:00:00-05:00"),
    ("calls 8 days ago have rolled off: days 3..9 leave 6 in 4..10", daily(3, 9), True, None),
    (
        "two calls on the oldest day: both must roll off",
        [*daily(4, 10), call("2025-06-04T15:00:00-05:00")],
        False,
        "2025-06-11T08:00:00-05:00",
    ),
    (
        "two calls on the second day hold the block one day longer",
        [*daily(4, 10), call("2025-06-05T15:00:00-05:00")],
        False,
        "2025-06-12T08:00:00-05:00",
    ),
    (
        "voicemail counts (connected to the dialed number)",
        daily(4, 10, "voicemail"),
        False,
        "2025-06-11T08:00:00-05:00",
    ),
    ("an abandoned call counts", daily(4, 10, "abandoned"), False, "2025-06-11T08:00:00-05:00"),
    (
        "1006.14(b)(3)(ii): busy is not connected",
        [*daily(4, 9), call("2025-06-10T09:00:00-05:00", "busy")],
        True,
        None,
    ),
    (
        "1006.14(b)(3)(ii): not in service",
        [*daily(4, 9), call("2025-06-10T09:00:00-05:00", "not_in_service")],
        True,
        None,
    ),
    ("network failure", [*daily(4, 9), call("2025-06-10T09:00:00-05:00", "network_failure")], True, None),
    (
        "comment 14(b)(2)(i)-1.iii: location calls to third parties count separately",
        [*daily(4, 9), call("2025-06-10T09:00:00-05:00", party="third_party")],
        True,
        None,
    ),
    (
        "the person's own calls do not count toward 7-in-7",
        [*daily(4, 9), call("2025-06-10T09:00:00-05:00", "inbound_message", direction="inbound")],
        True,
        None,
    ),
    (
        "comment 14(b)(4)-1.i: a call about several debts counts for each",
        daily(4, 10, debts=("D1", "D2")),
        False,
        "2025-06-11T08:00:00-05:00",
    ),
    ("calls about another debt do not count", daily(4, 10, debts=("D2",)), True, None),
]


def two_debts() -> Document:
    document = base_case(CALL_TIME)
    document["debts"].append({"id": "D2", "kind": "medical"})
    return document


@pytest.mark.parametrize(
    ("why", "history", "allowed", "next_allowed"), SEVEN_TABLE, ids=[row[0] for row in SEVEN_TABLE]
)
def test_seven_in_seven(why: str, history: list[Document], allowed: bool, next_allowed: str | None) -> None:
    verdict = judge(with_history(two_debts(), *history))
    assert verdict.allowed is allowed, verdict.reason
    assert result(verdict, SEVEN) is allowed
    if next_allowed is not None:
        assert (verdict.rule, verdict.citation) == (SEVEN, "12 CFR 1006.14(b)(2)(i)(A)")
        assert verdict.next_allowed_at == instant(next_allowed)


def test_the_reason_names_the_count_the_person_the_debt_and_the_window() -> None:
    verdict = judge(with_history(two_debts(), *daily(4, 10)))
    assert verdict.reason.startswith(
        "8th counted call to C1 about D1 in 7 consecutive days (2025-06-04..2025-06-10)"
    )


def consented(given_at: str, debts: list[str]) -> Document:
    document = two_debts()
    document["consents"] = [{"given_at": given_at, "debt_ids": debts}]
    return document


def test_calls_within_seven_days_of_consent_do_not_count() -> None:
    """1006.14(b)(3)(i): consent given on 06-03 covers 06-03..06-09 (day 1 is the day it was
    given). The calls on 06-04..06-09 do not count, the one on 06-10 does: this is the 2nd."""
    document = with_history(consented("2025-06-03T17:00:00-05:00", ["D1"]), *daily(4, 10))
    verdict = judge(document)
    assert verdict.allowed, verdict.reason
    other_debt = with_history(consented("2025-06-03T17:00:00-05:00", ["D2"]), *daily(4, 10))
    assert judge(other_debt).rule == SEVEN, "consent covers only the debts it names"


def test_a_call_within_the_consent_window_is_itself_excluded() -> None:
    document = with_history(consented("2025-06-04T08:30:00-05:00", ["D1"]), *daily(4, 10))
    assert judge(document).allowed, "06-10 is day 7 of consent given on 06-04"
    assert judge(at(document, "2025-06-11T10:00:00-05:00")).allowed, "the excluded calls stay excluded"


def student_loans(shared: bool) -> Document:
    document = base_case(CALL_TIME)
    document["debts"] = [
        {"id": "L1", "kind": "student_loan", "student_loan_account": "SL-9"},
        {"id": "L2", "kind": "student_loan", "student_loan_account": "SL-9" if shared else "SL-10"},
    ]
    document["call"]["debt_ids"] = ["L2"]
    return document


@pytest.mark.parametrize("shared", [True, False], ids=["one servicing account", "two accounts"])
def test_student_loans_under_one_account_are_one_particular_debt(shared: bool) -> None:
    """1006.14(b)(4): student loans serviced under a single account number at acquisition are
    one particular debt, so calls about either count together."""
    history = [*daily(4, 7, debts=("L1",)), *daily(8, 10, debts=("L2",))]
    verdict = judge(with_history(student_loans(shared), *history))
    assert verdict.allowed is not shared
    if shared:
        assert "student-loan account SL-9 (L1, L2)" in verdict.reason


CONVERSATION_TABLE = [
    (
        "(b)(2)(i)(B): the conversation day is day 1",
        "2025-06-10T09:00:00-05:00",
        "outbound",
        "2025-06-17T08:00:00-05:00",
    ),
    (
        "day 7 after a conversation on 06-04 is still inside",
        "2025-06-04T15:00:00-05:00",
        "outbound",
        "2025-06-11T08:00:00-05:00",
    ),
    ("day 8 is free", "2025-06-03T15:00:00-05:00", "outbound", None),
    (
        "comment 14(b)(2)(i)-1.ii: the person's own call starts the period",
        "2025-06-08T15:00:00-05:00",
        "inbound",
        "2025-06-15T08:00:00-05:00",
    ),
]


@pytest.mark.parametrize(
    ("why", "conversation_at", "direction", "next_allowed"),
    CONVERSATION_TABLE,
    ids=[r[0] for r in CONVERSATION_TABLE],
)
def test_no_call_within_seven_days_of_a_conversation(
    why: str, conversation_at: str, direction: str, next_allowed: str | None
) -> None:
    document = with_history(two_debts(), call(conversation_at, "conversation", direction=direction))
    verdict = judge(document)
    assert verdict.allowed is (next_allowed is None), verdict.reason
    if next_allowed is not None:
        assert (verdict.rule, verdict.citation) == (CONVERSATION, "12 CFR 1006.14(b)(2)(i)(B)")
        assert verdict.next_allowed_at == instant(next_allowed)


def test_a_conversation_about_two_debts_is_one_about_each() -> None:
    """Comment 14(b)(4)-1.ii (CFPB FAQ, Presumptions Q6)."""
    document = with_history(
        two_debts(), call("2025-06-09T15:00:00-05:00", "conversation", debts=("D1", "D2"))
    )
    about_d2 = copy.deepcopy(document)
    about_d2["call"]["debt_ids"] = ["D2"]
    assert judge(about_d2).rule == CONVERSATION


def test_a_conversation_about_another_debt_leaves_this_one_callable() -> None:
    document = with_history(two_debts(), call("2025-06-09T15:00:00-05:00", "conversation", debts=("D2",)))
    assert judge(document).allowed


def test_call_me_back_tomorrow_is_consent_for_that_call() -> None:
    """1006.14(b)(3)(i): consent given directly in the conversation excludes the callback."""
    document = with_history(
        consented("2025-06-09T15:05:00-05:00", ["D1"]), call("2025-06-09T15:00:00-05:00", "conversation")
    )
    assert judge(document).allowed


def test_calls_dated_after_the_call_being_checked_count() -> None:
    """Another process's clock may run a few seconds ahead: its reservation, dated 10:00:03,
    is the 8th call for a check made at 10:00:00."""
    history = [*daily(4, 9), call("2025-06-10T10:00:03-05:00")]
    verdict = judge(with_history(two_debts(), *history))
    assert verdict.rule == SEVEN
    assert verdict.next_allowed_at == instant("2025-06-11T08:00:00-05:00")


def test_a_conversation_dated_a_moment_later_still_starts_the_period() -> None:
    verdict = judge(with_history(two_debts(), call("2025-06-10T10:00:05-05:00", "conversation")))
    assert verdict.rule == CONVERSATION
    assert verdict.next_allowed_at == instant("2025-06-17T08:00:00-05:00")


def test_every_candidate_calendar_counts_and_the_strictest_wins() -> None:
    """New York number, Los Angeles address. The person called us at 00:30 EDT on 06-04, which
    is 21:30 PDT on 06-03. On 06-10 that conversation is day 7 in New York's calendar but day 8
    in Los Angeles': the call waits for New York's day 8, then for 08:00 in Los Angeles."""
    document = located(two_debts(), NEW_YORK_MOBILE, {"country": "US", "state": "CA", "postal_code": "90012"})
    document = with_history(
        document,
        call("2025-06-04T00:30:00-04:00", "conversation", number=NEW_YORK_MOBILE, direction="inbound"),
    )
    verdict = judge(at(document, "2025-06-10T12:00:00-04:00"))
    assert verdict.rule == CONVERSATION
    assert verdict.next_allowed_at == instant("2025-06-11T11:00:00-04:00")
