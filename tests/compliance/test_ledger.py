"""The attempt ledger's transitions and what counts toward frequency limits."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.abandon import AbandonFigures, LiveAnswer, daily_figures, is_abandoned, rolling
from compliance.ledger import LedgerError, is_counted, next_status
from compliance.models import AttemptStatus, Outcome

R, D, C, X = AttemptStatus.RESERVED, AttemptStatus.DIALING, AttemptStatus.COMPLETED, AttemptStatus.CANCELLED

ALLOWED = {(R, D), (R, X), (R, C), (D, C)}


@pytest.mark.parametrize(("current", "wanted"), list(itertools.product(AttemptStatus, AttemptStatus)))
def test_every_transition_is_either_allowed_or_refused(current: AttemptStatus, wanted: AttemptStatus) -> None:
    outcome = Outcome.NO_ANSWER if wanted is C else None
    if (current, wanted) in ALLOWED:
        assert next_status(current, wanted, outcome) is wanted
    else:
        with pytest.raises(LedgerError, match="cannot go from"):
            next_status(current, wanted, outcome)


def test_completion_needs_an_outcome_and_nothing_else_takes_one() -> None:
    with pytest.raises(LedgerError, match="exactly when"):
        next_status(D, C, None)
    with pytest.raises(LedgerError, match="exactly when"):
        next_status(R, D, Outcome.BUSY)


@pytest.mark.parametrize(
    ("outcome", "counted"),
    [
        # 12 CFR 1006.14(b)(3)(ii) and comment 14(b)(3)(ii)-1: not connected to the dialed number.
        (Outcome.BUSY, False),
        (Outcome.NOT_IN_SERVICE, False),
        (Outcome.NETWORK_FAILURE, False),
        # Connected: rings unanswered, voicemail, machine, any answer, an abandoned live answer.
        (Outcome.NO_ANSWER, True),
        (Outcome.VOICEMAIL, True),
        (Outcome.VOICEMAIL_MESSAGE_LEFT, True),
        (Outcome.MACHINE, True),
        (Outcome.ANSWERED_NO_CONVERSATION, True),
        (Outcome.ABANDONED, True),
        (Outcome.CONVERSATION, True),
        (Outcome.THIRD_PARTY_CONVERSATION, True),
    ],
)
def test_completed_attempts_count_unless_not_connected(outcome: Outcome, counted: bool) -> None:
    assert is_counted(C, outcome) is counted


def test_in_flight_attempts_count_and_cancelled_ones_do_not() -> None:
    assert is_counted(R, None)
    assert is_counted(D, None)
    assert not is_counted(X, None)


T0 = dt.datetime(2025, 6, 2, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("outcome", "connect_after_s", "abandoned"),
    [
        (Outcome.ABANDONED, None, True),
        (Outcome.CONVERSATION, 1.9, False),
        (Outcome.CONVERSATION, 2.0, False),
        (Outcome.CONVERSATION, 2.1, True),  # a late bridge is an abandoned call, whatever it was labelled
        (Outcome.ANSWERED_NO_CONVERSATION, None, False),
        (Outcome.MACHINE, 5.0, False),  # not a live person: outside the abandon rate altogether
    ],
)
def test_two_second_rule(outcome: Outcome, connect_after_s: float | None, abandoned: bool) -> None:
    connected = None if connect_after_s is None else T0 + dt.timedelta(seconds=connect_after_s)
    assert is_abandoned(outcome, T0, connected) is abandoned


@given(st.lists(st.tuples(st.integers(0, 59), st.booleans()), max_size=200), st.integers(0, 59))
def test_rolling_window_is_the_sum_of_its_days(answers: list[tuple[int, bool]], last: int) -> None:
    start = dt.date(2025, 1, 1)
    days = daily_figures(LiveAnswer(start + dt.timedelta(days=day), flag) for day, flag in answers)
    last_day = start + dt.timedelta(days=last)
    window = [(day, flag) for day, flag in answers if last - 30 < day <= last]
    assert rolling(days, last_day) == AbandonFigures(len(window), sum(flag for _, flag in window))


def test_rate_of_nothing_answered_is_zero() -> None:
    assert AbandonFigures().rate == 0.0
    assert AbandonFigures(40, 1).rate == pytest.approx(0.025)
