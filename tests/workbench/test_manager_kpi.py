"""The KPI definitions of campaigns.kpi and the wallboard's view of them: pure, table-tested."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.kpi import (
    AttemptFact,
    InstalmentFact,
    KeptFigures,
    PromiseFact,
    PromiseFigures,
    Ratio,
    average_handle_time,
    call_figures,
    kept_figures,
    liquidation_rate,
    occupancy,
    per_hour,
    promise_figures,
    ptp_rate,
    recovery_rate,
)
from compliance.abandon import AbandonFigures
from compliance.models import AttemptStatus, Outcome
from workbench.agent_state import Activity, AgentStatus, PauseCode
from workbench.agents import AgentRecord
from workbench.manager_wallboard import LedgerFigures, abandon_level, wallboard_view
from workbench.viewer import ClientScope

DONE = AttemptStatus.COMPLETED


@pytest.mark.parametrize(
    ("outcome", "connected", "contact", "right_party"),
    [
        (Outcome.BUSY, 0, 0, 0),
        (Outcome.NOT_IN_SERVICE, 0, 0, 0),
        (Outcome.NETWORK_FAILURE, 0, 0, 0),
        (Outcome.NO_ANSWER, 0, 0, 0),
        (Outcome.VOICEMAIL, 1, 0, 0),
        (Outcome.VOICEMAIL_MESSAGE_LEFT, 1, 0, 0),
        (Outcome.MACHINE, 1, 0, 0),
        (Outcome.ANSWERED_NO_CONVERSATION, 1, 0, 0),
        (Outcome.ABANDONED, 1, 0, 0),
        (Outcome.CONVERSATION, 1, 1, 1),
        (Outcome.THIRD_PARTY_CONVERSATION, 1, 1, 0),
        (Outcome.INBOUND_MESSAGE, 0, 0, 0),
        (Outcome.INBOUND_NO_AGENT, 0, 0, 0),
    ],
)
def test_each_outcome_counts_where_the_definitions_say(
    outcome: Outcome, connected: int, contact: int, right_party: int
) -> None:
    figures = call_figures([AttemptFact(DONE, outcome)])
    assert (figures.attempts, figures.connected, figures.contacts, figures.right_party) == (
        1,
        connected,
        contact,
        right_party,
    )


def test_call_rates_and_their_denominators() -> None:
    attempts = [
        *[AttemptFact(DONE, Outcome.NO_ANSWER)] * 5,
        *[AttemptFact(DONE, Outcome.MACHINE)] * 2,
        AttemptFact(DONE, Outcome.THIRD_PARTY_CONVERSATION),
        *[AttemptFact(DONE, Outcome.CONVERSATION)] * 2,
        AttemptFact(AttemptStatus.DIALING, None),  # placed, still ringing: an attempt
        AttemptFact(AttemptStatus.CANCELLED, None),  # never placed
    ]
    figures = call_figures(attempts)
    assert figures.attempts == 11
    assert figures.connect_rate == Ratio(5, 11)
    assert figures.contact_rate == Ratio(3, 11)
    assert figures.rpc_rate == Ratio(2, 11)
    assert figures.rpc_per_contact == Ratio(2, 3)
    assert figures.rpc_per_contact.percent() == "66.7 %"


def test_a_ratio_without_a_denominator_has_no_value() -> None:
    empty = call_figures([])
    assert empty.contact_rate.value is None
    assert empty.contact_rate.percent() == "—"
    assert ptp_rate(3, 0).per() == "—"
    assert Ratio(1, 4).percent(0) == "25 %"


def test_promises_and_amounts_promised() -> None:
    promises = [
        PromiseFact(rejected=False, instalments_minor=(5000,)),
        PromiseFact(rejected=False, instalments_minor=(2000, 2000, 2000)),
        PromiseFact(rejected=True, instalments_minor=(100000,)),  # never made to the debtor
    ]
    assert promise_figures(promises) == PromiseFigures(
        created=2, first_instalments_minor=7000, full_schedule_minor=11000
    )
    assert ptp_rate(2, 8) == Ratio(2, 8)


MAY_1 = dt.date(2025, 5, 1)
MAY_31 = dt.date(2025, 5, 31)
TODAY = dt.date(2025, 6, 10)


def _due(day: int, amount: int, *payments: tuple[int, int], cancelled: bool = False) -> InstalmentFact:
    return InstalmentFact(
        dt.date(2025, 5, day) if day <= 31 else dt.date(2025, 6, day - 31),
        amount,
        cancelled,
        tuple((dt.date(2025, 5, 1) + dt.timedelta(days=paid_day - 1), paid) for paid_day, paid in payments),
    )


@pytest.mark.parametrize(
    ("instalment", "due", "kept"),
    [
        (_due(10, 5000, (10, 5000)), 1, 1),  # paid on the day
        (_due(10, 5000, (13, 5000)), 1, 1),  # paid on the last grace day
        (_due(10, 5000, (14, 5000)), 1, 0),  # paid a day after grace: broken
        (_due(10, 5000, (9, 2000), (12, 3000)), 1, 1),  # two part payments making the full amount
        (_due(10, 5000, (10, 4999)), 1, 0),  # short by one cent
        (_due(10, 5000), 1, 0),  # nothing paid
        (_due(10, 5000, cancelled=True), 0, 0),  # cancelled: out of the rate
        (_due(30, 5000), 1, 0),  # due 30 May, grace over on 2 June
        (_due(38, 5000), 0, 0),  # due 7 June: outside the period
    ],
)
def test_kept_and_broken_instalments(instalment: InstalmentFact, due: int, kept: int) -> None:
    assert kept_figures([instalment], MAY_1, MAY_31, TODAY) == KeptFigures(due, kept)


def test_an_instalment_still_in_grace_is_neither_kept_nor_broken() -> None:
    late_may = _due(29, 5000)
    assert kept_figures([late_may], MAY_1, MAY_31, dt.date(2025, 6, 1)) == KeptFigures(0, 0)
    assert kept_figures([late_may], MAY_1, MAY_31, dt.date(2025, 6, 2)) == KeptFigures(1, 0)


def test_kept_and_broken_rates_add_up() -> None:
    figures = KeptFigures(due=8, kept=6)
    assert figures.kept_rate == Ratio(6, 8)
    assert figures.broken_rate == Ratio(2, 8)


def test_time_based_figures() -> None:
    assert per_hour(12, 4 * 3600).value == 3.0
    assert occupancy(talk_seconds=1800, wrap_seconds=600, ready_idle_seconds=1200) == Ratio(2400, 3600)
    assert average_handle_time(300, 30, 60, 10, handled=2).value == 200.0
    assert liquidation_rate(25_000, 1_000_000).percent() == "2.5 %"
    assert recovery_rate(0, 0).value is None


@given(st.lists(st.tuples(st.sampled_from(AttemptStatus), st.none() | st.sampled_from(Outcome)), max_size=40))
def test_the_funnel_never_widens(facts: list[tuple[AttemptStatus, Outcome | None]]) -> None:
    figures = call_figures([AttemptFact(status, outcome) for status, outcome in facts])
    assert figures.attempts >= figures.connected >= figures.contacts >= figures.right_party >= 0


def _agent(agent_id: int, pause: PauseCode | None) -> AgentRecord:
    activity = Activity.READY if pause is None else Activity.PAUSED
    return AgentRecord(agent_id, f"Agent {agent_id}", ClientScope(None), AgentStatus(activity, pause, NOON))


NOON = dt.datetime(2025, 6, 3, 17, 0, tzinfo=dt.UTC)
QUIET_LEDGER = LedgerFigures(
    calls_dialing=0,
    calls_connected=1,
    agents_on_calls=frozenset({1}),
    abandon_today=AbandonFigures(),
    abandon_30_days=AbandonFigures(100, 2),
    abandon_by_campaign=(("Spring", AbandonFigures(40, 2)), ("Summer", AbandonFigures(60, 0))),
    last_hour=call_figures([]),
    promises_today=0,
    promised_today=(),
)


def test_the_wallboard_groups_agents_and_measures_occupancy_now() -> None:
    agents = [
        _agent(1, None),  # bridged by the dialer: on a call
        _agent(2, None),
        _agent(3, None),
        _agent(4, PauseCode.LUNCH),
        _agent(5, PauseCode.LUNCH),
        _agent(6, PauseCode.BREAK),
    ]
    view = wallboard_view(QUIET_LEDGER, agents, NOON)
    assert [(state.label, state.count) for state in view.states] == [
        ("On a call", 1),
        ("Ready", 2),
        ("Paused: Break", 1),
        ("Paused: Lunch", 2),
    ]
    assert view.signed_in == 6
    assert view.occupancy == Ratio(1, 3)  # paused agents are neither busy nor idle
    # 2 % over all campaigns, but Spring alone is at 5 %: the board shows the worst.
    assert view.abandon_level == "critical"
    assert [abandon_level(rate) for rate in (0.0, 0.0249, 0.025, 0.03, 0.0301)] == [
        "ok",
        "ok",
        "warning",
        "warning",
        "critical",
    ]
