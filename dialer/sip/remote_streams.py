"""Redis streams as the remote SIP node and its engines use them: ordered batched writes, reads
through a consumer group that survive the stream expiring, loops that outlast a Redis outage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger(__name__)

STREAM_MAXLEN = 10_000  # per stream: far more than the entries of the calls in flight
READ_BLOCK_MS = 1_000
REDIS_RETRY_S = 0.5


def stream_ttl_ms(heartbeat_ttl_s: float) -> int:
    """Streams outlive their last writer by this long, so a dead peer's stream goes away."""
    return max(60_000, round(heartbeat_ttl_s * 10_000))


async def create_group(client: aioredis.Redis, stream: str, group: str) -> None:
    with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
        await client.xgroup_create(stream, group, id="0", mkstream=True)


class Outbox:
    """Stream entries to write in order, many per round trip; a failed batch is written again."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.unsent: list[tuple[str, str]] = []

    def put(self, stream: str, body: str) -> None:
        self.queue.put_nowait((stream, body))

    def empty(self) -> bool:
        return self.queue.empty() and not self.unsent

    async def send(self, client: aioredis.Redis, ttl_ms: int) -> None:
        if not self.unsent:
            self.unsent.append(await self.queue.get())
        while not self.queue.empty():
            self.unsent.append(self.queue.get_nowait())
        async with client.pipeline(transaction=False) as pipe:
            for stream, body in self.unsent:
                pipe.xadd(stream, {"body": body}, maxlen=STREAM_MAXLEN, approximate=True)
            for stream in {stream for stream, _ in self.unsent}:
                pipe.pexpire(stream, ttl_ms)
            await pipe.execute()
        self.unsent.clear()


async def read_bodies(client: aioredis.Redis, stream: str, group: str, consumer: str) -> list[str]:
    """The next entries of the stream for the group (waiting up to READ_BLOCK_MS for one)."""
    try:
        response: Any = await client.xreadgroup(
            group, consumer, {stream: ">"}, count=200, block=READ_BLOCK_MS, noack=True
        )
    except ResponseError as error:
        if not str(error).startswith("NOGROUP"):
            raise
        # The stream expired while this process stalled (or Redis restarted empty).
        await create_group(client, stream, group)
        return []
    return [fields["body"] for _key, entries in response for _entry_id, fields in entries]


async def keep_running(step: Callable[[], Awaitable[None]], what: str) -> None:
    """Run `step` over and over; Redis being away only delays it (peers judge by the TTLs)."""
    while True:
        try:
            await step()
        except (RedisError, OSError) as error:
            log.warning("%s: Redis unavailable: %s", what, error)
            await asyncio.sleep(REDIS_RETRY_S)
