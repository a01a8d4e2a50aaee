"""The bus contract, run against the in-process bus and against a real Redis server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from infra.bus import Bus, BusClosedError, Delivery, LocalBus, UnknownGroupError
from infra.bus.redis_bus import RedisBus

BusFactory = Callable[..., Bus]


@pytest.fixture(params=["local", "redis"])
async def new_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    """Makes buses of one kind (options: stream_maxlen, subscriber_capacity); closes them after."""
    made: list[Bus] = []

    def make(**options: int) -> Bus:
        bus: Bus
        if request.param == "local":
            bus = LocalBus(**options)
        else:
            url = request.getfixturevalue("redis_url")
            bus = RedisBus.from_url(url, prefix=request.getfixturevalue("redis_namespace"), **options)
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


@pytest.fixture
def bus(new_bus: BusFactory) -> Bus:
    return new_bus()


def bodies(deliveries: list[Delivery]) -> list[int]:
    return [delivery.body["n"] for delivery in deliveries]


async def drain(bus: Bus, stream: str, group: str, consumer: str) -> list[Delivery]:
    taken: list[Delivery] = []
    while batch := await bus.read(stream, group, consumer, count=7):
        taken.extend(batch)
    return taken


async def test_each_stream_keeps_its_own_order(bus: Bus) -> None:
    await bus.create_group("calls", "engine")
    await bus.create_group("commands", "engine")
    for n in range(30):
        await bus.add("calls", {"n": n})
        if n % 6 == 0:
            await bus.add("commands", {"n": n})

    calls = await drain(bus, "calls", "engine", "e1")
    commands = await drain(bus, "commands", "engine", "e1")

    assert bodies(calls) == list(range(30))
    assert bodies(commands) == [0, 6, 12, 18, 24]
    assert all(delivery.stream == "calls" for delivery in calls)
    assert len({delivery.id for delivery in calls}) == 30


async def test_every_group_gets_every_entry_and_each_entry_one_consumer(bus: Bus) -> None:
    await bus.create_group("events", "engine")
    await bus.create_group("events", "reports")
    for n in range(20):
        await bus.add("events", {"n": n})

    shares: dict[str, list[int]] = {"e1": [], "e2": []}
    while True:
        batches = [await bus.read("events", "engine", consumer, count=3) for consumer in shares]
        if not any(batches):
            break
        for consumer, batch in zip(shares, batches, strict=True):
            shares[consumer].extend(bodies(batch))
    reports = await drain(bus, "events", "reports", "r1")

    assert shares["e1"]
    assert shares["e2"]
    assert sorted(shares["e1"] + shares["e2"]) == list(range(20))
    assert not set(shares["e1"]) & set(shares["e2"])
    assert bodies(reports) == list(range(20))


async def test_concurrent_consumers_never_get_the_same_entry(bus: Bus) -> None:
    await bus.create_group("commands", "workers")
    taken: list[int] = []

    async def consume(consumer: str) -> None:
        while len(taken) < 40:
            batch = await bus.read("commands", "workers", consumer, count=2, block=0.2)
            taken.extend(bodies(batch))
            await bus.ack("commands", "workers", *(delivery.id for delivery in batch))

    consumers = [asyncio.create_task(consume(f"w{index}")) for index in range(3)]
    for n in range(40):
        await bus.add("commands", {"n": n})
    await asyncio.wait_for(asyncio.gather(*consumers), timeout=10)

    assert sorted(taken) == list(range(40))


async def test_a_blocked_read_wakes_for_a_new_entry(bus: Bus) -> None:
    await bus.create_group("commands", "workers")
    assert await bus.read("commands", "workers", "w1") == []

    reader = asyncio.create_task(bus.read("commands", "workers", "w1", block=5))
    await asyncio.sleep(0.05)
    await bus.add("commands", {"n": 1})

    assert bodies(await asyncio.wait_for(reader, timeout=5)) == [1]
    assert await bus.read("commands", "workers", "w1", block=0.05) == []


async def test_a_new_group_starts_at_the_first_entry_or_at_the_next(bus: Bus) -> None:
    await bus.add("events", {"n": 1})
    await bus.create_group("events", "from-start")
    await bus.create_group("events", "new-only", from_start=False)
    await bus.add("events", {"n": 2})

    assert bodies(await drain(bus, "events", "from-start", "c")) == [1, 2]
    assert bodies(await drain(bus, "events", "new-only", "c")) == [2]


async def test_creating_a_group_again_keeps_its_position(bus: Bus) -> None:
    await bus.create_group("events", "g")
    await bus.add("events", {"n": 1})
    await drain(bus, "events", "g", "c")
    await bus.create_group("events", "g")
    await bus.add("events", {"n": 2})

    assert bodies(await drain(bus, "events", "g", "c")) == [2]


async def test_reading_or_claiming_without_a_group_is_an_error(bus: Bus) -> None:
    await bus.add("events", {"n": 1})
    with pytest.raises(UnknownGroupError):
        await bus.read("events", "nobody", "c")
    with pytest.raises(UnknownGroupError):
        await bus.claim("events", "nobody", "c", min_idle=0)


async def test_entries_of_a_dead_consumer_are_claimed_and_acknowledged(bus: Bus) -> None:
    await bus.create_group("commands", "workers")
    for n in range(3):
        await bus.add("commands", {"n": n})
    taken = await bus.read("commands", "workers", "dies", count=3)
    assert await bus.ack("commands", "workers", taken[0].id) == 1
    # "dies" stops here without acknowledging the other two.

    assert await bus.read("commands", "workers", "survivor") == []  # never handed out twice by read
    assert await bus.claim("commands", "workers", "survivor", min_idle=60) == []  # not idle long enough
    claimed = await bus.claim("commands", "workers", "survivor", min_idle=0)
    assert bodies(claimed) == [1, 2]
    assert [delivery.id for delivery in claimed] == [delivery.id for delivery in taken[1:]]

    assert await bus.ack("commands", "workers", *(delivery.id for delivery in claimed)) == 2
    assert await bus.ack("commands", "workers", taken[0].id) == 0  # already acknowledged
    assert await bus.claim("commands", "workers", "third", min_idle=0) == []


async def test_claiming_waits_for_the_idle_time_and_restarts_it(bus: Bus) -> None:
    await bus.create_group("commands", "workers")
    await bus.add("commands", {"n": 1})
    await bus.read("commands", "workers", "dies")
    await asyncio.sleep(0.15)

    assert bodies(await bus.claim("commands", "workers", "survivor", min_idle=0.1)) == [1]
    # The claim made it pending for "survivor" afresh: it is not idle any more.
    assert await bus.claim("commands", "workers", "third", min_idle=5) == []


async def test_claim_takes_at_most_count_oldest_first(bus: Bus) -> None:
    await bus.create_group("commands", "workers")
    for n in range(5):
        await bus.add("commands", {"n": n})
    await drain(bus, "commands", "workers", "dies")

    assert bodies(await bus.claim("commands", "workers", "a", min_idle=0, count=2)) == [0, 1]
    assert bodies(await bus.claim("commands", "workers", "b", min_idle=0, count=10)) == [0, 1, 2, 3, 4]


async def test_streams_are_trimmed_to_their_maximum_length(new_bus: BusFactory) -> None:
    bus = new_bus(stream_maxlen=5)
    await bus.create_group("events", "slow")
    await bus.add("events", {"n": 0})
    await bus.read("events", "slow", "dies")  # pending, then trimmed away
    for n in range(1, 9):
        await bus.add("events", {"n": n})
    await bus.create_group("events", "late")

    assert bodies(await drain(bus, "events", "late", "c")) == [4, 5, 6, 7, 8]
    assert bodies(await drain(bus, "events", "slow", "c")) == [4, 5, 6, 7, 8]
    # The trimmed entry pending for "dies" is gone: claiming drops it instead of handing it over.
    assert bodies(await bus.claim("events", "slow", "c2", min_idle=0, count=100)) == [4, 5, 6, 7, 8]


async def test_a_channel_message_reaches_every_subscriber(bus: Bus) -> None:
    wallboards = [await bus.subscribe("wallboard") for _ in range(3)]
    pops = await bus.subscribe("screen-pop")
    both = await bus.subscribe("wallboard", "screen-pop")

    for n in range(3):
        await bus.publish("wallboard", {"n": n})
    await bus.publish("screen-pop", {"n": 99})

    for subscription in wallboards:
        received = [await subscription.get(timeout=5) for _ in range(3)]
        assert [(message.channel, message.body) for message in received if message] == [
            ("wallboard", {"n": n}) for n in range(3)
        ]
    message = await pops.get(timeout=5)
    assert message is not None
    assert (message.channel, message.body) == ("screen-pop", {"n": 99})
    assert await pops.get(timeout=0.1) is None
    received_both = [await both.get(timeout=5) for _ in range(4)]
    assert sorted(message.body["n"] for message in received_both if message) == [0, 1, 2, 99]


async def test_subscribers_arriving_at_once_all_hear_their_channels(bus: Bus) -> None:
    # A restarted web worker gets every agent's tab back at the same moment.
    subscriptions = await asyncio.wait_for(
        asyncio.gather(*(bus.subscribe(f"agent:{n}") for n in range(20))), timeout=10
    )
    for n in range(20):
        await bus.publish(f"agent:{n}", {"n": n})
    for n, subscription in enumerate(subscriptions):
        message = await subscription.get(timeout=5)
        assert message is not None
        assert message.body == {"n": n}


async def test_a_burst_of_publishes_beyond_the_connection_pool_all_arrive(bus: Bus) -> None:
    # A thousand sockets closing at once each publish their agent's lost connection; none may
    # fail because every connection of the process is momentarily busy.
    wallboard = await bus.subscribe("wallboard")
    await asyncio.wait_for(
        asyncio.gather(*(bus.publish("wallboard", {"n": n}) for n in range(500))), timeout=30
    )
    received = [await wallboard.get(timeout=5) for _ in range(500)]
    assert sorted(message.body["n"] for message in received if message) == list(range(500))


async def test_receivers_get_their_own_copy_of_a_body(bus: Bus) -> None:
    first = await bus.subscribe("wallboard")
    second = await bus.subscribe("wallboard")
    body = {"agents": ["a", "b"]}
    await bus.publish("wallboard", body)
    body["agents"].append("c")

    message = await first.get(timeout=5)
    assert message is not None
    message.body["agents"].clear()
    other = await second.get(timeout=5)
    assert other is not None
    assert other.body == {"agents": ["a", "b"]}


async def test_unsubscribed_receives_nothing_more(bus: Bus) -> None:
    leaving = await bus.subscribe("wallboard")
    staying = await bus.subscribe("wallboard")
    await leaving.unsubscribe()
    await bus.publish("wallboard", {"n": 1})

    message = await staying.get(timeout=5)
    assert message is not None
    assert message.body == {"n": 1}
    assert [message async for message in leaving] == []
    with pytest.raises(BusClosedError):
        await leaving.get(timeout=1)


async def test_a_channel_can_be_subscribed_again_after_everyone_left(bus: Bus) -> None:
    async with await bus.subscribe("wallboard") as subscription:
        await bus.publish("wallboard", {"n": 1})
        assert await subscription.get(timeout=5) is not None
    async with await bus.subscribe("wallboard") as again:
        await bus.publish("wallboard", {"n": 2})
        message = await again.get(timeout=5)
        assert message is not None
        assert message.body == {"n": 2}


async def test_a_subscriber_that_falls_behind_loses_the_oldest(new_bus: BusFactory) -> None:
    bus = new_bus(subscriber_capacity=3)
    slow = await bus.subscribe("wallboard")
    marker = await bus.subscribe("marker")
    for n in range(5):
        await bus.publish("wallboard", {"n": n})
    await bus.publish("marker", {})
    assert await marker.get(timeout=5) is not None  # everything before it has been delivered

    received = [await slow.get(timeout=5) for _ in range(3)]
    assert [message.body["n"] for message in received if message] == [2, 3, 4]
    assert slow.dropped == 2


async def test_bodies_must_be_json_objects(bus: Bus) -> None:
    for body in ({"when": {1, 2}}, ["not", "an", "object"]):
        with pytest.raises(TypeError):
            await bus.add("events", body)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await bus.publish("wallboard", body)  # type: ignore[arg-type]


async def test_close_ends_reads_subscriptions_and_further_use(bus: Bus) -> None:
    await bus.create_group("commands", "workers")
    subscription = await bus.subscribe("wallboard")
    blocked = asyncio.create_task(bus.read("commands", "workers", "w1", block=30))
    listening = asyncio.create_task(anext(aiter(subscription), None))
    await asyncio.sleep(0.05)

    await bus.close()
    await bus.close()

    with pytest.raises(BusClosedError):
        await asyncio.wait_for(blocked, timeout=5)
    assert await asyncio.wait_for(listening, timeout=5) is None
    with pytest.raises(BusClosedError):
        await bus.add("commands", {"n": 1})
    with pytest.raises(BusClosedError):
        await bus.publish("wallboard", {"n": 1})
    with pytest.raises(BusClosedError):
        await bus.subscribe("wallboard")
    with pytest.raises(BusClosedError):
        await bus.read("commands", "workers", "w1")
