"""The naive classifier of notes/pjsua2.md §5.4, kept as the benchmark's yardstick.

It times the first run of frames louder than a fixed RMS threshold (500): a run that ends
within `human_max_s` is a person, a run that reaches it is a recording. No VAD, no noise floor,
no beep, no word count. A run survives dips shorter than `bridge_s`, so that one word is one run.
"""

from __future__ import annotations

from dialer.amd.frames import rms, samples_of
from dialer.amd.verdict import FRAME_BYTES, FRAME_SECONDS, Kind


class RunLengthBaseline:
    def __init__(self, threshold_rms: float = 500.0, human_max_s: float = 2.0, bridge_s: float = 0.2) -> None:
        self._threshold = threshold_rms
        self._human_max_frames = round(human_max_s / FRAME_SECONDS)
        self._bridge_frames = round(bridge_s / FRAME_SECONDS)
        self._pending = bytearray()
        self._frame_count = 0
        self._run_start: int | None = None
        self._quiet = 0
        self._decision: tuple[Kind, float] | None = None

    def feed(self, pcm: bytes) -> tuple[Kind, float] | None:
        """Add audio; (kind, decided_after_s) once decided."""
        self._pending += pcm
        while self._decision is None and len(self._pending) >= FRAME_BYTES:
            frame = bytes(self._pending[:FRAME_BYTES])
            del self._pending[:FRAME_BYTES]
            self._decision = self._step(rms(samples_of(frame)) >= self._threshold)
        return self._decision

    def finish(self) -> tuple[Kind, float]:
        if self._decision is None:
            kind: Kind = "unknown" if self._run_start is None else "human"
            self._decision = (kind, self._frame_count * FRAME_SECONDS)
        return self._decision

    def _step(self, loud: bool) -> tuple[Kind, float] | None:
        self._frame_count += 1
        now = self._frame_count * FRAME_SECONDS
        if self._run_start is None:
            if loud:
                self._run_start = self._frame_count
            return None
        self._quiet = 0 if loud else self._quiet + 1
        run_frames = self._frame_count - self._quiet - self._run_start
        if run_frames >= self._human_max_frames:
            return ("machine", now)
        if self._quiet >= self._bridge_frames:
            return ("human", now)
        return None
