"""The simulated carrier's front door: one UDP port that spreads calls over backend processes.

A pjsua2 process holds at most 4 calls, so the carrier runs a pool of backends
(`dialer.carrier.backend`) and answers each INVITE statelessly:

- profiles that fail at once get their final response here (486 busy, 503 network failure),
  with a Q.850 Reason header, as a carrier's switch would send them;
- every other INVITE gets `302 Moved Temporarily` to the least-loaded backend with a free slot,
  or `503` with Q.850 cause 34 (no circuit available) when the pool is full.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from typing import cast

from dialer.carrier.audio import carrier_audio
from dialer.carrier.profiles import Profile, behaviour_for
from dialer.sip.sipmsg import SipMessage, parse, user_part

_PENDING_S = 1.5  # a redirected INVITE is expected at its backend within this time
_FAST_FAILURES = {
    Profile.BUSY: (486, "Busy Here", 'Q.850;cause=17;text="User busy"'),
    Profile.NETWORK_FAILURE: (503, "Service Unavailable", 'Q.850;cause=38;text="Network out of order"'),
}


@dataclass
class BackendProcess:
    process: asyncio.subprocess.Process
    port: int
    capacity: int
    load: int = 0
    pending: list[float] = field(default_factory=list)

    def expected(self, now: float) -> int:
        self.pending = [at for at in self.pending if now - at < _PENDING_S]
        return self.load + len(self.pending)


def response(request: SipMessage, code: int, text: str, extra: list[tuple[str, str]]) -> bytes:
    """A stateless response to `request` (RFC 3261 §8.2.6), with a To tag stable across retransmits."""
    lines = [f"SIP/2.0 {code} {text}"]
    lines += [f"Via: {via}" for via in request.all("via")]
    to = request.header("to") or ""
    if ";tag=" not in to and code > 100:
        tag = hashlib.sha1((request.header("call-id") or "").encode(), usedforsecurity=False).hexdigest()[:10]
        to = f"{to};tag={tag}"
    lines += [f"From: {request.header('from')}", f"To: {to}", f"Call-ID: {request.header('call-id')}"]
    lines += [f"CSeq: {request.header('cseq')}", "Server: Arrears carrier simulator"]
    lines += [f"{name}: {value}" for name, value in extra]
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Front(asyncio.DatagramProtocol):
    def __init__(self, host: str, seed: int, backends: list[BackendProcess]) -> None:
        self.host = host
        self.seed = seed
        self.backends = backends
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        try:
            message = parse(data.decode("utf-8", "replace"))
        except (ValueError, IndexError):
            return
        if not message.is_request or message.method == "ACK" or self.transport is None:
            return
        self.transport.sendto(self._answer(message), addr)

    def _log_invite(self, request: SipMessage, user: str, profile: Profile) -> None:
        """One line per new INVITE on stdout, so tests and demos can see what the dialer sent."""
        fields = {
            "user": user,
            "profile": str(profile),
            "from": request.header("from") or "",
            "pai": request.header("p-asserted-identity") or "",
            "attempt": request.header("x-arrears-attempt") or "",
        }
        print("invite " + json.dumps(fields), flush=True)

    def _answer(self, request: SipMessage) -> bytes:
        if request.method != "INVITE":
            return response(request, 200, "OK", [])
        user = user_part(request.request_uri)
        profile = behaviour_for(user, self.seed).profile
        self._log_invite(request, user, profile)
        if profile in _FAST_FAILURES:
            code, text, reason = _FAST_FAILURES[profile]
            return response(request, code, text, [("Reason", reason)])
        now = time.monotonic()
        free = [b for b in self.backends if b.expected(now) < b.capacity]
        if not free:
            reason = 'Q.850;cause=34;text="No circuit available"'
            return response(request, 503, "Service Unavailable", [("Reason", reason)])
        backend = min(free, key=lambda b: b.expected(now))
        backend.pending.append(now)
        contact = f"<sip:{user}@{self.host}:{backend.port}>"
        return response(request, 302, "Moved Temporarily", [("Contact", contact)])


async def _start_backend(host: str, seed: int, capacity: int) -> BackendProcess:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dialer.carrier.backend",
        host,
        str(seed),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60.0)).decode().split()
    if line[:1] != ["ready"]:
        raise RuntimeError(f"carrier backend did not start: {line}")
    return BackendProcess(process, int(line[1]), capacity)


async def _follow_load(backend: BackendProcess) -> None:
    assert backend.process.stdout is not None
    while line := await backend.process.stdout.readline():
        kind, _, value = line.decode().partition(" ")
        if kind == "load":
            load = int(value)
            if load > backend.load and backend.pending:
                backend.pending.pop(0)  # the redirected INVITE arrived
            backend.load = load


async def serve(host: str, port: int, seed: int, backends: int, ready: asyncio.Event | None = None) -> None:
    """Run the carrier until cancelled."""
    import pjsua2 as pj

    await asyncio.to_thread(carrier_audio)  # build the audio once, before backends race for it
    capacity = int(pj.UaConfig().maxCalls)
    starting = asyncio.Semaphore(4)  # dozens of interpreters starting at once only slow each other

    async def start() -> BackendProcess:
        async with starting:
            return await _start_backend(host, seed, capacity)

    pool = list(await asyncio.gather(*(start() for _ in range(backends))))
    followers = [asyncio.create_task(_follow_load(backend)) for backend in pool]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Front(host, seed, pool), local_addr=(host, port)
    )
    bound = transport.get_extra_info("sockname")[1]
    print(f"carrier listening on {host}:{bound} with {backends} backends of {capacity} calls", flush=True)
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        transport.close()
        for backend in pool:
            if backend.process.stdin is not None:
                backend.process.stdin.close()
        for backend in pool:
            try:
                await asyncio.wait_for(backend.process.wait(), 5.0)
            except TimeoutError:
                backend.process.kill()
                await backend.process.wait()
        for follower in followers:
            follower.cancel()
