"""Short-lived shared state of the web tier: sessions, sign-in throttling and agent states.

Two implementations with one interface: in the process's memory for the embedded default (one web
process), and in Redis for scale-out, where every web worker must see the same sessions and the
same failure counters. Values are strings; callers encode their own records.
"""

from __future__ import annotations

import time
from typing import Protocol

import redis.asyncio as aioredis

from infra.redis_client import CONNECTION_WAIT_SECONDS, MAX_CONNECTIONS, waiting_client


class LiveStore(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_seconds: int) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def increment(self, key: str, ttl_seconds: int) -> int:
        """Add one atomically; the key's lifetime restarts at each increment."""
        ...

    async def hash_set(self, key: str, field: str, value: str) -> None: ...

    async def hash_delete(self, key: str, field: str) -> None: ...

    async def hash_get(self, key: str, field: str) -> str | None: ...

    async def hash_all(self, key: str) -> dict[str, str]: ...

    async def hash_replace(self, key: str, field: str, expected: str | None, value: str) -> bool:
        """Set the field to `value` only if it still holds `expected` (None: absent); atomic."""
        ...

    async def close(self) -> None: ...


# Writes between sweeps of expired keys in the memory store: keys written once and never read
# again (failed sign-ins with made-up usernames) must not accumulate.
SWEEP_EVERY = 1024


class MemoryLiveStore:
    """For a single web process. Expired keys are dropped when read, and swept now and then."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._hashes: dict[str, dict[str, str]] = {}
        self._writes = 0

    def _write(self, key: str, value: str, ttl_seconds: int) -> None:
        self._values[key] = (value, time.monotonic() + ttl_seconds)
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0:
            now = time.monotonic()
            for stale in [name for name, (_, expires) in self._values.items() if expires <= now]:
                del self._values[stale]

    def _live(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if time.monotonic() >= expires:
            del self._values[key]
            return None
        return value

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self._write(key, value, ttl_seconds)

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)
        self._hashes.pop(key, None)

    async def increment(self, key: str, ttl_seconds: int) -> int:
        count = int(self._live(key) or 0) + 1
        self._write(key, str(count), ttl_seconds)
        return count

    async def hash_set(self, key: str, field: str, value: str) -> None:
        self._hashes.setdefault(key, {})[field] = value

    async def hash_delete(self, key: str, field: str) -> None:
        self._hashes.get(key, {}).pop(field, None)

    async def hash_get(self, key: str, field: str) -> str | None:
        return self._hashes.get(key, {}).get(field)

    async def hash_all(self, key: str) -> dict[str, str]:
        return dict(self._hashes.get(key, {}))

    async def hash_replace(self, key: str, field: str, expected: str | None, value: str) -> bool:
        # No await between the comparison and the write: atomic on the event loop.
        fields = self._hashes.setdefault(key, {})
        if fields.get(field) != expected:
            return False
        fields[field] = value
        return True

    async def close(self) -> None:
        self._values.clear()
        self._hashes.clear()


def _text(value: bytes | str | None) -> str | None:
    # The client decodes responses already; bytes appear only in its type signatures.
    return value.decode() if isinstance(value, bytes) else value


# KEYS[1] hash; ARGV: field, expected value ("" with ARGV[4] = "absent" for a missing field), value.
_HASH_REPLACE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[4] == 'absent' then
    if current then return 0 end
elseif current ~= ARGV[2] then
    return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


class RedisLiveStore:
    """Shared by every web worker; every key carries the installation's prefix."""

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        max_connections: int = MAX_CONNECTIONS,
        wait_seconds: float = CONNECTION_WAIT_SECONDS,
    ) -> None:
        self._redis: aioredis.Redis = waiting_client(
            url, max_connections=max_connections, wait_seconds=wait_seconds
        )
        self._prefix = prefix
        self._hash_replace = self._redis.register_script(_HASH_REPLACE)

    def _key(self, key: str) -> str:
        return f"{self._prefix}{key}"

    async def get(self, key: str) -> str | None:
        return _text(await self._redis.get(self._key(key)))

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        await self._redis.set(self._key(key), value, ex=ttl_seconds)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._key(key))

    async def increment(self, key: str, ttl_seconds: int) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._key(key))
            pipe.expire(self._key(key), ttl_seconds)
            count, _ = await pipe.execute()
        return int(count)

    async def hash_set(self, key: str, field: str, value: str) -> None:
        await self._redis.hset(self._key(key), field, value)

    async def hash_delete(self, key: str, field: str) -> None:
        await self._redis.hdel(self._key(key), field)

    async def hash_get(self, key: str, field: str) -> str | None:
        return _text(await self._redis.hget(self._key(key), field))

    async def hash_all(self, key: str) -> dict[str, str]:
        values = await self._redis.hgetall(self._key(key))
        return {str(_text(name)): str(_text(value)) for name, value in values.items()}

    async def hash_replace(self, key: str, field: str, expected: str | None, value: str) -> bool:
        presence = "absent" if expected is None else "present"
        replaced = await self._hash_replace(
            keys=[self._key(key)], args=[field, expected or "", value, presence]
        )
        return bool(replaced)

    async def close(self) -> None:
        await self._redis.aclose()
