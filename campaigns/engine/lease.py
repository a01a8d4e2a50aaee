"""Campaign leases: exactly one engine paces a campaign at a time, and another takes over when it dies.

A lease is a key with a time to live whose value is the holder's token. Taking it succeeds only
when nobody holds it (`SET NX PX` in Redis); renewing and releasing succeed only for the token
that holds it (compare-and-extend, compare-and-delete, atomic as Lua scripts), so a holder that
lost its lease can never extend or delete its successor's.

The holder fails closed: it counts its lease as valid only until the TTL measured from the moment
it *sent* its last successful renewal, less a safety margin. Redis started the TTL later than
that, so the holder always gives up before the key can expire and a contender can take it. The
decision of when to renew and when to give up is the pure `next_move`.

`LocalLeases` is the in-process equivalent for the embedded mode (one engine process, no Redis),
behind the same `LeaseStore` interface.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class LeaseTiming:
    ttl_s: float = 3.0
    renew_every_s: float = 1.0
    safety_margin_s: float = 0.5  # give up this long before the lease could expire in the store

    def __post_init__(self) -> None:
        if not 0 < self.renew_every_s < self.ttl_s - self.safety_margin_s:
            raise ValueError("lease timing: renew_every_s must be positive and below ttl_s - safety_margin_s")
        if self.safety_margin_s < 0:
            raise ValueError("lease timing: safety_margin_s must not be negative")


class Move(enum.Enum):
    RENEW = "renew"
    WAIT = "wait"
    GIVE_UP = "give_up"  # the lease may expire before a renewal could land: stop dialling now


@dataclasses.dataclass(frozen=True)
class Decision:
    move: Move
    wait_s: float = 0.0


def valid_until(renewal_sent_at: float, timing: LeaseTiming) -> float:
    """Until when a renewal sent at `renewal_sent_at` lets the holder act (monotonic seconds)."""
    return renewal_sent_at + timing.ttl_s - timing.safety_margin_s


def next_move(now: float, last_renewal_sent_at: float, timing: LeaseTiming) -> Decision:
    """What the holder does next, from the time its last successful renewal (or take) was sent."""
    deadline = valid_until(last_renewal_sent_at, timing)
    if now >= deadline:
        return Decision(Move.GIVE_UP)
    due = last_renewal_sent_at + timing.renew_every_s
    if now >= due:
        return Decision(Move.RENEW)
    return Decision(Move.WAIT, min(due, deadline) - now)


def new_token() -> str:
    """A holder token naming the process, for operators, and unique, for safety."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


class LeaseStore(Protocol):
    async def take(self, key: str, token: str, ttl_s: float) -> bool:
        """Hold `key` for `ttl_s` if nobody holds it."""
        ...

    async def renew(self, key: str, token: str, ttl_s: float) -> bool:
        """Extend `key` to `ttl_s` from now if `token` still holds it."""
        ...

    async def release(self, key: str, token: str) -> bool:
        """Drop `key` if `token` still holds it."""
        ...

    async def holder(self, key: str) -> str | None: ...

    async def close(self) -> None: ...


_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLeases:
    """Leases as Redis keys; every key is `<prefix>:lease:<name>`."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "arrears") -> None:
        self._client = client
        self._prefix = prefix
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "arrears") -> RedisLeases:
        # Short timeouts: a renewal that hangs must count as failed before the lease runs out.
        client = aioredis.Redis.from_url(
            url, decode_responses=True, protocol=2, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        return cls(client, prefix=prefix)

    def _key(self, key: str) -> str:
        return f"{self._prefix}:lease:{key}"

    async def take(self, key: str, token: str, ttl_s: float) -> bool:
        return bool(await self._client.set(self._key(key), token, nx=True, px=_ms(ttl_s)))

    async def renew(self, key: str, token: str, ttl_s: float) -> bool:
        return bool(await self._renew(keys=[self._key(key)], args=[token, _ms(ttl_s)]))

    async def release(self, key: str, token: str) -> bool:
        return bool(await self._release(keys=[self._key(key)], args=[token]))

    async def holder(self, key: str) -> str | None:
        value = await self._client.get(self._key(key))
        return None if value is None else str(value)

    async def close(self) -> None:
        await self._client.aclose()


class LocalLeases:
    """The same leases inside one process, on a monotonic clock (the embedded mode)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}  # key -> token, expiry

    def _current(self, key: str) -> str | None:
        held = self._held.get(key)
        if held is None or held[1] <= self._clock():
            self._held.pop(key, None)
            return None
        return held[0]

    async def take(self, key: str, token: str, ttl_s: float) -> bool:
        if self._current(key) is not None:
            return False
        self._held[key] = (token, self._clock() + ttl_s)
        return True

    async def renew(self, key: str, token: str, ttl_s: float) -> bool:
        if self._current(key) != token:
            return False
        self._held[key] = (token, self._clock() + ttl_s)
        return True

    async def release(self, key: str, token: str) -> bool:
        if self._current(key) != token:
            return False
        del self._held[key]
        return True

    async def holder(self, key: str) -> str | None:
        return self._current(key)

    async def close(self) -> None:
        self._held.clear()


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def campaign_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


class HeldLease:
    """A lease this process took: keeps it renewed, and says at once when it can no longer act.

    `valid()` is what the engine asks before every dial; `lost` is set the moment the holder
    gives up (a renewal refused, or none landed in time), and never cleared.
    """

    def __init__(self, store: LeaseStore, key: str, token: str, timing: LeaseTiming, sent_at: float) -> None:
        self.store = store
        self.key = key
        self.token = token
        self.timing = timing
        self.lost = asyncio.Event()
        self._sent_at = sent_at
        self._released = False

    @classmethod
    async def take(cls, store: LeaseStore, key: str, token: str, timing: LeaseTiming) -> HeldLease | None:
        sent_at = time.monotonic()
        try:
            taken = await store.take(key, token, timing.ttl_s)
        except (RedisError, OSError) as error:
            log.warning("lease %s: could not contend: %s", key, error)
            return None
        return cls(store, key, token, timing, sent_at) if taken else None

    def valid(self) -> bool:
        if self.lost.is_set() or self._released:
            return False
        if time.monotonic() >= valid_until(self._sent_at, self.timing):
            self.lost.set()
            return False
        return True

    async def keep(self) -> None:
        """Renew until the lease is released or lost; returns when it is lost or released."""
        while not self._released:
            decision = next_move(time.monotonic(), self._sent_at, self.timing)
            if decision.move is Move.GIVE_UP:
                self._give_up("no renewal landed in time")
                return
            if decision.move is Move.WAIT:
                await asyncio.sleep(decision.wait_s)
                continue
            sent_at = time.monotonic()
            budget = max(0.0, valid_until(self._sent_at, self.timing) - sent_at)
            try:
                renewed = await asyncio.wait_for(
                    self.store.renew(self.key, self.token, self.timing.ttl_s), budget
                )
            except (RedisError, OSError, TimeoutError) as error:
                log.warning("lease %s: renewal failed: %s", self.key, error)
                await asyncio.sleep(min(0.1, self.timing.renew_every_s))
                continue
            if not renewed:
                self._give_up("another holder has it")
                return
            self._sent_at = sent_at

    def _give_up(self, why: str) -> None:
        if not self.lost.is_set():
            log.warning("lease %s lost: %s", self.key, why)
        self.lost.set()

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            await self.store.release(self.key, self.token)
        except (RedisError, OSError) as error:
            log.warning("lease %s: release failed (it expires by itself): %s", self.key, error)
