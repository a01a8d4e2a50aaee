"""The trade-off behind the short-greeting rule: how long a greeting may be and how much silence
must follow it before the detector says "human".

Shorter silence decides people sooner but starts firing on the pauses inside recorded greetings
("Hi, [pause] you've reached ..."), so machines pass as people. The sweep scores every pair on one
seed of the generated set; choose on the tuning seed, report on the held-out one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from dialer.amd.corpus_spec import Label
from dialer.amd.evaluation import Scores, detect, score
from dialer.amd.verdict import AmdConfig

GREETING_LIMITS_S = (0.8, 1.0, 1.2)
SILENCES_S = (0.3, 0.36, 0.44, 0.52, 0.6)


@dataclass(frozen=True, slots=True)
class Trial:
    human_greeting_s: float
    human_silence_s: float
    scores: Scores


def sweep(
    clips: Sequence[tuple[Label, bytes]],
    base: AmdConfig,
    greeting_limits_s: Sequence[float] = GREETING_LIMITS_S,
    silences_s: Sequence[float] = SILENCES_S,
) -> list[Trial]:
    """Score `base` with each (greeting limit, silence) pair, in grid order."""
    trials = []
    for greeting_s in greeting_limits_s:
        for silence_s in silences_s:
            config = dataclasses.replace(base, human_greeting_s=greeting_s, human_silence_s=silence_s)
            outcomes = [detect(pcm, label, config) for label, pcm in clips]
            trials.append(Trial(greeting_s, silence_s, score(outcomes)))
    return trials


def fastest_within(
    trials: Sequence[Trial], min_accuracy: float, max_humans_as_machine: float
) -> Trial | None:
    """The trial with the earliest median human decision among those meeting both bounds."""
    eligible = [
        trial
        for trial in trials
        if trial.scores.accuracy >= min_accuracy and trial.scores.humans_as_machine <= max_humans_as_machine
    ]
    return min(eligible, key=lambda trial: trial.scores.human_decision_s[0], default=None)
