"""The detector's rules on synthetic signals, and its streaming contract."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.amd import AmdConfig, AmdDetector, AmdVerdict
from tests.dialer.amd.signals import classify, noise, pcm, silence, tone, voice, words

CASES = {
    "silence": (pcm(silence(6.0)), "unknown", 3.0, "no speech in 3.0 s"),
    "steady white noise": (pcm(noise(6.0, 800.0)), "unknown", 3.0, "no speech in 3.0 s"),
    "hello after a long initial silence": (
        pcm(silence(2.5), voice(0.5), silence(3.0)),
        "human",
        3.44,
        "greeting 0.5 s then 0.4 s",
    ),
    "hello then waiting": (
        pcm(silence(0.3), voice(0.5), silence(3.0)),
        "human",
        1.24,
        "greeting 0.5 s then 0.4 s",
    ),
    "hello over line noise": (
        pcm(noise(0.3, 100.0), voice(0.5) + noise(0.5, 100.0, 1), noise(3.0, 100.0, 2)),
        "human",
        1.24,
        "then 0.4 s of silence",
    ),
    "greeting just too long for the short silence rule": (
        pcm(silence(0.3), voice(1.1), silence(3.0)),
        "human",
        2.6,
        "greeting 1.1 s then a 1.2 s pause",
    ),
    "medium greeting then a long pause": (
        pcm(silence(0.3), voice(1.8), silence(3.0)),
        "human",
        3.3,
        "1.2 s pause",
    ),
    "long greeting": (pcm(silence(0.3), voice(4.0)), "machine", 2.8, "greeting 2.5 s > 2.5 s"),
    "many short words": (pcm(silence(0.3), words(8), silence(2.0)), "machine", 2.16, "5 words > 4"),
    "greeting then beep": (
        pcm(silence(0.3), voice(1.0), silence(0.2), tone(0.5, 1000.0), silence(2.0)),
        "machine",
        1.66,
        "beep",
    ),
}


@pytest.mark.parametrize(("audio", "kind", "after_s", "reason"), CASES.values(), ids=CASES.keys())
def test_rules(audio: bytes, kind: str, after_s: float, reason: str) -> None:
    verdict = classify(audio)
    assert verdict.kind == kind
    assert verdict.decided_after_s == pytest.approx(after_s)
    assert reason in verdict.reason


def test_features_of_a_human_greeting() -> None:
    features = classify(pcm(silence(0.4), voice(0.6), silence(3.0))).features
    assert features.initial_silence_s == pytest.approx(0.4)
    assert features.greeting_s == pytest.approx(0.6)
    assert features.words == 1
    assert features.after_greeting_silence_s == pytest.approx(0.44)
    assert not features.beep


def test_beep_below_the_band_is_not_a_beep() -> None:
    # 440 Hz is where high voices have their fundamental, so it is left to the length rules.
    verdict = classify(pcm(silence(0.3), voice(1.0), silence(0.2), tone(0.5, 440.0), silence(2.0)))
    assert not verdict.features.beep


def test_quiet_speech_below_the_absolute_floor_is_not_heard() -> None:
    verdict = classify(pcm(silence(0.3), voice(3.0, level_rms=30.0), silence(3.0)))
    assert verdict.kind == "unknown"
    assert verdict.features.words == 0


def test_finish_before_any_audio_is_unknown() -> None:
    verdict = AmdDetector(AmdConfig()).finish()
    assert verdict.kind == "unknown"
    assert verdict.decided_after_s == 0.0


FINISH_CASES = {
    "mid-greeting, short so far": (pcm(silence(0.3), voice(0.8)), "unknown", "still speaking"),
    "mid-greeting, long so far": (pcm(silence(0.3), voice(2.0)), "machine", "still undecided"),
    "short greeting that ended": (pcm(silence(0.3), voice(0.5), silence(0.3)), "human", "that ended"),
}


@pytest.mark.parametrize(("audio", "kind", "reason"), FINISH_CASES.values(), ids=FINISH_CASES.keys())
def test_finish_decides_from_what_was_heard(audio: bytes, kind: str, reason: str) -> None:
    detector = AmdDetector(AmdConfig())
    assert detector.feed(audio) is None
    verdict = detector.finish()
    assert verdict.kind == kind
    assert verdict.decided_after_s == pytest.approx(len(audio) // 320 * 0.02)
    assert reason in verdict.reason


def test_verdict_is_sticky() -> None:
    detector = AmdDetector(AmdConfig())
    verdict = detector.feed(pcm(silence(0.3), voice(4.0)))
    assert verdict is not None
    assert detector.feed(pcm(silence(5.0))) is verdict
    assert detector.finish() is verdict
    assert detector.verdict is verdict


def test_feeding_stops_at_the_decision() -> None:
    # One big chunk decides at the same audio time as 20 ms frames would.
    audio = pcm(silence(0.3), voice(0.5), silence(3.0))
    verdict = AmdDetector(AmdConfig()).feed(audio)
    assert verdict is not None
    assert verdict.decided_after_s == pytest.approx(1.24)


CONFIG_ERRORS = {
    "vad mode": {"vad_mode": 4},
    "purity above one": {"beep_purity": 1.5},
    "band upside down": {"beep_low_hz": 2000.0, "beep_high_hz": 1000.0},
    "band past Nyquist": {"beep_high_hz": 4000.0},
    "negative time": {"human_silence_s": -0.1},
    "zero words": {"max_human_words": 0},
}


@pytest.mark.parametrize("changes", CONFIG_ERRORS.values(), ids=CONFIG_ERRORS.keys())
def test_config_rejects_nonsense(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        dataclasses.replace(AmdConfig(), **changes)


# One call's worth of audio: a greeting of random length and level after random silence, with
# random line noise, so that every rule gets exercised across examples.
calls = st.builds(
    lambda lead, speech, level, hiss, seed: (
        pcm(silence(lead), voice(speech, level_rms=level), silence(2.0))
        if hiss == 0
        else pcm(
            noise(lead, hiss, seed),
            voice(speech, level_rms=level) + noise(speech, hiss, seed + 1),
            noise(2.0, hiss, seed + 2),
        )
    ),
    st.floats(0.0, 1.5),
    st.floats(0.1, 3.0),
    st.floats(100.0, 8000.0),
    st.sampled_from([0.0, 30.0, 300.0]),
    st.integers(0, 1000),
)


@settings(max_examples=30, deadline=None)
@given(audio=calls, cuts=st.lists(st.integers(1, 2000), min_size=1, max_size=40))
def test_chunking_does_not_change_the_verdict(audio: bytes, cuts: list[int]) -> None:
    reference = classify(audio)
    detector = AmdDetector(AmdConfig())
    position, verdict = 0, None
    for size in cuts * (len(audio) // sum(cuts) + 1):
        verdict = detector.feed(audio[position : position + size])
        position += size
        if verdict is not None or position >= len(audio):
            break
    assert (verdict or detector.finish()) == reference


@settings(max_examples=30, deadline=None)
@given(audio=calls)
def test_feeding_is_deterministic(audio: bytes) -> None:
    assert classify(audio) == classify(audio)


@settings(max_examples=30, deadline=None)
@given(
    seconds=st.floats(0.0, 8.0),
    level=st.sampled_from([0.0, 5.0, 50.0, 500.0, 3000.0]),
    seed=st.integers(0, 1000),
    chunk=st.integers(1, 1000),
)
def test_silence_and_steady_noise_are_never_human(
    seconds: float, level: float, seed: int, chunk: int
) -> None:
    verdict = classify(pcm(noise(seconds, level, seed)), chunk=chunk)
    assert verdict.kind != "human"


@settings(max_examples=50, deadline=None)
@given(audio=st.binary(max_size=4000).map(lambda data: data[: len(data) // 2 * 2]))
def test_finish_always_gives_a_verdict(audio: bytes) -> None:
    detector = AmdDetector(AmdConfig())
    detector.feed(audio)
    verdict = detector.finish()
    assert isinstance(verdict, AmdVerdict)
    assert verdict.kind in ("human", "machine", "unknown")
    assert 0.0 <= verdict.decided_after_s <= len(audio) / 16000
