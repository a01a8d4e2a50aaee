"""Classify the audio heard before answer: ringback, special information tones, an announcement.

Pure (numpy only). Carriers play a SIT (three rising tones, ITU-T E.180 / Telcordia GR-1162:
913.8 or 985.2 Hz, then 1370.6 or 1428.5 Hz, then 1776.7 Hz) before "the number you have dialed
is not in service"; that marks a number as not in service even when the final SIP code is vague.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dialer.outcomes import EarlyMedia

SAMPLE_RATE = 8000
_WINDOW = 320  # 40 ms: 25 Hz resolution separates the SIT frequencies
_SIT_BANDS = ((913.8, 985.2), (1370.6, 1428.5), (1776.7,))
_RINGBACK = (350.0, 400.0, 425.0, 440.0, 450.0, 480.0)
_SILENCE_RMS = 150.0
_TONAL_SHARE = 0.6  # share of a window's energy at one frequency for it to count as a tone
_MIN_TONE_WINDOWS = 4  # 160 ms of each SIT segment


def _tone_share(window: npt.NDArray[np.float64], frequency: float) -> float:
    n = window.size
    t = np.arange(n)
    phasor = np.exp(-2j * np.pi * frequency * t / SAMPLE_RATE)
    power = float(abs(np.dot(window, phasor)) ** 2)
    energy = float(np.dot(window, window))
    return 0.0 if energy == 0 else power / (energy * n / 2)


def classify(pcm: bytes) -> EarlyMedia:
    """Classify 8 kHz s16le mono audio."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
    count = samples.size // _WINDOW
    if count == 0:
        return EarlyMedia.SILENCE
    windows = samples[: count * _WINDOW].reshape(count, _WINDOW)
    rms = np.sqrt((windows**2).mean(axis=1))
    voiced = [window for window, level in zip(windows, rms, strict=True) if level >= _SILENCE_RMS]
    if not voiced:
        return EarlyMedia.SILENCE
    sit_hits = [0, 0, 0]
    ringback_hits = 0
    for window in voiced:
        for band, frequencies in enumerate(_SIT_BANDS):
            if max(_tone_share(window, f) for f in frequencies) >= _TONAL_SHARE:
                sit_hits[band] += 1
        if sum(_tone_share(window, f) for f in _RINGBACK) >= _TONAL_SHARE:
            ringback_hits += 1
    if min(sit_hits) >= _MIN_TONE_WINDOWS:
        return EarlyMedia.SIT_TONE
    if ringback_hits >= len(voiced) / 2:
        return EarlyMedia.RINGBACK
    return EarlyMedia.ANNOUNCEMENT
