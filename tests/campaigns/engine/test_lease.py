"""Campaign leases: the pure renewal decision, and the Redis and in-process stores under one contract."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.engine.lease import (
    Decision,
    HeldLease,
    LeaseStore,
    LeaseTiming,
    LocalLeases,
    Move,
    RedisLeases,
    next_move,
    valid_until,
)

TIMING = LeaseTiming(ttl_s=3.0, renew_every_s=1.0, safety_margin_s=0.5)
FAST = LeaseTiming(ttl_s=0.6, renew_every_s=0.15, safety_margin_s=0.1)


@pytest.mark.parametrize(
    ("now", "decision"),
    [
        (10.0, Decision(Move.WAIT, 1.0)),  # just renewed
        (10.4, Decision(Move.WAIT, 0.6)),
        (11.0, Decision(Move.RENEW)),  # due
        (12.4, Decision(Move.RENEW)),  # overdue: renewals failing, still inside the lease
        (12.5, Decision(Move.GIVE_UP)),  # the store may let it go before another renewal lands
        (20.0, Decision(Move.GIVE_UP)),
    ],
)
def test_next_move_after_a_renewal_sent_at_10(now: float, decision: Decision) -> None:
    move = next_move(now, 10.0, TIMING)
    assert move.move is decision.move
    assert move.wait_s == pytest.approx(decision.wait_s)


@given(
    now=st.floats(0, 1e6, allow_nan=False),
    sent=st.floats(0, 1e6, allow_nan=False),
    ttl=st.floats(0.5, 60),
    renew_share=st.floats(0.05, 0.6),
    margin_share=st.floats(0.0, 0.3),
)
def test_the_holder_acts_only_while_the_store_still_holds_its_lease(
    now: float, sent: float, ttl: float, renew_share: float, margin_share: float
) -> None:
    timing = LeaseTiming(ttl, ttl * renew_share, ttl * margin_share)
    decision = next_move(now, sent, timing)
    store_expiry = sent + ttl  # the store started the TTL no earlier than the request was sent
    if decision.move is not Move.GIVE_UP:
        assert now < valid_until(sent, timing) <= store_expiry
    if decision.move is Move.WAIT:
        assert decision.wait_s > 0
        assert now + decision.wait_s <= valid_until(sent, timing) + 1e-9


@pytest.mark.parametrize(
    ("ttl", "renew", "margin"), [(3.0, 0.0, 0.5), (3.0, 2.5, 0.5), (3.0, 1.0, -0.1), (1.0, 1.0, 0.0)]
)
def test_timings_that_could_not_keep_a_lease_are_refused(ttl: float, renew: float, margin: float) -> None:
    with pytest.raises(ValueError, match="lease timing"):
        LeaseTiming(ttl, renew, margin)


@pytest.fixture(params=["local", "redis"])
async def leases(request: pytest.FixtureRequest) -> AsyncIterator[LeaseStore]:
    if request.param == "local":
        store: LeaseStore = LocalLeases()
    else:
        url = request.getfixturevalue("redis_url")
        store = RedisLeases.from_url(url, prefix=request.getfixturevalue("redis_namespace"))
    yield store
    await store.close()


async def test_only_one_contender_takes_a_lease(leases: LeaseStore) -> None:
    assert await leases.take("campaign:1", "a", 5.0)
    assert not await leases.take("campaign:1", "b", 5.0)
    assert await leases.take("campaign:2", "b", 5.0)
    assert await leases.holder("campaign:1") == "a"


async def test_only_the_holder_renews_or_releases(leases: LeaseStore) -> None:
    assert await leases.take("campaign:1", "a", 5.0)
    assert not await leases.renew("campaign:1", "b", 5.0)
    assert not await leases.release("campaign:1", "b")
    assert await leases.renew("campaign:1", "a", 5.0)
    assert await leases.release("campaign:1", "a")
    assert await leases.holder("campaign:1") is None
    assert not await leases.renew("campaign:1", "a", 5.0)  # released: gone for good
    assert await leases.take("campaign:1", "b", 5.0)


async def test_an_expired_lease_goes_to_the_next_contender(leases: LeaseStore) -> None:
    assert await leases.take("campaign:1", "a", 0.2)
    await asyncio.sleep(0.3)
    assert await leases.holder("campaign:1") is None
    assert await leases.take("campaign:1", "b", 5.0)
    assert not await leases.renew("campaign:1", "a", 5.0)
    assert not await leases.release("campaign:1", "a")  # the late holder cannot drop its successor
    assert await leases.holder("campaign:1") == "b"


async def test_a_kept_lease_outlives_its_ttl_and_is_released(leases: LeaseStore) -> None:
    lease = await HeldLease.take(leases, "campaign:1", "a", FAST)
    assert lease is not None
    keeper = asyncio.create_task(lease.keep())
    await asyncio.sleep(4 * FAST.ttl_s)
    assert lease.valid()
    assert not await leases.take("campaign:1", "b", 5.0)
    await lease.release()
    await asyncio.wait_for(keeper, 1.0)
    assert not lease.valid()
    assert await leases.holder("campaign:1") is None


async def test_a_holder_that_cannot_renew_stops_at_once(leases: LeaseStore) -> None:
    lease = await HeldLease.take(leases, "campaign:1", "a", FAST)
    assert lease is not None
    keeper = asyncio.create_task(lease.keep())
    # Someone else ends up holding the key (an operator deleted it, another engine took it).
    assert await leases.release("campaign:1", "a")
    assert await leases.take("campaign:1", "b", 5.0)
    await asyncio.wait_for(lease.lost.wait(), 2 * FAST.renew_every_s)
    await asyncio.wait_for(keeper, 1.0)
    assert not lease.valid()
    await lease.release()
    assert await leases.holder("campaign:1") == "b"


async def test_a_holder_gives_up_before_its_lease_can_expire_when_renewals_do_not_land(
    redis_url: str, redis_namespace: str
) -> None:
    reachable = RedisLeases.from_url(redis_url, prefix=redis_namespace)
    taken_at = time.monotonic()
    assert await reachable.take("campaign:1", "a", FAST.ttl_s)
    # From here on the holder's Redis cannot be reached: every renewal fails.
    unreachable = RedisLeases.from_url("redis://127.0.0.1:1/0", prefix=redis_namespace)
    lease = HeldLease(unreachable, "campaign:1", "a", FAST, taken_at)
    keeper = asyncio.create_task(lease.keep())
    await asyncio.wait_for(lease.lost.wait(), FAST.ttl_s)
    gave_up_at = time.monotonic()
    assert not lease.valid()
    assert await reachable.holder("campaign:1") == "a"  # it stopped while the key still stood
    assert gave_up_at - taken_at < FAST.ttl_s
    await asyncio.wait_for(keeper, 1.0)
    await unreachable.close()
    await reachable.close()


async def test_no_lease_is_taken_when_redis_is_unreachable() -> None:
    leases = RedisLeases.from_url("redis://127.0.0.1:1/0")
    assert await HeldLease.take(leases, "campaign:1", "a", FAST) is None
    await leases.close()
