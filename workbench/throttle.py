"""Sign-in throttling: exponential back-off per username and per client address.

After `free_failures` consecutive failures, each further failure locks the key for twice as long
as the one before, up to `max_delay_seconds`. Failures are forgotten `window_seconds` after the
last one. The address limit is looser than the username limit because many agents of one call
centre share an address; it exists to slow one machine guessing across many usernames.
A locked key is refused before the password is checked, so guessing during a lock learns nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

from workbench.live_store import LiveStore


@dataclasses.dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int
    base_delay_seconds: float
    max_delay_seconds: float
    window_seconds: int

    def delay_after(self, failures: int) -> float:
        """Seconds to lock after the `failures`-th consecutive failure."""
        if failures < self.free_failures:
            return 0.0
        # The exponent is bounded so that a long-running attack cannot overflow the float.
        exponent = min(failures - self.free_failures, 64)
        return min(self.max_delay_seconds, self.base_delay_seconds * 2.0**exponent)


USERNAME_POLICY = ThrottlePolicy(
    free_failures=5, base_delay_seconds=2.0, max_delay_seconds=900.0, window_seconds=3600
)
ADDRESS_POLICY = ThrottlePolicy(
    free_failures=20, base_delay_seconds=2.0, max_delay_seconds=900.0, window_seconds=3600
)


@dataclasses.dataclass(frozen=True)
class Lock:
    until: dt.datetime

    def seconds_left(self, now: dt.datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds()))


class SignInThrottle:
    def __init__(
        self,
        store: LiveStore,
        username_policy: ThrottlePolicy = USERNAME_POLICY,
        address_policy: ThrottlePolicy = ADDRESS_POLICY,
    ) -> None:
        self._store = store
        self._policies = {"user": username_policy, "addr": address_policy}

    @staticmethod
    def _keys(username: str, address: str) -> dict[str, str]:
        return {"user": username.strip().casefold(), "addr": address}

    async def lock(self, username: str, address: str, now: dt.datetime) -> Lock | None:
        """The longest lock in force on this username or address, if any."""
        locks = []
        for kind, key in self._keys(username, address).items():
            until = await self._store.get(f"throttle:{kind}:lock:{key}")
            if until is not None and dt.datetime.fromisoformat(until) > now:
                locks.append(Lock(dt.datetime.fromisoformat(until)))
        return max(locks, key=lambda lock: lock.until, default=None)

    async def record_failure(self, username: str, address: str, now: dt.datetime) -> None:
        for kind, key in self._keys(username, address).items():
            policy = self._policies[kind]
            failures = await self._store.increment(f"throttle:{kind}:failures:{key}", policy.window_seconds)
            delay = policy.delay_after(failures)
            if delay > 0:
                until = now + dt.timedelta(seconds=delay)
                await self._store.set(f"throttle:{kind}:lock:{key}", until.isoformat(), math.ceil(delay))

    async def record_success(self, username: str) -> None:
        # Only the username's count: one good account must not reset an address guessing others.
        key = self._keys(username, "")["user"]
        await self._store.delete(f"throttle:user:failures:{key}")
