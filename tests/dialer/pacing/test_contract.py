"""Every pacer honours the contract: protocol, determinism, bounds."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.pacing import PACERS, AgentPhase, Pacer, PacingConfig, PacingEvent, PacingState, make_pacer

CONTRACT_NAMES = {"progressive", "ratio", "vicidial_adaptive", "predictive"}


def _state(
    t: float,
    phases: list[AgentPhase],
    *,
    elapsed: list[float] | None = None,
    ringing: list[float] | None = None,
    waiting: list[float] | None = None,
    lines_in_use: int = 0,
    leads_available: int = 1000,
) -> PacingState:
    return PacingState(
        t=t,
        agent_phase=phases,
        agent_elapsed_s=elapsed if elapsed is not None else [0.0] * len(phases),
        ringing_elapsed_s=ringing or [],
        waiting_elapsed_s=waiting or [],
        lines_in_use=lines_in_use,
        leads_available=leads_available,
    )


def _trace(seed: int, steps: int = 400) -> list[tuple[list[PacingEvent], PacingState]]:
    """A plausible stream of events and states, the same for a given seed."""
    rng = random.Random(seed)
    trace = []
    for step in range(steps):
        t = step * 0.5
        events = []
        if rng.random() < 0.3:
            outcome = rng.choice(["live", "no_answer", "machine", "failed"])
            events.append(PacingEvent(t, "resolved", outcome, rng.uniform(2.0, 30.0)))
        if rng.random() < 0.1:
            events.append(PacingEvent(t, rng.choice(["connected", "abandoned"]), None, None))
        if rng.random() < 0.1:
            events.append(PacingEvent(t, "talk_end", None, rng.uniform(10.0, 600.0)))
        if rng.random() < 0.1:
            events.append(PacingEvent(t, "wrap_end", None, rng.uniform(5.0, 90.0)))
        agents = 12
        phases = [AgentPhase(rng.choice([0, 1, 1, 1, 2, 3])) for _ in range(agents)]
        state = _state(
            t,
            phases,
            elapsed=[rng.uniform(0.0, 900.0) for _ in range(agents)],
            ringing=[rng.uniform(0.0, 40.0) for _ in range(rng.randrange(8))],
            waiting=[rng.uniform(0.0, 2.0) for _ in range(rng.randrange(2))],
            lines_in_use=rng.randrange(20),
            leads_available=rng.randrange(30),
        )
        trace.append((events, state))
    return trace


def _replay(pacer: Pacer, seed: int, config: PacingConfig) -> list[int]:
    pacer.reset(config, seed)
    decisions = []
    for events, state in _trace(seed):
        for event in events:
            pacer.observe(event)
        decisions.append(pacer.decide(state))
    return decisions


def test_registry_names_the_contract_pacers() -> None:
    assert set(PACERS) >= CONTRACT_NAMES


def test_unknown_pacer_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown pacer"):
        make_pacer("clairvoyant")


@pytest.mark.parametrize("name", sorted(CONTRACT_NAMES))
def test_pacer_satisfies_the_protocol(name: str) -> None:
    pacer: Pacer = make_pacer(name)
    pacer.reset(PacingConfig(), 1)
    pacer.observe(PacingEvent(0.0, "login", None, None))
    assert isinstance(pacer.decide(_state(0.0, [AgentPhase.IDLE])), int)


@pytest.mark.parametrize("name", sorted(CONTRACT_NAMES))
def test_same_seed_same_decisions(name: str) -> None:
    config = PacingConfig(lines_max=24)
    assert _replay(make_pacer(name), 7, config) == _replay(make_pacer(name), 7, config)


@pytest.mark.parametrize("name", sorted(CONTRACT_NAMES))
def test_reset_forgets_the_previous_run(name: str) -> None:
    pacer = make_pacer(name)
    config = PacingConfig(lines_max=24)
    first = _replay(pacer, 3, config)
    _replay(pacer, 4, config)
    assert _replay(pacer, 3, config) == first


@pytest.mark.parametrize("name", sorted(CONTRACT_NAMES))
def test_decisions_respect_lines_and_leads(name: str) -> None:
    config = PacingConfig(lines_max=24)
    pacer = make_pacer(name)
    decisions = _replay(pacer, 11, config)
    for (_, state), launched in zip(_trace(11), decisions, strict=True):
        assert 0 <= launched <= state.leads_available
        assert state.lines_in_use + launched <= max(24, state.lines_in_use)


phase_lists = st.lists(st.sampled_from(list(AgentPhase)), min_size=0, max_size=60)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(CONTRACT_NAMES)),
    phases=phase_lists,
    data=st.data(),
    lines_max=st.none() | st.integers(min_value=0, max_value=80),
    leads=st.integers(min_value=0, max_value=50),
    t=st.floats(min_value=0.0, max_value=30_000.0),
)
def test_any_state_gives_a_bounded_non_negative_answer(
    *, name: str, phases: list[AgentPhase], data: st.DataObject, lines_max: int | None, leads: int, t: float
) -> None:
    elapsed = data.draw(st.lists(st.floats(0.0, 10_000.0), min_size=len(phases), max_size=len(phases)))
    ringing = data.draw(st.lists(st.floats(0.0, 120.0), max_size=30))
    waiting = data.draw(st.lists(st.floats(0.0, 2.0), max_size=5))
    in_use = data.draw(st.integers(0, 100))
    pacer = make_pacer(name)
    pacer.reset(PacingConfig(lines_max=lines_max), 1)
    launched = pacer.decide(
        _state(
            t,
            phases,
            elapsed=elapsed,
            ringing=ringing,
            waiting=waiting,
            lines_in_use=in_use,
            leads_available=leads,
        )
    )
    assert isinstance(launched, int)
    assert 0 <= launched <= leads
    if lines_max is not None:
        assert launched <= max(0, lines_max - in_use)


@pytest.mark.parametrize("name", sorted(CONTRACT_NAMES))
def test_numpy_vectors_are_accepted_like_lists(name: str) -> None:
    phases = [AgentPhase.IDLE, AgentPhase.TALK, AgentPhase.WRAP, AgentPhase.IDLE]
    as_lists = _state(10.0, phases, elapsed=[3.0, 100.0, 5.0, 1.0], ringing=[4.0], lines_in_use=1)
    as_arrays = PacingState(
        t=10.0,
        agent_phase=np.array(phases, dtype=np.int8),
        agent_elapsed_s=np.array([3.0, 100.0, 5.0, 1.0]),
        ringing_elapsed_s=np.array([4.0]),
        waiting_elapsed_s=np.zeros(0),
        lines_in_use=1,
        leads_available=1000,
    )
    first, second = make_pacer(name), make_pacer(name)
    first.reset(PacingConfig(), 1)
    second.reset(PacingConfig(), 1)
    assert first.decide(as_lists) == second.decide(as_arrays)
