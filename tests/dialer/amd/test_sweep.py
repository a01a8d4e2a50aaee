"""The sweep of the short-greeting rule, on synthetic greetings."""

from __future__ import annotations

import pytest

from dialer.amd import AmdConfig
from dialer.amd.corpus_spec import Label
from dialer.amd.sweep import fastest_within, sweep
from tests.dialer.amd.signals import pcm, silence, voice

PERSON: tuple[Label, bytes] = ("human", pcm(silence(0.3), voice(0.5), silence(3.0)))
# A recording whose first word is followed by a 0.4 s pause, then talks on.
RECORDING: tuple[Label, bytes] = ("machine", pcm(silence(0.3), voice(0.4), silence(0.4), voice(3.0)))


def test_shorter_silence_decides_people_sooner_but_lets_pausing_recordings_through() -> None:
    trials = sweep([PERSON, RECORDING], AmdConfig(), greeting_limits_s=(1.0,), silences_s=(0.3, 0.6))
    quick, patient = trials
    assert (quick.human_silence_s, patient.human_silence_s) == (0.3, 0.6)
    assert quick.scores.human_decision_s[0] == pytest.approx(1.1)
    assert quick.scores.machines_as_human == 1.0
    assert patient.scores.human_decision_s[0] == pytest.approx(1.4)
    assert patient.scores.machines_as_human == 0.0


def test_fastest_within_keeps_to_the_accuracy_bounds() -> None:
    trials = sweep([PERSON, RECORDING], AmdConfig(), greeting_limits_s=(1.0,), silences_s=(0.3, 0.6))
    assert fastest_within(trials, 0.95, 0.02) is trials[1]
    assert fastest_within(trials, 0.5, 0.02) is trials[0]
    assert fastest_within(trials, 1.0, 0.0) is trials[1]
    assert fastest_within(trials[:1], 0.95, 0.02) is None
