"""Per-frame measurements: loudness, a noise floor that follows the line, and narrow-band tones.

Each function works on one 20 ms frame and costs a few microseconds, so the detector can run on
every frame of every call being classified.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import numpy.typing as npt

from dialer.amd.verdict import FRAME_SAMPLES, SAMPLE_RATE

Samples = npt.NDArray[np.float32]

_WINDOW = np.hanning(FRAME_SAMPLES).astype(np.float32)
_BIN_HZ = SAMPLE_RATE / FRAME_SAMPLES  # 50 Hz per bin of a 160-point FFT
_PEAK_HALF_WIDTH = 2  # a Hann-windowed pure tone spreads over about five bins


def samples_of(frame: bytes) -> Samples:
    return np.frombuffer(frame, dtype="<i2").astype(np.float32)


def rms(samples: Samples) -> float:
    return math.sqrt(float(np.dot(samples, samples)) / len(samples))


class ToneMeter:
    """Finds a frame's dominant frequency when nearly all of its energy sits around it.

    Voiced speech has many harmonics, so its peak holds a minority of the energy; a record beep
    is one sinusoid and holds almost all of it. The exception is a high voice whose fundamental
    dominates, which is why the band should start above speech fundamentals (about 500 Hz).
    """

    def __init__(self, low_hz: float, high_hz: float, purity: float) -> None:
        self._low_bin = max(math.ceil(low_hz / _BIN_HZ), _PEAK_HALF_WIDTH)
        self._high_bin = min(math.floor(high_hz / _BIN_HZ), FRAME_SAMPLES // 2 - _PEAK_HALF_WIDTH)
        self._purity = purity

    def tone_hz(self, samples: Samples) -> float | None:
        """The frequency of the frame's tone, or None if the frame is not a pure tone in the band."""
        spectrum = np.abs(np.fft.rfft(samples * _WINDOW)) ** 2
        peak = self._low_bin + int(np.argmax(spectrum[self._low_bin : self._high_bin + 1]))
        around_peak = float(spectrum[peak - _PEAK_HALF_WIDTH : peak + _PEAK_HALF_WIDTH + 1].sum())
        if around_peak == 0.0 or around_peak < self._purity * float(spectrum.sum()):
            return None
        # Parabola through the log magnitudes of the peak and its neighbours: sub-bin frequency.
        left, centre, right = np.log(spectrum[peak - 1 : peak + 2] + 1e-9)
        curvature = left - 2 * centre + right
        offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
        return (peak + float(offset)) * _BIN_HZ


class NoiseFloor:
    """The quietest frame RMS over a sliding window (minimum statistics, kept in blocks).

    A person pauses between phrases, so the minimum over a few seconds is the line's noise; the
    window lets the floor rise again when the noise gets louder.
    """

    _BLOCK_FRAMES = 25  # 0.5 s blocks: the window moves in half-second steps

    def __init__(self, window_frames: int) -> None:
        self._previous_blocks: deque[float] = deque(maxlen=max(window_frames // self._BLOCK_FRAMES, 1))
        self._block_min = math.inf
        self._block_fill = 0

    def update(self, frame_rms: float) -> float:
        """Take in one frame's RMS and return the floor including it."""
        self._block_min = min(self._block_min, frame_rms)
        self._block_fill += 1
        floor = min(self._block_min, *self._previous_blocks) if self._previous_blocks else self._block_min
        if self._block_fill == self._BLOCK_FRAMES:
            self._previous_blocks.append(self._block_min)
            self._block_min = math.inf
            self._block_fill = 0
        return floor
