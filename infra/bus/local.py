"""The in-process bus of the embedded install: Redis Streams and pub/sub semantics in memory.

One instance serves one process and one event loop; every component of that process shares it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque

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


@dataclasses.dataclass
class _Pending:
    consumer: str
    delivered_at: float  # event-loop time of the latest delivery


@dataclasses.dataclass
class _Group:
    next_number: int  # the first entry not yet given to any consumer
    pending: dict[int, _Pending] = dataclasses.field(default_factory=dict)


class _Stream:
    def __init__(self) -> None:
        self.entries: deque[str] = deque()  # encoded bodies; entry n sits at n - first_number
        self.first_number = 1
        self.groups: dict[str, _Group] = {}
        self.grown = asyncio.Event()  # replaced after every append, so waiters wake once

    @property
    def next_number(self) -> int:
        return self.first_number + len(self.entries)

    def append(self, text: str, maxlen: int) -> int:
        number = self.next_number
        self.entries.append(text)
        while len(self.entries) > maxlen:
            self.entries.popleft()
            self.first_number += 1
        self.grown.set()
        self.grown = asyncio.Event()
        return number

    def text(self, number: int) -> str | None:
        """The entry's body, or None once it has been trimmed away."""
        if number < self.first_number:
            return None
        return self.entries[number - self.first_number]


def _entry_id(number: int) -> str:
    # Shaped like a Redis stream id; callers treat ids as opaque strings.
    return f"{number}-0"


def _entry_number(entry_id: str) -> int | None:
    milliseconds, _, sequence = entry_id.partition("-")
    if not milliseconds.isdigit() or sequence != "0":
        return None
    return int(milliseconds)


class LocalBus:
    def __init__(
        self,
        *,
        stream_maxlen: int = DEFAULT_STREAM_MAXLEN,
        subscriber_capacity: int = DEFAULT_SUBSCRIBER_CAPACITY,
    ) -> None:
        self._stream_maxlen = stream_maxlen
        self._subscriber_capacity = subscriber_capacity
        self._streams: dict[str, _Stream] = {}
        self._fanout = FanOut()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise BusClosedError("the bus is closed")

    def _stream(self, name: str) -> _Stream:
        return self._streams.setdefault(name, _Stream())

    def _group(self, stream: str, group: str) -> tuple[_Stream, _Group]:
        entries = self._stream(stream)
        if group not in entries.groups:
            raise UnknownGroupError(f"no consumer group {group!r} on stream {stream!r}")
        return entries, entries.groups[group]

    async def add(self, stream: str, body: JSONObject) -> str:
        self._check_open()
        return _entry_id(self._stream(stream).append(encode_body(body), self._stream_maxlen))

    async def create_group(self, stream: str, group: str, *, from_start: bool = True) -> None:
        self._check_open()
        entries = self._stream(stream)
        if group not in entries.groups:
            entries.groups[group] = _Group(entries.first_number if from_start else entries.next_number)

    async def read(
        self, stream: str, group: str, consumer: str, *, count: int = 10, block: float | None = None
    ) -> list[Delivery]:
        loop = asyncio.get_running_loop()
        deadline = None if block is None else loop.time() + block
        while True:
            self._check_open()
            entries, state = self._group(stream, group)
            start = max(state.next_number, entries.first_number)
            end = min(start + count, entries.next_number)
            if start < end or deadline is None or loop.time() >= deadline:
                now = loop.time()
                deliveries: list[Delivery] = []
                for number in range(start, end):
                    state.pending[number] = _Pending(consumer, now)
                    deliveries.append(
                        Delivery(
                            stream,
                            _entry_id(number),
                            decode_body(entries.entries[number - entries.first_number]),
                        )
                    )
                state.next_number = max(state.next_number, end)
                return deliveries
            try:
                await asyncio.wait_for(entries.grown.wait(), deadline - loop.time())
            except TimeoutError:
                continue

    async def ack(self, stream: str, group: str, *ids: str) -> int:
        self._check_open()
        _entries, state = self._group(stream, group)
        numbers = {_entry_number(entry_id) for entry_id in ids}
        return sum(state.pending.pop(number, None) is not None for number in numbers if number is not None)

    async def claim(
        self, stream: str, group: str, consumer: str, *, min_idle: float, count: int = 10
    ) -> list[Delivery]:
        self._check_open()
        entries, state = self._group(stream, group)
        now = asyncio.get_running_loop().time()
        deliveries: list[Delivery] = []
        for number in sorted(state.pending):
            if len(deliveries) == count:
                break
            pending = state.pending[number]
            if now - pending.delivered_at < min_idle:
                continue
            text = entries.text(number)
            if text is None:  # trimmed while pending: nothing left to hand over (as Redis does)
                del state.pending[number]
                continue
            state.pending[number] = _Pending(consumer, now)
            deliveries.append(Delivery(stream, _entry_id(number), decode_body(text)))
        return deliveries

    async def publish(self, channel: str, body: JSONObject) -> None:
        self._check_open()
        self._fanout.deliver(channel, encode_body(body))

    async def subscribe(self, *channels: str) -> Subscription:
        self._check_open()
        subscription = Subscription(frozenset(channels), self._release, self._subscriber_capacity)
        self._fanout.add(subscription)
        return subscription

    async def _release(self, subscription: Subscription) -> None:
        self._fanout.remove(subscription)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fanout.end_all()
        for entries in self._streams.values():
            entries.grown.set()  # blocked readers wake and find the bus closed
