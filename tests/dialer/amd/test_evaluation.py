"""Scoring of classifier outcomes."""

from __future__ import annotations

import pytest

from dialer.amd import Kind
from dialer.amd.corpus_spec import Label
from dialer.amd.evaluation import Outcome, score


def outcome(label: Label, kind: Kind, after_s: float) -> Outcome:
    return Outcome(label, kind, after_s, "")


def test_scores_count_unknown_as_wrong_and_split_errors_by_true_label() -> None:
    scores = score(
        [
            outcome("human", "human", 1.0),
            outcome("human", "human", 2.0),
            outcome("human", "machine", 3.0),
            outcome("human", "unknown", 5.0),
            outcome("machine", "machine", 3.0),
            outcome("machine", "human", 1.0),
        ]
    )
    assert scores.clips == 6
    assert scores.accuracy == pytest.approx(3 / 6)
    assert scores.humans_as_machine == pytest.approx(1 / 4)
    assert scores.machines_as_human == pytest.approx(1 / 2)
    assert scores.unknown == pytest.approx(1 / 6)
    assert scores.human_decision_s == pytest.approx((2.5, 4.4))
    assert scores.machine_decision_s == pytest.approx((2.0, 2.8))


def test_empty_classes_score_zero() -> None:
    scores = score([outcome("machine", "machine", 3.0)])
    assert scores.humans_as_machine == 0.0
    assert scores.human_decision_s == (0.0, 0.0)
    assert scores.accuracy == 1.0
