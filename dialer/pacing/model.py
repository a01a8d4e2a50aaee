"""The predictive pacer's model of the near future, learned from observed events.

Everything is tabulated on fixed grids so that a decision is a handful of array look-ups:

* `agent_free_table`: for a busy agent that has spent e seconds in TALK (or WRAP), the probability
  of being free within each horizon, from the empirical talk and wrap distributions;
* `live_answer_table`: for a call still ringing at age a, the probability that it answers live
  within each horizon, from the empirical live-answer and non-live resolution times and the
  answer rate.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable, Sequence
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Tail rows with fewer observations beyond the elapsed time than this reuse the last
# well-supported row: an empirical survival curve says nothing past its longest sample.
MIN_TAIL_OBSERVATIONS = 5.0


class RecentDurations:
    """The last `capacity` durations, seeded with prior samples that real ones push out."""

    def __init__(self, prior: Iterable[float], capacity: int) -> None:
        self._values: deque[float] = deque(prior, maxlen=capacity)
        self.added_since_build = 0

    def add(self, value: float) -> None:
        self._values.append(max(0.0, value))
        self.added_since_build += 1

    def __len__(self) -> int:
        return len(self._values)

    def histogram(self, step_s: float, bins: int) -> FloatArray:
        """Probability mass per bin [i*step, (i+1)*step); the last bin holds everything longer."""
        index = np.minimum((np.fromiter(self._values, float) / step_s).astype(np.int64), bins - 1)
        counts = np.bincount(index, minlength=bins).astype(np.float64)
        return counts / max(float(counts.sum()), 1.0)


class RecentOutcomes:
    """Share of live answers among recent settled calls, with a beta prior.

    A call counts once every call dialled with it has surely resolved (`settle_s` after its dial),
    grouped by the second it was dialled in. Counted as they resolve, the early live answers of a
    burst of dials would outweigh the no-answers still ringing. The window keeps the newest whole
    seconds of dials that hold at least `capacity` calls and span at least `window_s`: dropping
    part of a second would drop its calls in the order they resolved, which again depends on the
    outcome. The span matters for large teams, whose `capacity` calls are a minute of dialling and
    whose estimate would then swing by a tenth of its value from minute to minute.
    """

    def __init__(
        self, prior_rate: float, prior_weight: float, capacity: int, settle_s: float, window_s: float = 0.0
    ) -> None:
        self._seconds: deque[list[int]] = deque()  # [second dialled, calls, live answers]
        self._pending: list[tuple[float, int, bool]] = []  # heap by dial time
        self._added = 0
        self._calls = 0
        self._live = 0
        self._capacity = capacity
        self._prior_live = prior_rate * prior_weight
        self._prior_weight = prior_weight
        self._settle_s = settle_s
        self._window_s = window_s

    def add(self, live: bool, dialled_at: float) -> None:
        heapq.heappush(self._pending, (dialled_at, self._added, live))
        self._added += 1

    def settle(self, t: float) -> None:
        """Count the calls dialled by `t - settle_s` (pass inf to count everything resolved)."""
        while self._pending and self._pending[0][0] <= t - self._settle_s:
            dialled_at, _, live = heapq.heappop(self._pending)
            second = math.floor(dialled_at)
            if not self._seconds or self._seconds[-1][0] != second:
                self._seconds.append([second, 0, 0])
            self._seconds[-1][1] += 1
            self._seconds[-1][2] += live
            self._calls += 1
            self._live += live
        while (
            len(self._seconds) > 1
            and self._calls - self._seconds[0][1] >= self._capacity
            and self._seconds[-1][0] - self._seconds[0][0] >= self._window_s
        ):
            _, calls, live_answers = self._seconds.popleft()
            self._calls -= calls
            self._live -= live_answers

    @property
    def rate(self) -> float:
        return (self._live + self._prior_live) / (self._calls + self._prior_weight)


def lognormal_quantiles(mean_s: float, cv: float, count: int) -> list[float]:
    """`count` evenly spaced quantiles of a lognormal: a deterministic prior sample."""
    sigma = math.sqrt(math.log1p(cv * cv))
    mu = math.log(mean_s) - sigma * sigma / 2.0
    standard = NormalDist()
    return [math.exp(mu + sigma * standard.inv_cdf((i + 0.5) / count)) for i in range(count)]


def _supported_rows(survival: FloatArray, observations: int) -> FloatArray:
    """Index of the row to use for each elapsed bin, repeating the last supported one in the tail."""
    supported = survival * observations >= MIN_TAIL_OBSERVATIONS
    rows = np.arange(survival.size)
    last_supported = np.maximum.accumulate(np.where(supported, rows, 0))
    return last_supported.astype(np.float64)


def agent_free_table(
    phase_pmf: FloatArray,
    wrap_pmf: FloatArray | None,
    horizons_s: Sequence[float],
    observations: int,
) -> FloatArray:
    """P(free within k | e seconds already spent in the phase), rows e (1-s bins), columns k.

    For TALK pass the wrap pmf: the agent frees after the rest of the call plus a whole wrap.
    For WRAP pass None. Pmfs are on 1-s bins.
    """
    bins = phase_pmf.size
    horizons = np.asarray(horizons_s, dtype=np.float64)
    survival = np.concatenate((np.cumsum(phase_pmf[::-1])[::-1], [0.0]))[:bins]
    longest = int(np.ceil(horizons.max()))
    padded = np.concatenate((phase_pmf, np.zeros(longest + 1)))
    if wrap_pmf is None:
        # Remaining phase time below k: the mass of bins e .. e+k-1, plus half the bin straddling k.
        cumulative = np.concatenate(([0.0], np.cumsum(padded)))
        rows = np.arange(bins)[:, None]
        whole = np.floor(horizons).astype(np.int64)[None, :]
        frac = (horizons - np.floor(horizons))[None, :]
        mass = cumulative[rows + whole] - cumulative[rows] + frac * padded[rows + whole]
    else:
        wrap_cdf = np.concatenate(([0.0], np.cumsum(wrap_pmf)))
        mass = np.zeros((bins, horizons.size))
        for residual in range(longest + 1):
            # Residual talk in [residual, residual+1): wrap must fit in what is left of k (mid-bin).
            room = horizons - residual - 0.5
            wrap_fits = np.interp(room, np.arange(wrap_cdf.size, dtype=np.float64), wrap_cdf, left=0.0)
            mass += np.outer(padded[residual : residual + bins], wrap_fits)
    with np.errstate(divide="ignore", invalid="ignore"):
        table = np.where(survival[:, None] > 0, mass / survival[:, None], 1.0)
    rows_used = _supported_rows(survival, observations).astype(np.int64)
    return np.clip(table[rows_used], 0.0, 1.0)


def live_answer_table(
    live_cdf: FloatArray,
    other_cdf: FloatArray,
    answer_rate: float,
    step_s: float,
    horizons_s: Sequence[float],
) -> FloatArray:
    """P(a call unresolved at age a answers live within k), rows a (step_s bins), columns k.

    CDFs are evaluated at the bin edges 0, step, 2*step, ...
    """
    ages = np.arange(live_cdf.size) * step_s
    horizons = np.asarray(horizons_s, dtype=np.float64)
    edges = np.arange(live_cdf.size, dtype=np.float64) * step_s
    live_later = np.interp(ages[:, None] + horizons[None, :], edges, live_cdf)
    live_now = live_cdf[:, None]
    unresolved = answer_rate * (1.0 - live_now) + (1.0 - answer_rate) * (1.0 - other_cdf[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        table = np.where(unresolved > 1e-9, answer_rate * (live_later - live_now) / unresolved, 0.0)
    return np.clip(table, 0.0, 1.0)


def max_calls_within_margin(
    surplus: FloatArray, variance: FloatArray, new_call_answer: FloatArray, z: float
) -> float:
    """Largest n with  S + n*q <= z * sqrt(V + n*q*(1-q))  at every horizon (normal approximation).

    S is the expected surplus of live answers (from calls already ringing) over agents free in
    time, V its variance, q the chance that a call launched now answers within the horizon. A
    negative z keeps the surplus that many standard deviations below zero. Returns a negative
    number when even n = 0 breaks the margin at some horizon.
    """
    q = new_call_answer
    spread = q * (1.0 - q)
    # With y = sqrt(V + n*spread):  a*y^2 - z*y + (S - a*V) <= 0,  a = q/spread.
    a = q / spread
    discriminant = z * z - 4.0 * a * (surplus - a * variance)
    if discriminant.min() < 0:
        return -1.0
    y_max = (z + np.sqrt(discriminant)) / (2.0 * a)
    if y_max.min() < 0:
        return -1.0
    return float(((y_max * y_max - variance) / spread).min())
