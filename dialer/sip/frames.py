"""A conference-bridge port that copies the audio of a call out of the bridge clock thread.

`onFrameReceived` runs on the bridge clock thread that mixes every call of the process, so it does
nothing but copy the 320-byte frame into a deque. The SIP thread drains the deque.
"""

from __future__ import annotations

import ctypes
import time
from collections import deque

import pjsua2 as pj


def frame_bytes(frame: pj.MediaFrame) -> bytes:
    """Copy a MediaFrame's payload.

    pjsua2 2.15 exposes the payload as a SWIG `std::vector<unsigned char>`; iterating it costs
    about 200 µs per frame. The vector's first two words are its begin and end pointers
    (libstdc++ layout), so reading them and copying the range takes about 2 µs.
    """
    vector = int(frame.buf.this)
    begin = ctypes.c_void_p.from_address(vector).value
    end = ctypes.c_void_p.from_address(vector + ctypes.sizeof(ctypes.c_void_p)).value
    if not begin or not end or end <= begin:
        return b""
    return ctypes.string_at(begin, end - begin)


class FrameTap(pj.AudioMediaPort):  # type: ignore[misc]
    def __init__(self, name: str, max_frames: int = 500) -> None:
        super().__init__()
        self.frames: deque[bytes] = deque(maxlen=max_frames)
        audio_format = pj.MediaFormatAudio()
        audio_format.type = pj.PJMEDIA_TYPE_AUDIO
        audio_format.clockRate = 8000
        audio_format.channelCount = 1
        audio_format.bitsPerSample = 16
        audio_format.frameTimeUsec = 20000
        self.createPort(name, audio_format)

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:  # noqa: N802 - pjsua2 callback name
        try:
            if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO:
                self.frames.append(frame_bytes(frame))
        except Exception:  # noqa: S110 - never let an exception reach the bridge clock thread
            pass

    def drain(self) -> list[bytes]:
        taken = []
        while self.frames:
            taken.append(self.frames.popleft())
        return taken


class TapPool:
    """Frame taps made once and reused, so no media port is ever destroyed.

    pjsua 2.15 frees an `AudioMediaPort` as soon as it is destroyed while its removal from the
    bridge is still queued for the clock thread (pjproject #4200), so per-call create/destroy
    invites a use-after-free under load. A tap returned to the pool rests for a while before its
    next use, so the asynchronous disconnect from its last call has certainly been applied.
    """

    REST_S = 1.0

    def __init__(self, size: int) -> None:
        self._free = [FrameTap(f"tap-{number}") for number in range(size)]
        self._resting: deque[tuple[float, FrameTap]] = deque()

    def take(self) -> FrameTap | None:
        now = time.monotonic()
        while self._resting and now - self._resting[0][0] >= self.REST_S:
            self._free.append(self._resting.popleft()[1])
        if not self._free:
            return None
        tap = self._free.pop()
        tap.frames.clear()
        return tap

    def give_back(self, tap: FrameTap) -> None:
        self._resting.append((time.monotonic(), tap))
