"""Listeners attached to a call's audio for a few seconds: answering-machine detection and the
early-media classifier. Both consume frames copied by a `FrameTap` on the SIP thread, never on the
bridge clock thread."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

# Imported with the worker, not at the first answer: loading the detector's modules on the SIP
# thread just after an answer delayed the tap by 20 ms, and by seconds on a loaded machine, long
# enough to miss the "Hello?".
from dialer.amd import AmdConfig, AmdDetector, AmdVerdict
from dialer.outcomes import EarlyMedia
from dialer.sip import early_media
from dialer.sip.frames import FrameTap


class _Detector(Protocol):
    def feed(self, pcm: bytes) -> AmdVerdict | None: ...

    def finish(self) -> AmdVerdict: ...


@dataclass(frozen=True)
class Verdict:
    kind: str  # "human" | "machine" | "unknown"
    decided_after_s: float
    reason: str


@dataclass
class AmdSession:
    tap: FrameTap
    detector: _Detector
    window_s: float
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def start(cls, tap: FrameTap, window_s: float) -> AmdSession:
        return cls(tap=tap, detector=AmdDetector(AmdConfig()), window_s=window_s)

    def poll(self) -> Verdict | None:
        """Feed the frames copied since the last poll; return the verdict once there is one."""
        for frame in self.tap.drain():
            verdict = self.detector.feed(frame)
            if verdict is not None:
                return _convert(verdict)
        if time.monotonic() - self.started >= self.window_s:
            return _convert(self.detector.finish())
        return None

    def finish(self) -> Verdict:
        for frame in self.tap.drain():
            verdict = self.detector.feed(frame)
            if verdict is not None:
                return _convert(verdict)
        return _convert(self.detector.finish())


def _convert(verdict: AmdVerdict) -> Verdict:
    return Verdict(
        kind=str(verdict.kind), decided_after_s=float(verdict.decided_after_s), reason=verdict.reason
    )


@dataclass
class EarlyMediaSession:
    """Collects up to `max_s` of early media, then classifies it."""

    tap: FrameTap
    max_s: float = 3.0
    pcm: bytearray = field(default_factory=bytearray)

    @property
    def full(self) -> bool:
        return len(self.pcm) >= int(self.max_s * 16000)

    def poll(self) -> None:
        for frame in self.tap.drain():
            if not self.full:
                self.pcm.extend(frame)

    def classify(self) -> EarlyMedia:
        self.poll()
        return early_media.classify(bytes(self.pcm))
