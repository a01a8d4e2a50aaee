"""How many calls a congested trunk takes: a window learned from its refusals.

A carrier (or the SBC in front of it) with no circuit free refuses new calls at once: 503, Q.850
cause 34, 38, 41, 42 or 44, all recorded as network failures. Such a call ends within
milliseconds, so the pacer sees its agents' capacity unused and launches more: left alone, the
dialer would hammer the trunk and spend the network-failure retries of many people in seconds.

The rule is additive-increase, multiplicative-decrease, as TCP does for a congested link. After
`FAILURES_BEFORE_LIMIT` network failures in a row (one alone is the number's own fault, not the
trunk's), and at every network failure after that, the window shrinks to the calls still up on the
trunk; every call that gets through (rings, is busy, is answered) widens it by 1/window, so it
probes for a freed circuit about once per window of calls. `SUCCESSES_TO_RELEASE` calls in a row
getting through end the window altogether: a trunk still full refuses one of them long before,
and a stray failure later does not leave the campaign narrowed for the rest of the day. When
nothing at all is up, launching also holds for a time that doubles with each further failure
(`FIRST_HOLD_S` up to `LONGEST_HOLD_S`): the trunk is down, not full.
"""

from __future__ import annotations

import dataclasses
import math

FAILURES_BEFORE_LIMIT = 3
SUCCESSES_TO_RELEASE = 20
FIRST_HOLD_S = 1.0
LONGEST_HOLD_S = 30.0


@dataclasses.dataclass(frozen=True)
class TrunkWindow:
    failures_in_row: int = 0
    limit: float | None = None  # calls in flight the trunk takes; None: no congestion seen
    hold_until_s: float = 0.0  # on the engine's monotonic clock
    successes_in_row: int = 0

    def allowance(self, in_flight: int, now_s: float) -> int | None:
        """How many more calls may be launched now (None: as many as the pacer wants)."""
        if now_s < self.hold_until_s:
            return 0
        if self.limit is None:
            return None
        return max(0, math.floor(self.limit) - in_flight)


def after_call(window: TrunkWindow, *, network_failure: bool, in_flight: int, now_s: float) -> TrunkWindow:
    """The window once a call has ended (or got through); `in_flight`: the calls still up."""
    if not network_failure:
        successes = window.successes_in_row + 1
        if window.limit is None or successes >= SUCCESSES_TO_RELEASE:
            return TrunkWindow()
        return TrunkWindow(0, window.limit + 1.0 / window.limit, 0.0, successes)
    failures = window.failures_in_row + 1
    if window.limit is None and failures < FAILURES_BEFORE_LIMIT:
        return dataclasses.replace(window, failures_in_row=failures)
    hold_until_s = window.hold_until_s
    if in_flight == 0:
        hold = min(FIRST_HOLD_S * 2 ** max(failures - FAILURES_BEFORE_LIMIT, 0), LONGEST_HOLD_S)
        hold_until_s = max(hold_until_s, now_s + hold)
    return TrunkWindow(failures, float(max(1, in_flight)), hold_until_s)
