from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.promises import (
    MAX_INSTALMENTS,
    AuthorityLimits,
    Decision,
    Frequency,
    ScheduleError,
    add_months,
    build_schedule,
    check_authority,
)

D = dt.date
TODAY = D(2025, 6, 3)


@pytest.mark.parametrize(
    ("first", "frequency", "count", "expected"),
    [
        (
            D(2025, 1, 31),
            Frequency.MONTHLY,
            4,
            [D(2025, 1, 31), D(2025, 2, 28), D(2025, 3, 31), D(2025, 4, 30)],
        ),
        (D(2024, 1, 31), Frequency.MONTHLY, 3, [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31)]),
        (
            D(2025, 11, 30),
            Frequency.MONTHLY,
            4,
            [D(2025, 11, 30), D(2025, 12, 30), D(2026, 1, 30), D(2026, 2, 28)],
        ),
        (D(2025, 6, 3), Frequency.WEEKLY, 3, [D(2025, 6, 3), D(2025, 6, 10), D(2025, 6, 17)]),
        (D(2025, 12, 25), Frequency.BIWEEKLY, 3, [D(2025, 12, 25), D(2026, 1, 8), D(2026, 1, 22)]),
        (D(2025, 6, 3), Frequency.ONCE, 1, [D(2025, 6, 3)]),
    ],
)
def test_due_dates(first: dt.date, frequency: Frequency, count: int, expected: list[dt.date]) -> None:
    assert [each.due_on for each in build_schedule(10_000, count, frequency, first)] == expected


@pytest.mark.parametrize(
    ("total", "count", "amounts"),
    [
        (10_000, 3, [3333, 3333, 3334]),
        (100, 7, [14, 14, 14, 14, 14, 14, 16]),
        (5, 5, [1] * 5),
        (999, 1, [999]),
    ],
)
def test_the_remainder_goes_on_the_last_instalment(total: int, count: int, amounts: list[int]) -> None:
    frequency = Frequency.ONCE if count == 1 else Frequency.MONTHLY
    assert [each.amount_minor for each in build_schedule(total, count, frequency, TODAY)] == amounts


@pytest.mark.parametrize(
    ("total", "count", "frequency", "message"),
    [
        (0, 1, Frequency.ONCE, "more than zero"),
        (100, 0, Frequency.MONTHLY, "between 1 and"),
        (10_000, MAX_INSTALMENTS + 1, Frequency.WEEKLY, "between 1 and"),
        (100, 2, Frequency.ONCE, "one instalment"),
        (3, 4, Frequency.WEEKLY, "smallest coin"),
    ],
)
def test_terms_that_make_no_schedule(total: int, count: int, frequency: Frequency, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        build_schedule(total, count, frequency, TODAY)


@given(
    total=st.integers(min_value=1, max_value=10**9),
    count=st.integers(min_value=1, max_value=MAX_INSTALMENTS),
    frequency=st.sampled_from([Frequency.WEEKLY, Frequency.BIWEEKLY, Frequency.MONTHLY]),
    first=st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31)),
)
def test_instalments_add_up_and_move_forward(
    total: int, count: int, frequency: Frequency, first: dt.date
) -> None:
    if count > total:
        with pytest.raises(ScheduleError):
            build_schedule(total, count, frequency, first)
        return
    schedule = build_schedule(total, count, frequency, first)
    assert sum(each.amount_minor for each in schedule) == total
    assert [each.seq for each in schedule] == list(range(1, count + 1))
    assert all(each.amount_minor == schedule[0].amount_minor for each in schedule[:-1])
    assert 0 <= schedule[-1].amount_minor - schedule[0].amount_minor < count
    assert all(a.due_on < b.due_on for a, b in itertools.pairwise(schedule))
    if frequency is Frequency.MONTHLY:
        # Same day of month where the month has it, else the month's last day.
        for index, each in enumerate(schedule):
            assert each.due_on.day == first.day or (
                each.due_on.day < first.day and (each.due_on + dt.timedelta(days=1)).day == 1
            )
            assert (each.due_on.year * 12 + each.due_on.month) - (first.year * 12 + first.month) == index


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31)), st.integers(min_value=0, max_value=240))
def test_add_months_is_never_late(start: dt.date, months: int) -> None:
    moved = add_months(start, months)
    assert moved.day <= start.day
    assert moved >= start


LIMITS = AuthorityLimits(min_settlement_percent=70, max_plan_months=12, max_days_to_first_payment=30)


@pytest.mark.parametrize(
    ("total", "count", "first", "balance", "decision", "reason"),
    [
        (123_000, 1, D(2025, 6, 10), 123_000, Decision.WITHIN, None),
        (86_100, 3, D(2025, 6, 30), 123_000, Decision.WITHIN, None),  # exactly 70 %
        (86_099, 3, D(2025, 6, 30), 123_000, Decision.NEEDS_APPROVAL, "69.99 % of the balance"),
        (123_000, 1, D(2025, 7, 4), 123_000, Decision.NEEDS_APPROVAL, "up to 30 days ahead (2025-07-03)"),
        (123_000, 13, D(2025, 6, 4), 123_000, Decision.NEEDS_APPROVAL, "plans up to 12 months (2026-06-03)"),
        (123_000, 12, D(2025, 7, 3), 123_000, Decision.WITHIN, None),  # ends 2026-06-03
        (123_001, 1, D(2025, 6, 10), 123_000, Decision.REFUSED, "more than the balance"),
        (1_000, 1, D(2025, 6, 2), 123_000, Decision.REFUSED, "in the past"),
        (1_000, 1, D(2025, 6, 10), 0, Decision.REFUSED, "Nothing is owed"),
    ],
)
def test_authority(  # noqa: PLR0917 (one parameter per table column)
    total: int, count: int, first: dt.date, balance: int, decision: Decision, reason: str | None
) -> None:
    frequency = Frequency.ONCE if count == 1 else Frequency.MONTHLY
    check = check_authority(build_schedule(total, count, frequency, first), balance, "USD", TODAY, LIMITS)
    assert check.decision is decision
    if reason is None:
        assert check.reasons == ()
    else:
        assert any(reason in each for each in check.reasons), check.reasons
    assert check.settlement == (0 < total < balance)


@given(
    total=st.integers(min_value=1, max_value=10**7),
    balance=st.integers(min_value=1, max_value=10**7),
    days=st.integers(min_value=0, max_value=60),
)
def test_an_agent_never_agrees_alone_to_less_than_the_floor(total: int, balance: int, days: int) -> None:
    check = check_authority(
        build_schedule(total, 1, Frequency.ONCE, TODAY + dt.timedelta(days=days)),
        balance,
        "USD",
        TODAY,
        LIMITS,
    )
    if check.decision is Decision.WITHIN:
        assert total * 100 >= balance * 70
        assert total <= balance
        assert days <= 30
    if total > balance:
        assert check.decision is Decision.REFUSED
