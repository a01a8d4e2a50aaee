"""Per-frame measurements: loudness, tone finding, noise floor."""

from __future__ import annotations

import numpy as np
import pytest

from dialer.amd.frames import NoiseFloor, ToneMeter, rms, samples_of
from tests.dialer.amd.signals import noise, pcm, silence, tone, voice

METER = ToneMeter(low_hz=600.0, high_hz=2500.0, purity=0.7)


def frame(signal: np.ndarray) -> np.ndarray:
    return samples_of(pcm(signal)[:320])


@pytest.mark.parametrize(
    ("signal", "expected"),
    [(silence(0.02), 0.0), (tone(0.02, 1000.0, level_rms=1000.0), 1000.0), (noise(0.02, 500.0), 500.0)],
    ids=["silence", "tone", "noise"],
)
def test_rms(signal: np.ndarray, expected: float) -> None:
    assert rms(frame(signal)) == pytest.approx(expected, rel=0.15, abs=1.0)


def test_samples_are_little_endian_signed() -> None:
    assert samples_of(b"\x01\x00\xff\xff\x00\x80").tolist() == [1.0, -1.0, -32768.0]


@pytest.mark.parametrize("hz", [650.0, 850.0, 1000.0, 1400.0, 2100.0])
def test_pure_tones_in_band_are_found_within_a_few_hertz(hz: float) -> None:
    found = METER.tone_hz(frame(tone(0.02, hz)))
    assert found == pytest.approx(hz, abs=5.0)


NOT_TONES = {
    "silence": silence(0.02),
    "white noise": noise(0.02, 1000.0),
    "voice": voice(0.02),
    "tone below the band": tone(0.02, 440.0),
    "tone above the band": tone(0.02, 3000.0),
    "two tones": tone(0.02, 700.0) + tone(0.02, 1900.0),
}


@pytest.mark.parametrize("signal", NOT_TONES.values(), ids=NOT_TONES.keys())
def test_other_frames_are_not_tones(signal: np.ndarray) -> None:
    assert METER.tone_hz(frame(signal)) is None


def test_a_tone_in_noise_still_counts_at_fifteen_db() -> None:
    noisy = tone(0.02, 1000.0, level_rms=1000.0) + noise(0.02, 178.0)
    assert METER.tone_hz(frame(noisy)) == pytest.approx(1000.0, abs=20.0)


def test_noise_floor_follows_the_quietest_frame_then_forgets_it() -> None:
    floor = NoiseFloor(window_frames=50)  # two half-second blocks
    assert floor.update(100.0) == 100.0
    assert floor.update(10.0) == 10.0
    assert floor.update(500.0) == 10.0
    readings = [floor.update(200.0) for _ in range(100)]
    assert readings[0] == 10.0
    assert readings[-1] == 200.0  # the quiet frame has left the window
