"""What only the Redis bus does: connect processes. Several bus instances stand in for several
web workers and engines on different machines; they share nothing but the Redis server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis
import redis.asyncio as aioredis

from infra.bus import LocalBus, make_bus
from infra.bus.redis_bus import RedisBus
from infra.settings import Settings

NewBus = Callable[..., RedisBus]


@pytest.fixture
async def new_bus(redis_url: str, redis_namespace: str) -> AsyncIterator[NewBus]:
    made: list[RedisBus] = []

    def make(*, prefix: str = redis_namespace, client_name: str | None = None) -> RedisBus:
        client = aioredis.Redis.from_url(
            redis_url, decode_responses=True, protocol=2, client_name=client_name
        )
        bus = RedisBus(client, prefix=prefix)
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


async def test_every_web_worker_gets_a_fan_out_message(new_bus: NewBus) -> None:
    workers = [new_bus() for _ in range(3)]
    engine = new_bus()
    subscriptions = [await worker.subscribe("screen-pop") for worker in workers for _ in range(2)]

    await engine.publish("screen-pop", {"agent": 7, "account": 42})

    for subscription in subscriptions:
        message = await subscription.get(timeout=5)
        assert message is not None
        assert message.body == {"agent": 7, "account": 42}


async def test_a_consumer_in_another_process_takes_over_a_dead_ones_entries(new_bus: NewBus) -> None:
    engine, dying, surviving = new_bus(), new_bus(), new_bus()
    await engine.create_group("call-events", "engines")
    for n in range(3):
        await engine.add("call-events", {"n": n})
    taken = await dying.read("call-events", "engines", "engine-a", count=3)
    await dying.close()

    claimed = await surviving.claim("call-events", "engines", "engine-b", min_idle=0)

    assert [delivery.id for delivery in claimed] == [delivery.id for delivery in taken]
    assert await surviving.ack("call-events", "engines", *(delivery.id for delivery in claimed)) == 3


async def test_prefixes_keep_installations_apart(new_bus: NewBus, redis_namespace: str) -> None:
    ours, theirs = new_bus(), new_bus(prefix=f"{redis_namespace}:other")
    mine = await ours.subscribe("wallboard")
    await ours.create_group("events", "g")
    await theirs.create_group("events", "g")
    await theirs.add("events", {"n": 1})
    await theirs.publish("wallboard", {"n": 1})

    assert await ours.read("events", "g", "c") == []
    assert await mine.get(timeout=0.2) is None


async def test_subscriptions_survive_a_lost_connection(new_bus: NewBus, redis_url: str) -> None:
    name = f"arrears-test-{uuid.uuid4().hex[:10]}"
    worker, engine = new_bus(client_name=name), new_bus()
    subscription = await worker.subscribe("wallboard")
    admin = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        ours = [client["id"] for client in admin.client_list(_type="pubsub") if client["name"] == name]
        assert len(ours) == 1
        admin.client_kill_filter(_id=ours[0])
    finally:
        admin.close()

    async def publish_until_received() -> None:
        while await subscription.get(timeout=0.2) is None:
            await engine.publish("wallboard", {"n": 1})

    await asyncio.wait_for(publish_until_received(), timeout=15)


async def test_make_bus_follows_the_redis_setting(redis_url: str, redis_namespace: str) -> None:
    local = make_bus(Settings(redis_url=""))
    remote = make_bus(Settings(redis_url=redis_url), prefix=redis_namespace)
    try:
        assert isinstance(local, LocalBus)
        assert isinstance(remote, RedisBus)
        await remote.create_group("events", "g")
        await remote.add("events", {"n": 1})
        assert [delivery.body for delivery in await remote.read("events", "g", "c")] == [{"n": 1}]
    finally:
        await local.close()
        await remote.close()
