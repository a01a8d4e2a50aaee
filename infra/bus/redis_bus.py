"""The scale-out bus: Redis Streams with consumer groups, and Redis pub/sub for fan-out.

Every key and channel is prefixed (`<prefix>:stream:<name>`, `<prefix>:channel:<name>`) so that
several installations or test runs can share one Redis server.

Each bus holds one pub/sub connection however many local subscribers it has: a reader task
takes every message off it and hands it to the local subscribers of its channel. A web worker
with hundreds of browser connections therefore costs Redis one connection, not hundreds.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from infra.bus.base import (
    DEFAULT_STREAM_MAXLEN,
    DEFAULT_SUBSCRIBER_CAPACITY,
    BusClosedError,
    Delivery,
    FanOut,
    JSONObject,
    Subscription,
    UnknownGroupError,
    decode_body,
    encode_body,
)
from infra.redis_client import waiting_client

log = logging.getLogger(__name__)

BODY_FIELD = "body"
RECONNECT_DELAY = 1.0  # seconds between attempts to get the pub/sub connection back


class RedisBus:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "arrears",
        stream_maxlen: int = DEFAULT_STREAM_MAXLEN,
        subscriber_capacity: int = DEFAULT_SUBSCRIBER_CAPACITY,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._stream_maxlen = stream_maxlen
        self._subscriber_capacity = subscriber_capacity
        self._fanout = FanOut()
        self._pubsub = client.pubsub()
        # redis-py's PubSub opens its connection on the first command without a lock: two first
        # SUBSCRIBEs at once would each open one, and the confirmations on the connection it
        # forgets would never arrive. One (un)subscribe command at a time.
        self._pubsub_commands = asyncio.Lock()
        # Per channel: resolved when Redis confirms the SUBSCRIBE, so that `subscribe` returns
        # only once messages published from anywhere will reach it.
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._blocked_reads: set[asyncio.Task[Any]] = set()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisBus:
        return cls(waiting_client(url), **options)

    def _check_open(self) -> None:
        if self._closed:
            raise BusClosedError("the bus is closed")

    def _stream_key(self, stream: str) -> str:
        return f"{self._prefix}:stream:{stream}"

    def _channel_key(self, channel: str) -> str:
        return f"{self._prefix}:channel:{channel}"

    def _deliveries(self, stream: str, entries: list[Any]) -> list[Delivery]:
        return [Delivery(stream, entry_id, decode_body(fields[BODY_FIELD])) for entry_id, fields in entries]

    async def add(self, stream: str, body: JSONObject) -> str:
        self._check_open()
        entry_id = await self._client.xadd(
            self._stream_key(stream),
            {BODY_FIELD: encode_body(body)},
            maxlen=self._stream_maxlen,
            approximate=False,
        )
        return entry_id if isinstance(entry_id, str) else entry_id.decode()

    async def create_group(self, stream: str, group: str, *, from_start: bool = True) -> None:
        self._check_open()
        try:
            await self._client.xgroup_create(
                self._stream_key(stream), group, id="0" if from_start else "$", mkstream=True
            )
        except ResponseError as error:
            if not str(error).startswith("BUSYGROUP"):
                raise

    async def read(
        self, stream: str, group: str, consumer: str, *, count: int = 10, block: float | None = None
    ) -> list[Delivery]:
        self._check_open()
        command = self._client.xreadgroup(
            group,
            consumer,
            {self._stream_key(stream): ">"},
            count=count,
            # BLOCK 0 would wait forever; the contract's smallest wait is "do not wait".
            block=None if block is None else max(1, round(block * 1000)),
        )
        try:
            response = await self._interruptible(command)
        except ResponseError as error:
            raise _unknown_group(error, stream, group) from error
        return [delivery for _key, entries in response for delivery in self._deliveries(stream, entries)]

    async def _interruptible(self, command: Any) -> Any:
        """Run a blocking command so that `close` can interrupt it with BusClosedError."""
        task = asyncio.ensure_future(command)
        self._blocked_reads.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._closed and (current is None or current.cancelling() == 0):
                raise BusClosedError("the bus was closed during a read") from None
            raise
        finally:
            self._blocked_reads.discard(task)

    async def ack(self, stream: str, group: str, *ids: str) -> int:
        self._check_open()
        if not ids:
            return 0
        acknowledged: int = await self._client.xack(self._stream_key(stream), group, *ids)
        return acknowledged

    async def claim(
        self, stream: str, group: str, consumer: str, *, min_idle: float, count: int = 10
    ) -> list[Delivery]:
        self._check_open()
        claimed: list[Delivery] = []
        cursor = "0-0"
        while len(claimed) < count:
            try:
                cursor, entries, *_deleted = await self._client.xautoclaim(
                    self._stream_key(stream),
                    group,
                    consumer,
                    min_idle_time=round(min_idle * 1000),
                    start_id=cursor,
                    count=count - len(claimed),
                )
            except ResponseError as error:
                raise _unknown_group(error, stream, group) from error
            claimed.extend(self._deliveries(stream, entries))
            if cursor == "0-0":
                break
        return claimed

    async def publish(self, channel: str, body: JSONObject) -> None:
        self._check_open()
        await self._client.publish(self._channel_key(channel), encode_body(body))

    async def subscribe(self, *channels: str) -> Subscription:
        self._check_open()
        subscription = Subscription(frozenset(channels), self._release, self._subscriber_capacity)
        first = self._fanout.add(subscription)
        loop = asyncio.get_running_loop()
        for channel in first:
            self._confirmed[channel] = loop.create_future()
        try:
            if first:
                async with self._pubsub_commands:
                    await self._pubsub.subscribe(*(self._channel_key(channel) for channel in first))
                if self._reader is None:
                    self._reader = asyncio.create_task(self._read_messages(), name="redis-bus-pubsub")
                    self._reader.add_done_callback(_report_reader_failure)
            await asyncio.gather(
                *(asyncio.shield(self._confirmed[channel]) for channel in subscription.channels)
            )
        except BaseException:
            await self._release(subscription)
            raise
        return subscription

    async def _release(self, subscription: Subscription) -> None:
        emptied = self._fanout.remove(subscription)
        for channel in emptied:
            confirmed = self._confirmed.pop(channel, None)
            if confirmed is not None:
                confirmed.cancel()  # nobody waits for it any more
        if emptied and not self._closed:
            async with self._pubsub_commands:
                await self._pubsub.unsubscribe(*(self._channel_key(channel) for channel in emptied))

    async def _read_messages(self) -> None:
        channel_prefix = self._channel_key("")
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except RedisError as error:
                # The connection re-subscribes every channel when it comes back; messages
                # published meanwhile are lost, as pub/sub promises no more.
                log.warning("bus: pub/sub connection lost (%s); reconnecting", error)
                await asyncio.sleep(RECONNECT_DELAY)
                continue
            if message is None:
                continue
            channel = str(message["channel"]).removeprefix(channel_prefix)
            if message["type"] == "subscribe":
                confirmed = self._confirmed.get(channel)
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)
            elif message["type"] == "message":
                self._fanout.deliver(channel, message["data"])

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fanout.end_all()
        tasks = [*self._blocked_reads, *([self._reader] if self._reader else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for confirmed in self._confirmed.values():
            confirmed.cancel()
        await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2
        await self._client.aclose()


def _unknown_group(error: ResponseError, stream: str, group: str) -> Exception:
    if str(error).startswith("NOGROUP"):
        return UnknownGroupError(f"no consumer group {group!r} on stream {stream!r}")
    return error


def _report_reader_failure(reader: asyncio.Task[None]) -> None:
    # Without this a bug in the reader would only show as subscribers that never hear anything.
    if not reader.cancelled() and reader.exception() is not None:
        log.error("bus: the pub/sub reader stopped", exc_info=reader.exception())
