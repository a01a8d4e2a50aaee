"""Run classifiers over labelled audio the way a call would (20 ms frames) and score them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dialer.amd.baseline import RunLengthBaseline
from dialer.amd.corpus_spec import Label
from dialer.amd.detector import AmdDetector
from dialer.amd.verdict import FRAME_BYTES, AmdConfig, Kind


@dataclass(frozen=True, slots=True)
class Outcome:
    label: Label
    kind: Kind
    decided_after_s: float
    reason: str
    greeting_ended_s: float | None = None  # when the last word heard before the verdict ended


@dataclass(frozen=True, slots=True)
class Scores:
    clips: int
    accuracy: float  # "unknown" counts as wrong
    humans_as_machine: float  # share of humans
    machines_as_human: float  # share of machines
    unknown: float  # share of all clips
    human_decision_s: tuple[float, float]  # p50, p90 over human clips
    machine_decision_s: tuple[float, float]
    human_greeting_ended_s: float | None  # p50 over human clips called human, if known


def detect(pcm: bytes, label: Label, config: AmdConfig) -> Outcome:
    detector = AmdDetector(config)
    for start in range(0, len(pcm), FRAME_BYTES):
        if detector.feed(pcm[start : start + FRAME_BYTES]) is not None:
            break
    verdict = detector.finish()
    features = verdict.features
    ended = features.initial_silence_s + features.greeting_s if features.words else None
    return Outcome(label, verdict.kind, verdict.decided_after_s, verdict.reason, ended)


def detect_baseline(pcm: bytes, label: Label) -> Outcome:
    baseline = RunLengthBaseline()
    for start in range(0, len(pcm), FRAME_BYTES):
        if baseline.feed(pcm[start : start + FRAME_BYTES]) is not None:
            break
    kind, decided_after_s = baseline.finish()
    return Outcome(label, kind, decided_after_s, "first loud run")


def score(outcomes: Sequence[Outcome]) -> Scores:
    humans = [outcome for outcome in outcomes if outcome.label == "human"]
    machines = [outcome for outcome in outcomes if outcome.label == "machine"]
    return Scores(
        clips=len(outcomes),
        accuracy=_share(outcomes, lambda outcome: outcome.kind == outcome.label),
        humans_as_machine=_share(humans, lambda outcome: outcome.kind == "machine"),
        machines_as_human=_share(machines, lambda outcome: outcome.kind == "human"),
        unknown=_share(outcomes, lambda outcome: outcome.kind == "unknown"),
        human_decision_s=_p50_p90(humans),
        machine_decision_s=_p50_p90(machines),
        human_greeting_ended_s=_greeting_end_p50(humans),
    )


def _share(outcomes: Sequence[Outcome], predicate: Callable[[Outcome], bool]) -> float:
    if not outcomes:
        return 0.0
    return sum(1 for outcome in outcomes if predicate(outcome)) / len(outcomes)


def _greeting_end_p50(humans: Sequence[Outcome]) -> float | None:
    ends = [o.greeting_ended_s for o in humans if o.kind == "human" and o.greeting_ended_s is not None]
    return float(np.percentile(np.array(ends), 50)) if ends else None


def _p50_p90(outcomes: Sequence[Outcome]) -> tuple[float, float]:
    if not outcomes:
        return (0.0, 0.0)
    times = np.array([outcome.decided_after_s for outcome in outcomes])
    return (float(np.percentile(times, 50)), float(np.percentile(times, 90)))
