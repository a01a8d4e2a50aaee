"""A small predictive campaign over real SIP: carrier simulator, SIP node, real gate and ledger.

The pacer is set deliberately aggressive (a positive margin) so that some live answers find no
agent and the abandon path runs too; machines get the campaign's voicemail message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections import Counter

import pytest
import sqlalchemy as sa

from campaigns.engine.demo import demo_settings, run_demo
from campaigns.events import ScreenPop
from compliance.models import AttemptStatus, ContactAttempt, GateDecision, Outcome
from infra.bus import LocalBus
from tests.conftest import Database

pytestmark = [pytest.mark.sip, pytest.mark.slow]
REG_F_WEEKLY_CAP = 7


async def test_predictive_campaign_end_to_end(pg_database: Database) -> None:
    settings = demo_settings(talk_mean_s=8.0, wrap_mean_s=3.0, machine="leave_message")
    settings["engine"]["pacer_params"] = {"z_initial": 1.0}
    bus = LocalBus()
    channels = [f"agent:{user}" for user in range(1, 4)]  # the demo's users on a fresh database
    pops = await bus.subscribe(*channels)
    result = await run_demo(
        pg_database.sessions,
        agents=3,
        seconds=40.0,
        talk_mean_s=8.0,
        wrap_mean_s=3.0,
        people=200,
        settings=settings,
        bus=bus,
    )
    with pg_database.sessions() as session:
        attempts = session.scalars(
            sa.select(ContactAttempt).where(ContactAttempt.campaign_id == result.campaign_id)
        ).all()
        decisions = session.scalar(sa.select(sa.func.count()).select_from(GateDecision))
    figures = result.figures
    assert figures.dialled >= 10, figures.line()
    # Every attempt the gate reserved was dialled once and ended completed with an outcome.
    assert {attempt.status for attempt in attempts} == {AttemptStatus.COMPLETED}
    assert all(isinstance(attempt.outcome, Outcome) for attempt in attempts)
    assert len(attempts) == figures.dialled == decisions
    customer_invites = Counter(
        {uuid: n for uuid, n in result.invites.items() if uuid}
    )  # agent legs carry none
    assert customer_invites == Counter({attempt.uuid: 1 for attempt in attempts})
    # Nobody was called twice at once, and no one beyond the weekly cap.
    by_person = Counter(attempt.person_id for attempt in attempts)
    assert max(by_person.values()) <= REG_F_WEEKLY_CAP
    for person in by_person:
        spans = sorted(
            (a.dialed_at, a.ended_at)
            for a in attempts
            if a.person_id == person and a.dialed_at and a.ended_at
        )
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))
    outcomes = Counter(attempt.outcome for attempt in attempts)
    # Abandoned calls heard the safe-harbour message; bridged ones were dispositioned by an agent.
    abandoned = [a for a in attempts if a.outcome is Outcome.ABANDONED]
    assert abandoned, outcomes
    assert all(figures.messages.get(a.uuid) == "safe_harbour" for a in abandoned)
    assert all(a.answered_at is not None for a in abandoned)
    talked = [a for a in attempts if a.disposition_code in {"RPC", "RTP", "HU"}]
    assert len(talked) == figures.connected > 0
    for attempt in talked:
        assert attempt.agent_id is not None
        assert attempt.connected_at is not None
        assert attempt.answered_at is not None
        assert attempt.connected_at - attempt.answered_at <= dt.timedelta(seconds=2)
    # Machines got the campaign's limited-content message, never a plain hang-up.
    assert outcomes[Outcome.MACHINE] == 0
    machines = [a for a in attempts if a.outcome in (Outcome.VOICEMAIL, Outcome.VOICEMAIL_MESSAGE_LEFT)]
    assert machines, outcomes
    assert all(
        figures.messages.get(a.uuid) == "voicemail"
        for a in machines
        if a.outcome is Outcome.VOICEMAIL_MESSAGE_LEFT
    )
    # SIP facts landed in the ledger.
    assert all(a.sip_code is not None for a in attempts if a.outcome is Outcome.BUSY)
    # Each bridged call popped its agent's screen.
    received = []
    while (message := await pops.get(timeout=0.1)) is not None:
        received.append(ScreenPop.from_json(message.body))
    assert sorted(pop.attempt_uuid for pop in received) == sorted(a.uuid for a in talked)
    await asyncio.wait_for(bus.close(), 5)
