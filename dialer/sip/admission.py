"""Pure admission and pacing rules for the SIP node: where a call may go and when it may start."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def pool_size(capacity: int, max_calls_per_worker: int) -> int:
    """Workers needed to carry `capacity` legs when each worker process holds `max_calls_per_worker`.

    A customer call and its agent leg must share a worker, so a worker needs room for two legs.
    """
    if max_calls_per_worker < 2:
        raise ValueError(f"pjsua allows {max_calls_per_worker} call per process; a bridge needs 2")
    usable = max_calls_per_worker - max_calls_per_worker % 2
    return max(1, math.ceil(capacity / usable))


@dataclass(frozen=True)
class WorkerLoad:
    index: int
    capacity: int
    held: int  # slots taken by legs (until pjsua frees them) and by reservations for agent legs
    ready: bool
    cooling_until: float  # monotonic time before which the worker reported back-pressure


def choose_worker(loads: Sequence[WorkerLoad], need: int, now: float) -> int | None:
    """The ready worker with the most free slots that can take `need` more, or None."""
    candidates = [
        load
        for load in loads
        if load.ready and load.cooling_until <= now and load.capacity - load.held >= need
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda load: (load.capacity - load.held, -load.index)).index


class Spacer:
    """Spreads call setups evenly at no more than `rate` per second; never lets them burst."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.next_at = -math.inf


def reserve(now: float, spacers: Sequence[Spacer]) -> float:
    """Book the earliest start time that respects every spacer; returns that time."""
    start = max([now, *(spacer.next_at for spacer in spacers)])
    for spacer in spacers:
        spacer.next_at = start + spacer.interval
    return start
