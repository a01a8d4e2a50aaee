"""Benchmark figures from hand-made days."""

from __future__ import annotations

import pytest

from dialer.pacing.metrics import paired_difference, summarise
from dialer.pacing.simulator import DayResult


def _day(day: int, talk_s: float, live: int, abandoned: int) -> DayResult:
    return DayResult(
        day=day,
        answer_rate=0.2,
        logged_in_s=1000.0,
        talk_s=talk_s,
        wrap_s=100.0,
        live_answered=live,
        abandoned=abandoned,
        contacts=live - abandoned,
        connected_talk_s=talk_s,
        connected_wrap_s=100.0,
        waits=[1.0, 3.0],
    )


def test_pooled_and_daily_figures() -> None:
    summary = summarise({1: [_day(0, 600.0, 100, 1), _day(1, 500.0, 100, 5)]})
    assert summary.occupancy == pytest.approx(0.55)
    assert summary.abandon == pytest.approx(0.03)
    assert summary.worst_day == pytest.approx(0.05)
    assert summary.share_days_over == pytest.approx(0.5)
    assert summary.worst_30_days == pytest.approx(0.03)
    assert summary.wait_mean_s == pytest.approx(2.0)
    assert summary.ceiling == pytest.approx(1100.0 / 1300.0)
    assert summary.contacts_per_agent_hour == pytest.approx(194 / (2000.0 / 3600.0))
    assert not summary.compliant  # half of the days are above 3 %


def test_paired_difference_is_per_seed() -> None:
    ours = summarise({1: [_day(0, 600.0, 100, 0)], 2: [_day(0, 700.0, 100, 0)]})
    baseline = summarise({1: [_day(0, 500.0, 100, 0)], 2: [_day(0, 600.0, 100, 0)]})
    difference = paired_difference(ours, baseline)
    assert difference.mean == pytest.approx(0.1)
    assert difference.half_width == pytest.approx(0.0, abs=1e-12)
