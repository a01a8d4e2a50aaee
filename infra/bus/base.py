"""The event bus contract shared by the in-process and the Redis implementation.

Two kinds of messaging:

* Streams carry commands and call events that must not be lost. A stream keeps its entries in
  order; each consumer group gets every entry, and within a group each entry goes to exactly one
  consumer, which acknowledges it once handled. An entry a consumer took but never acknowledged
  (it crashed) stays pending, and another consumer of the group claims it after it has been idle
  long enough: delivery is at least once, so handlers must be idempotent.
* Channels fan a message out to every current subscriber (screen pops, wallboard updates to every
  web worker). Delivery is at most once: a subscriber that is not listening misses the message.

Bodies are JSON objects. Both implementations encode them on the way in, so a body that works
with one works with the other, and receivers never share a mutable object with the sender.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, Self

JSONObject = dict[str, Any]

# Entries kept per stream before the oldest are trimmed; enough for hours of call events, small
# enough that the in-process bus of a long-running embedded install stays bounded.
DEFAULT_STREAM_MAXLEN = 100_000
# Messages a subscriber may fall behind by before the oldest are dropped (see Subscription).
DEFAULT_SUBSCRIBER_CAPACITY = 1_000


class BusError(RuntimeError):
    """A bus operation could not be carried out."""


class BusClosedError(BusError):
    """The bus was closed: no more publishing, reading or subscribing."""


class UnknownGroupError(BusError):
    """A consumer group was used before `create_group`."""


def encode_body(body: JSONObject) -> str:
    if not isinstance(body, dict):
        raise TypeError(f"a message body is a JSON object, not {type(body).__name__}")
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decode_body(text: str) -> JSONObject:
    body = json.loads(text)
    if not isinstance(body, dict):
        raise ValueError(f"message body is not a JSON object: {text[:80]!r}")
    return body


@dataclasses.dataclass(frozen=True)
class Delivery:
    """A stream entry handed to a consumer; acknowledge it by `id` once handled."""

    stream: str
    id: str
    body: JSONObject


@dataclasses.dataclass(frozen=True)
class Message:
    """A message received on a channel."""

    channel: str
    body: JSONObject


class Subscription:
    """A subscriber's queue of channel messages; iterate it, or `get` with a timeout.

    A subscriber that falls `capacity` messages behind loses the oldest ones (counted in
    `dropped`) rather than letting one stuck browser connection grow a web worker's memory.
    """

    def __init__(
        self,
        channels: frozenset[str],
        release: Callable[[Subscription], Awaitable[None]],
        capacity: int = DEFAULT_SUBSCRIBER_CAPACITY,
    ) -> None:
        if not channels:
            raise ValueError("subscribe to at least one channel")
        self.channels = channels
        self.dropped = 0
        self._release = release
        # None marks the end of the subscription.
        self._queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue(maxsize=capacity)
        self._ended = False

    def deliver(self, channel: str, text: str) -> None:
        """Called by the bus for each message on one of this subscription's channels."""
        if not self._ended:
            self._put((channel, text))

    def end(self) -> None:
        """Stop delivery; messages already queued can still be read."""
        if not self._ended:
            self._ended = True
            self._put(None)

    def _put(self, item: tuple[str, str] | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)

    async def get(self, timeout: float | None = None) -> Message | None:
        """The next message, or None if none came within `timeout` seconds.

        Raises BusClosedError once the subscription has ended and its queue is drained.
        """
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if item is None:
            self._queue.put_nowait(None)  # stays ended for every later reader
            raise BusClosedError("subscription ended")
        channel, text = item
        return Message(channel, decode_body(text))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        try:
            message = await self.get()
        except BusClosedError:
            raise StopAsyncIteration from None
        assert message is not None  # get() without a timeout waits for one
        return message

    async def unsubscribe(self) -> None:
        if not self._ended:
            self.end()
            await self._release(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        await self.unsubscribe()


class FanOut:
    """The local subscribers of each channel, shared by both bus implementations."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    def add(self, subscription: Subscription) -> list[str]:
        """Register it; return the channels that had no local subscriber before."""
        first = [channel for channel in subscription.channels if channel not in self._subscribers]
        for channel in subscription.channels:
            self._subscribers.setdefault(channel, set()).add(subscription)
        return first

    def remove(self, subscription: Subscription) -> list[str]:
        """Unregister it; return the channels left without any local subscriber."""
        emptied = []
        for channel in subscription.channels:
            subscribers = self._subscribers.get(channel, set())
            subscribers.discard(subscription)
            if not subscribers:
                self._subscribers.pop(channel, None)
                emptied.append(channel)
        return emptied

    def deliver(self, channel: str, text: str) -> None:
        for subscription in self._subscribers.get(channel, ()):
            subscription.deliver(channel, text)

    def end_all(self) -> None:
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription.end()
        self._subscribers.clear()


class Bus(Protocol):
    """What every component uses; `infra.bus.make_bus` picks the implementation."""

    async def add(self, stream: str, body: JSONObject) -> str:
        """Append an entry to a stream; returns its id. Streams are created on first use."""

    async def create_group(self, stream: str, group: str, *, from_start: bool = True) -> None:
        """Create a consumer group (idempotent). A new group reads from the stream's first
        entry, or with from_start=False only entries added after it was created."""

    async def read(
        self, stream: str, group: str, consumer: str, *, count: int = 10, block: float | None = None
    ) -> list[Delivery]:
        """Up to `count` entries no consumer of the group has been given yet, in stream order,
        now pending for `consumer`. With `block`, wait up to that many seconds for one."""

    async def ack(self, stream: str, group: str, *ids: str) -> int:
        """Acknowledge handled entries; returns how many were pending."""

    async def claim(
        self, stream: str, group: str, consumer: str, *, min_idle: float, count: int = 10
    ) -> list[Delivery]:
        """Take over up to `count` entries pending in the group for at least `min_idle`
        seconds (their consumer died or hangs); they become pending for `consumer`."""

    async def publish(self, channel: str, body: JSONObject) -> None:
        """Send a message to every current subscriber of the channel."""

    async def subscribe(self, *channels: str) -> Subscription:
        """Start receiving the channels' messages; delivery is active once this returns."""

    async def close(self) -> None:
        """Release everything (idempotent): subscriptions end, blocked reads raise BusClosedError."""
