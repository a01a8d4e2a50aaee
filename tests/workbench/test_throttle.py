from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.live_store import LiveStore, MemoryLiveStore, RedisLiveStore
from workbench.throttle import ADDRESS_POLICY, USERNAME_POLICY, SignInThrottle, ThrottlePolicy

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0.0), (4, 0.0), (5, 2.0), (6, 4.0), (7, 8.0), (13, 512.0), (14, 900.0), (10_000, 900.0)],
)
def test_username_back_off_doubles_after_five_failures_up_to_fifteen_minutes(
    failures: int, delay: float
) -> None:
    assert USERNAME_POLICY.delay_after(failures) == delay


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_delay_never_shrinks_as_failures_grow_and_stays_capped(first: int, second: int) -> None:
    for policy in (USERNAME_POLICY, ADDRESS_POLICY):
        low, high = sorted((first, second))
        assert 0 <= policy.delay_after(low) <= policy.delay_after(high) <= policy.max_delay_seconds


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[LiveStore]:
    if request.param == "memory":
        live: LiveStore = MemoryLiveStore()
    else:
        live = RedisLiveStore(
            request.getfixturevalue("redis_url"), request.getfixturevalue("redis_namespace")
        )
    yield live
    await live.close()


async def test_a_username_is_locked_after_its_free_failures_and_others_are_not(store: LiveStore) -> None:
    throttle = SignInThrottle(store, username_policy=ThrottlePolicy(3, 60.0, 600.0, 3600))
    for _ in range(2):
        await throttle.record_failure("Alice", "10.0.0.1", NOW)
    assert await throttle.lock("alice", "10.0.0.9", NOW) is None
    await throttle.record_failure("alice ", "10.0.0.1", NOW)
    lock = await throttle.lock("ALICE", "10.0.0.9", NOW)
    assert lock is not None
    assert lock.seconds_left(NOW) == 60
    assert await throttle.lock("alice", "10.0.0.9", NOW + dt.timedelta(seconds=61)) is None
    assert await throttle.lock("bob", "10.0.0.9", NOW) is None


async def test_an_address_is_locked_across_usernames(store: LiveStore) -> None:
    throttle = SignInThrottle(store, address_policy=ThrottlePolicy(3, 30.0, 600.0, 3600))
    for name in ("ann", "ben", "cid"):
        await throttle.record_failure(name, "10.0.0.2", NOW)
    assert await throttle.lock("dora", "10.0.0.2", NOW) is not None
    assert await throttle.lock("dora", "10.0.0.3", NOW) is None


async def test_success_clears_the_username_count_but_not_the_address_count(store: LiveStore) -> None:
    throttle = SignInThrottle(
        store,
        username_policy=ThrottlePolicy(2, 10.0, 600.0, 3600),
        address_policy=ThrottlePolicy(3, 10.0, 600.0, 3600),
    )
    await throttle.record_failure("eve", "10.0.0.4", NOW)
    await throttle.record_success("eve")
    await throttle.record_failure("eve", "10.0.0.4", NOW)
    assert await throttle.lock("eve", "10.0.0.5", NOW) is None  # one failure since the success
    await throttle.record_failure("eve", "10.0.0.4", NOW)
    assert await throttle.lock("zed", "10.0.0.4", NOW) is not None  # the address saw three
