"""Synthetic test signals (8 kHz, float samples) and helpers to run a detector over them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dialer.amd import AmdConfig, AmdDetector, AmdVerdict

RATE = 8000
Signal = npt.NDArray[np.float64]


def silence(seconds: float) -> Signal:
    return np.zeros(round(seconds * RATE))


def voice(seconds: float, f0: float = 140.0, level_rms: float = 3000.0) -> Signal:
    """A buzz with the harmonics and syllable-rate loudness changes webrtcvad takes for speech."""
    t = np.arange(round(seconds * RATE)) / RATE
    harmonics = sum(np.sin(2 * np.pi * k * f0 * t + k) / k for k in range(1, 20))
    syllables = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    buzz = harmonics * syllables
    return np.asarray(buzz * level_rms / np.sqrt(np.mean(buzz**2)))


def tone(seconds: float, hz: float, level_rms: float = 3000.0) -> Signal:
    t = np.arange(round(seconds * RATE)) / RATE
    return np.asarray(level_rms * np.sqrt(2) * np.sin(2 * np.pi * hz * t))


def noise(seconds: float, level_rms: float, seed: int = 0) -> Signal:
    return np.random.default_rng(seed).normal(0.0, level_rms, round(seconds * RATE))


def words(count: int, word_s: float = 0.2, gap_s: float = 0.25) -> Signal:
    return np.concatenate([np.concatenate([voice(word_s), silence(gap_s)]) for _ in range(count)])


def pcm(*parts: Signal) -> bytes:
    return np.clip(np.round(np.concatenate(parts)), -32768, 32767).astype("<i2").tobytes()


def classify(audio: bytes, chunk: int = 320, config: AmdConfig | None = None) -> AmdVerdict:
    """Feed `audio` in chunks of `chunk` bytes until a verdict, then finish()."""
    detector = AmdDetector(config or AmdConfig())
    for start in range(0, len(audio), chunk):
        if detector.feed(audio[start : start + chunk]) is not None:
            break
    return detector.finish()
