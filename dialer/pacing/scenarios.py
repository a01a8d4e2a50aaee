"""Benchmark scenarios (notes/pacing-benchmark.md §5.3). IDs are stable: a changed scenario gets a new ID."""

from __future__ import annotations

from dataclasses import dataclass, replace

HOUR = 3600.0
WARMUP_S = 900.0


@dataclass(frozen=True)
class NetworkShock:
    start_s: float
    end_s: float
    extra_pdd_s: float
    fail_share: float  # share of attempts failing fast on top of the normal mix


@dataclass(frozen=True)
class Staffing:
    """Which agents are logged in and not paused: (start, end, agent indices) absences."""

    agents: int
    breaks: tuple[tuple[float, float, tuple[int, ...]], ...] = ()
    login_at: tuple[float, ...] = ()  # per agent; empty: everyone at t = 0
    logout_at: tuple[float, ...] = ()  # per agent; empty: nobody leaves before the day ends


@dataclass(frozen=True)
class Scenario:
    id: str
    description: str
    staffing: Staffing
    # Piecewise-linear answer rate over the day: (t seconds, p) points; constant outside.
    answer_rate: tuple[tuple[float, float], ...]
    hours: float = 8.0
    warmup_s: float = WARMUP_S
    days: int = 1
    daily_answer_rate: tuple[float, float] | None = None  # p drawn per day from U(lo, hi)
    talk_mean_s: float = 180.0
    talk_cv_by_day: tuple[float, ...] = (1.0,)
    talk_shift: tuple[float, float] | None = None  # (from t, new mean) for calls connected after t
    wrap_mean_s: float = 30.0
    wrap_cv: float = 0.5
    network_shock: NetworkShock | None = None
    amd: bool = False
    lines_max: int | None = None
    leads: int | None = None
    connect_deadline_s: float = 2.0
    # Ring like the carrier simulator (dialer/carrier/profiles.py) instead of §5.1's PDD and ring times.
    carrier_timing: bool = False

    @property
    def agents(self) -> int:
        return self.staffing.agents

    @property
    def day_length_s(self) -> float:
        return self.warmup_s + self.hours * HOUR


def _constant(p: float) -> tuple[tuple[float, float], ...]:
    return ((0.0, p),)


def _step(base: float, low: float, start_s: float, end_s: float) -> tuple[tuple[float, float], ...]:
    return ((start_s, base), (start_s + 1e-3, low), (end_s, low), (end_s + 1e-3, base))


def _stationary(scenario_id: str, agents: int, p: float, purpose: str) -> Scenario:
    return Scenario(
        scenario_id, f"{agents} agents, p={p:.2f}, stationary ({purpose})", Staffing(agents), _constant(p)
    )


def _shift_staffing(agents: int) -> Staffing:
    """Staggered logins over 30 min, two break waves, lunch in two halves, logouts over the last 30 min."""
    day_end = 8.0 * HOUR
    everyone = tuple(range(agents))
    third = max(agents // 3, 1)
    half = agents // 2
    breaks = (
        (2.0 * HOUR, 2.25 * HOUR, everyone[:third]),
        (2.25 * HOUR, 2.5 * HOUR, everyone[third : 2 * third]),
        (4.0 * HOUR, 4.5 * HOUR, everyone[:half]),
        (4.5 * HOUR, 5.0 * HOUR, everyone[half:]),
        (6.0 * HOUR, 6.25 * HOUR, everyone[2 * third :]),
        (6.25 * HOUR, 6.5 * HOUR, everyone[:third]),
    )
    login = tuple(1800.0 * i / agents for i in range(agents))
    logout = tuple(day_end - 1800.0 + 1800.0 * i / agents for i in range(agents))
    return Staffing(agents, breaks, login, logout)


def _build() -> dict[str, Scenario]:
    catalogue: list[Scenario] = []
    for n, size in ((5, "S5"), (10, "X10"), (25, "M25"), (50, "X50"), (200, "L200")):
        for p in (0.20, 0.35):
            catalogue.append(_stationary(f"{size}-{round(p * 100)}", n, p, "team size"))
    day_profile = ((0.0, 0.12), (2 * HOUR, 0.18), (4 * HOUR, 0.15), (6 * HOUR, 0.25), (8.25 * HOUR, 0.33))
    for n in (25, 200):
        catalogue.append(
            Scenario(
                f"TV{n}",
                f"{n} agents, day profile of p 0.12-0.33, 09:00-17:15",
                Staffing(n),
                day_profile,
                hours=8.25,
                warmup_s=0.0,
            )
        )
    catalogue += [
        Scenario(
            "SH-P25",
            "25 agents, p 0.25 -> 0.10 for 30 min at 1.5 h",
            Staffing(25),
            _step(0.25, 0.10, WARMUP_S + 1.5 * HOUR, WARMUP_S + 2.0 * HOUR),
        ),
        Scenario(
            "SH-A25",
            "25 -> 15 agents (break wave) for 30 min at 2.5 h",
            Staffing(25, ((WARMUP_S + 2.5 * HOUR, WARMUP_S + 3.0 * HOUR, tuple(range(15, 25))),)),
            _constant(0.25),
        ),
        Scenario(
            "SH-T25",
            "25 agents, mean talk 180 -> 300 s for calls connected after 2 h",
            Staffing(25),
            _constant(0.25),
            talk_shift=(WARMUP_S + 2.0 * HOUR, 300.0),
        ),
        Scenario(
            "SH-R25",
            "25 agents, PDD +6 s and 30 % fast fails for 20 min at 3 h",
            Staffing(25),
            _constant(0.25),
            network_shock=NetworkShock(WARMUP_S + 3.0 * HOUR, WARMUP_S + 3.0 * HOUR + 1200.0, 6.0, 0.30),
        ),
        Scenario(
            "AMD25",
            "25 agents, AMD: +2.5 s, 3 % live hung up, 10 % machines to agents",
            Staffing(25),
            _constant(0.25),
            amd=True,
        ),
        Scenario(
            "SHIFT50",
            "50 agents: staggered logins, breaks, lunch, staggered logouts",
            _shift_staffing(50),
            _constant(0.25),
            warmup_s=0.0,
        ),
        Scenario(
            "CAP50",
            "50 agents, lines <= 65, list of 6,000 leads",
            Staffing(50),
            _constant(0.25),
            lines_max=65,
            leads=6000,
        ),
        # CAP50's list runs out in the first hours, while its first 15 minutes go unmeasured: a pacer
        # that dials faster in them has fewer leads left for the measured day. Here the list's whole
        # life is measured.
        Scenario(
            "LIST50",
            "50 agents, lines <= 65, list of 6,000 leads, measured from the first dial",
            Staffing(50),
            _constant(0.25),
            lines_max=65,
            leads=6000,
            warmup_s=0.0,
        ),
        Scenario(
            "CV25",
            "25 agents, p=0.25, talk CV 0.6 on day 1 and 1.5 on day 2",
            Staffing(25),
            _constant(0.25),
            days=2,
            talk_cv_by_day=(0.6, 1.5),
        ),
        Scenario(
            "MONTH25",
            "25 agents, 22 days, p per day from U(0.15, 0.30)",
            Staffing(25),
            _constant(0.25),
            days=22,
            daily_answer_rate=(0.15, 0.30),
        ),
    ]
    return {scenario.id: scenario for scenario in catalogue}


SCENARIOS: dict[str, Scenario] = _build()


def custom_scenario(
    agents: int,
    answer_rate: float,
    talk_mean_s: float,
    wrap_mean_s: float,
    hours: float,
    *,
    carrier_timing: bool = False,
) -> Scenario:
    base = _stationary("CUSTOM", agents, answer_rate, "custom")
    return replace(
        base,
        talk_mean_s=talk_mean_s,
        wrap_mean_s=wrap_mean_s,
        hours=hours,
        carrier_timing=carrier_timing,
        description=f"{agents} agents, p={answer_rate:.2f}, talk {talk_mean_s:g} s, "
        f"wrap {wrap_mean_s:g} s, {hours:g} h" + (", carrier ring times" if carrier_timing else ""),
    )
