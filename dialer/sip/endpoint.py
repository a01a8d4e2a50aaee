"""One pjsua2 Endpoint per process, owned by the thread that creates it (the "SIP thread").

pjsua2 is configured with no worker threads of its own (`threadCnt=0`) and `mainThreadOnly`, so
every SIP callback runs inside `libHandleEvents` on this thread. Other threads never touch pjsua2:
they hand callables to `SipLoop.submit`, which the loop runs between event slices.

`submit` also sends a CRLF keep-alive (RFC 5626 §3.5.1; pjsip ignores it) to the process's own
SIP socket, which ends the current `libHandleEvents` wait at once. So a command never waits for
the slice to run out, and an idle process can wait in long slices instead of polling.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import itertools
import queue
import random
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pjsua2 as pj

_PREFERRED_CODECS = ("PCMU/8000", "PCMA/8000")
_HOT_SLICE_MS = 20  # while `hot()` (audio listeners to feed), poll the hooks once per 20 ms frame
_IDLE_SLICE_MS = 100


class _StderrLogWriter(pj.LogWriter):  # type: ignore[misc]
    def write(self, entry: pj.LogEntry) -> None:
        sys.stderr.write(entry.msg if entry.msg.endswith("\n") else entry.msg + "\n")


@dataclass(order=True)
class Timer:
    due: float
    seq: int
    action: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True
        self.action = _nothing  # release what the action holds (players, ports) right away


def _nothing() -> None:
    pass


class SipLoop:
    """The Endpoint, its UDP transport, and the event loop of the SIP thread."""

    def __init__(self, bind_host: str, log_level: int, sip_port: int = 0) -> None:
        self.max_calls = int(pj.UaConfig().maxCalls)
        self.endpoint = pj.Endpoint()
        self.endpoint.libCreate()
        config = pj.EpConfig()
        config.uaConfig.threadCnt = 0
        config.uaConfig.mainThreadOnly = True
        config.uaConfig.userAgent = "Arrears"
        self._log_writer = _StderrLogWriter()  # pjsua2 keeps a raw pointer: hold the reference
        config.logConfig.writer = self._log_writer
        config.logConfig.level = log_level
        config.logConfig.consoleLevel = log_level
        config.logConfig.decor = 0
        # Telephony audio is 8 kHz; running the bridge at 8 kHz avoids resampling every frame.
        config.medConfig.clockRate = 8000
        config.medConfig.sndClockRate = 8000
        config.medConfig.ecTailLen = 0
        config.medConfig.noVad = True
        config.medConfig.threadCnt = 1
        # The null sound device is the bridge's clock, and pjsua closes an idle device after 1 s by
        # default. The 2.15 bridge applies removals on clock ticks, so with the clock gone a
        # destroyed recorder would never be closed (its WAV never finalised). Keep the clock.
        config.medConfig.sndAutoCloseTime = -1
        self.endpoint.libInit(config)
        transport = pj.TransportConfig()
        transport.port = sip_port
        transport.boundAddress = bind_host
        transport_id = self.endpoint.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
        self.sip_port = int(str(self.endpoint.transportGetInfo(transport_id).localName).rsplit(":", 1)[1])
        self.bind_host = bind_host
        self.endpoint.libStart()
        self.endpoint.audDevManager().setNullDev()
        for codec in self.endpoint.codecEnum2():
            keep = any(codec.codecId.startswith(name) for name in _PREFERRED_CODECS)
            self.endpoint.codecSetPriority(codec.codecId, 200 if keep else 0)
        # pjsua starts every process's RTP ports at 4000 and probes upwards on collisions; a
        # random even base per process keeps parallel processes from stepping on each other.
        self.rtp_base_port = random.randrange(10000, 60000, 2)
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._timers: list[Timer] = []
        self._timer_seq = itertools.count()
        self.idle_hooks: list[Callable[[], None]] = []
        self.hot: Callable[[], bool] = lambda: False
        self.stopping = False
        self._waker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def account_config(self, id_uri: str) -> pj.AccountConfig:
        config = pj.AccountConfig()
        config.idUri = id_uri
        config.mediaConfig.transportConfig.port = self.rtp_base_port
        config.mediaConfig.transportConfig.portRange = 2000
        config.mediaConfig.transportConfig.boundAddress = self.bind_host
        return config

    def submit(self, action: Callable[[], None]) -> None:
        """Run `action` on the SIP thread. Safe to call from any thread."""
        self._commands.put(action)
        with contextlib.suppress(OSError):  # if it fails, the loop still runs it after this slice
            self._waker.sendto(b"\r\n\r\n", (self.bind_host, self.sip_port))

    def call_later(self, delay_s: float, action: Callable[[], None]) -> Timer:
        """Schedule `action` on the SIP thread. Call only from the SIP thread."""
        timer = Timer(time.monotonic() + delay_s, next(self._timer_seq), action)
        heapq.heappush(self._timers, timer)
        return timer

    def run(self, guard: Callable[[Callable[[], None]], None]) -> None:
        """Serve until `stopping` is set. `guard` runs each action and must not raise."""
        while not self.stopping:
            while True:
                try:
                    action = self._commands.get_nowait()
                except queue.Empty:
                    break
                guard(action)
            now = time.monotonic()
            while self._timers and self._timers[0].due <= now:
                timer = heapq.heappop(self._timers)
                if not timer.cancelled:
                    guard(timer.action)
            for hook in self.idle_hooks:
                guard(hook)
            self.endpoint.libHandleEvents(self._slice_ms())

    def _slice_ms(self) -> int:
        if self.hot():
            return _HOT_SLICE_MS
        if self._timers:
            until_due = (self._timers[0].due - time.monotonic()) * 1000
            return int(min(_IDLE_SLICE_MS, max(0.0, until_due)))
        return _IDLE_SLICE_MS

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.endpoint.libHandleEvents(10)

    def destroy(self, release: Callable[[], None]) -> None:
        """Hang up everything, let `release` drop every pjsua2 object, then destroy the library."""
        self.endpoint.hangupAllCalls()
        self.pump(0.5)
        release()
        self._timers.clear()  # pending timers may hold media objects, which must not outlive the library
        while not self._commands.empty():
            self._commands.get_nowait()
        gc.collect()
        self.pump(0.1)
        self.endpoint.libDestroy()
        self._waker.close()
