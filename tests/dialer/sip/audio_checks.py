"""Helpers that look at audio files written by the SIP layer."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def voiced_seconds(path: Path, threshold_rms: float = 300.0) -> float:
    """Seconds of a 16-bit mono WAV whose 100 ms windows are louder than `threshold_rms`."""
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    window = rate // 10
    count = samples.size // window
    if count == 0:
        return 0.0
    rms = np.sqrt((samples[: count * window].reshape(count, window) ** 2).mean(axis=1))
    return float((rms > threshold_rms).sum()) / 10
