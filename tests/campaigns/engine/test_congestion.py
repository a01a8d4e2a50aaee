"""Trunk congestion window: the pure rule, as tables and as properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.engine.congestion import (
    FAILURES_BEFORE_LIMIT,
    LONGEST_HOLD_S,
    SUCCESSES_TO_RELEASE,
    TrunkWindow,
    after_call,
)

NOW = 100.0


def _failures(count: int, in_flight: int, window: TrunkWindow | None = None) -> TrunkWindow:
    window = window or TrunkWindow()
    for _ in range(count):
        window = after_call(window, network_failure=True, in_flight=in_flight, now_s=NOW)
    return window


@pytest.mark.parametrize(
    ("failures", "in_flight", "allowance"),
    [
        (0, 4, None),
        (1, 4, None),  # one failure is the number's own
        (2, 4, None),
        (3, 4, 0),  # the trunk holds the 4 calls it has
        (3, 2, 0),
        (3, 0, 0),  # nothing up: the trunk is down, hold
    ],
)
def test_failures_in_a_row_shrink_the_window_to_the_calls_up(
    failures: int, in_flight: int, allowance: int | None
) -> None:
    assert _failures(failures, in_flight).allowance(in_flight, NOW) == allowance


@pytest.mark.parametrize(("failures", "hold_s"), [(3, 1.0), (4, 2.0), (5, 4.0), (8, 30.0), (40, 30.0)])
def test_a_trunk_refusing_everything_holds_launching_for_a_doubling_time(
    failures: int, hold_s: float
) -> None:
    window = _failures(failures, in_flight=0)
    assert window.hold_until_s == NOW + hold_s
    assert window.allowance(0, NOW + hold_s - 0.01) == 0
    assert window.allowance(0, NOW + hold_s) == 1  # then one call at a time, to probe


def test_calls_that_get_through_widen_the_window_by_one_per_window() -> None:
    window = _failures(3, in_flight=4)
    for _ in range(4):
        window = after_call(window, network_failure=False, in_flight=4, now_s=NOW)
    assert window.limit is not None
    assert 4.9 < window.limit < 5.0  # 4 + 4 steps of about 1/4
    window = after_call(window, network_failure=False, in_flight=4, now_s=NOW)
    assert window.allowance(4, NOW) == 1  # one more circuit is probed
    assert window.failures_in_row == 0
    # A failure once the window exists shrinks it at once.
    assert after_call(window, network_failure=True, in_flight=3, now_s=NOW).allowance(3, NOW) == 0


def test_enough_calls_in_a_row_getting_through_end_the_window() -> None:
    window = _failures(3, in_flight=4)
    for _ in range(SUCCESSES_TO_RELEASE - 1):
        window = after_call(window, network_failure=False, in_flight=4, now_s=NOW)
    assert window.limit is not None
    assert after_call(window, network_failure=False, in_flight=4, now_s=NOW) == TrunkWindow()


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 50), st.floats(0, 10)), max_size=80))
def test_the_window_never_opens_on_failures_and_holds_are_bounded(
    calls: list[tuple[bool, int, float]],
) -> None:
    window, now_s, in_row = TrunkWindow(), 0.0, 0
    for failed, in_flight, gap in calls:
        now_s += gap
        before = window.limit
        window = after_call(window, network_failure=failed, in_flight=in_flight, now_s=now_s)
        in_row = in_row + 1 if failed else 0
        assert window.failures_in_row == in_row
        assert window.hold_until_s <= now_s + LONGEST_HOLD_S
        if failed and window.limit is not None:
            assert window.limit == max(1, in_flight)
        if not failed:
            assert window.hold_until_s == 0.0
            if before is None:
                assert window.limit is None
        if before is None and in_row < FAILURES_BEFORE_LIMIT:
            assert window.limit is None
