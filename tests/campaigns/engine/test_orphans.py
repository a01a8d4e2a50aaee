"""The engine's writes on attempts it did not complete itself.

A new lease holder closes the attempts a dead holder left open: once each, counted, rescheduled.
The SIP facts of a call the agent dispositioned before it ended still reach its attempt.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.account_facts import load_account_facts
from campaigns.engine.demo import demo_settings, prepare_demo
from campaigns.engine.models import CampaignLead
from campaigns.engine.settings import engine_settings
from campaigns.engine.store import ORPHAN_REASON, close_orphans, orphan_outcome, record_call_facts
from campaigns.models import Debt, DialMode, Phone
from compliance.attempts import CallResult, complete, mark_dialing
from compliance.gate import DialGate, DialRequest
from compliance.ledger import is_counted
from compliance.models import AttemptStatus, ContactAttempt, DialingMode, Outcome
from infra.db import utcnow
from tests.conftest import Database


@pytest.mark.parametrize(("connected", "outcome"), [(True, Outcome.CONVERSATION), (False, Outcome.NO_ANSWER)])
def test_an_orphan_is_closed_as_a_counted_outcome(connected: bool, outcome: Outcome) -> None:
    assert orphan_outcome(connected) is outcome
    assert is_counted(AttemptStatus.COMPLETED, outcome)


def _reserve(db: Database, campaign_id: int, policy: str, at: dt.datetime) -> list[str]:
    """One attempt per person of the campaign, reserved by the real gate at `at`."""
    with db.sessions() as session:
        rows = session.execute(
            sa.select(Debt.person_id, Debt.id, Phone.id, Phone.number)
            .join(Phone, Phone.person_id == Debt.person_id)
            .order_by(Debt.person_id)
        ).all()
    gate = DialGate(db.sessions, load_account_facts, policy)
    requests = [
        DialRequest(person, number, (debt,), DialingMode.PREDICTIVE, at, campaign_id, phone_id=phone)
        for person, debt, phone, number in rows
    ]
    results = gate.reserve_many(requests)
    assert all(result.allowed for result in results), [result.verdict for result in results]
    return [str(result.attempt_uuid) for result in results]


def test_the_previous_holders_stale_attempts_are_closed_once(db: Database) -> None:
    settings = demo_settings(talk_mean_s=5.0, wrap_mean_s=2.0)
    demo = prepare_demo(db.sessions, people=4, agents=1, carrier_port=5060, settings=settings)
    now = utcnow()
    reserved, dialling, bridged, fresh = _reserve(
        db, demo.campaign_id, demo.place.policy, now - dt.timedelta(minutes=1)
    )
    agent_id = demo.agents[0][0]
    with db.sessions.begin() as session:
        mark_dialing(session, dialling, now - dt.timedelta(seconds=59))
        mark_dialing(session, bridged, now - dt.timedelta(seconds=59))
        record_call_facts(
            session,
            bridged,
            answered_at=now - dt.timedelta(seconds=50),
            connected_at=now - dt.timedelta(seconds=49),
            sip_code=None,
            sip_reason=None,
            q850_cause=None,
            agent_id=agent_id,
        )
        # The new holder's own call, reserved after it took the campaign: not an orphan.
        session.execute(sa.update(ContactAttempt).where(ContactAttempt.uuid == fresh).values(reserved_at=now))
    rules = engine_settings(settings, DialMode.PREDICTIVE).retry
    taken_at = now - dt.timedelta(seconds=5)
    with db.sessions.begin() as session:
        closed = close_orphans(
            session,
            demo.campaign_id,
            taken_at=taken_at,
            stale_before=now - dt.timedelta(seconds=25),
            rules=rules,
            now=now,
        )
    assert sorted(closed) == sorted([reserved, dialling, bridged])
    with db.sessions.begin() as session:
        assert (
            close_orphans(
                session, demo.campaign_id, taken_at=taken_at, stale_before=now, rules=rules, now=now
            )
            == []
        )

    with db.sessions() as session:
        attempts = {
            attempt.uuid: attempt
            for attempt in session.scalars(
                sa.select(ContactAttempt).where(ContactAttempt.campaign_id == demo.campaign_id)
            )
        }
        leads = {
            lead.person_id: lead
            for lead in session.scalars(
                sa.select(CampaignLead).where(CampaignLead.campaign_id == demo.campaign_id)
            )
        }
    assert attempts[fresh].status is AttemptStatus.RESERVED
    assert [attempts[uuid].outcome for uuid in (reserved, dialling, bridged)] == [
        Outcome.NO_ANSWER,
        Outcome.NO_ANSWER,
        Outcome.CONVERSATION,
    ]
    for uuid in (reserved, dialling, bridged):
        attempt = attempts[uuid]
        assert attempt.status is AttemptStatus.COMPLETED
        assert attempt.sip_reason == ORPHAN_REASON
        assert attempt.ended_at == now
        # The person stays in the campaign, scheduled by the retry rules, counted once.
        lead = leads[attempt.person_id]
        assert lead.attempts == 1
        assert lead.last_outcome is attempt.outcome
    assert attempts[bridged].agent_id == agent_id
    assert attempts[bridged].connected_at == now - dt.timedelta(seconds=49)
    assert attempts[fresh].person_id not in leads


def test_a_call_dispositioned_before_it_ended_keeps_what_sip_saw(db: Database) -> None:
    demo = prepare_demo(
        db.sessions,
        people=1,
        agents=1,
        carrier_port=5060,
        settings=demo_settings(talk_mean_s=5.0, wrap_mean_s=2.0),
    )
    now = utcnow()
    [uuid] = _reserve(db, demo.campaign_id, demo.place.policy, now - dt.timedelta(minutes=1))
    agent_id = demo.agents[0][0]
    answered_at, connected_at = now - dt.timedelta(seconds=50), now - dt.timedelta(seconds=49)

    def sip_reports(session: Session, sip_code: int | None, reason: str | None, q850: int | None) -> None:
        record_call_facts(
            session,
            uuid,
            answered_at=answered_at,
            connected_at=connected_at,
            sip_code=sip_code,
            sip_reason=reason,
            q850_cause=q850,
            agent_id=agent_id,
        )

    with db.sessions.begin() as session:
        mark_dialing(session, uuid, now - dt.timedelta(seconds=59))
        sip_reports(session, None, None, None)  # bridged
        # The agent's disposition completes the attempt; its hang-up follows.
        disposition = CallResult(
            outcome=Outcome.CONVERSATION,
            ended_at=now - dt.timedelta(seconds=5),
            answered_at=answered_at,
            connected_at=connected_at,
            party="consumer",
            agent_id=agent_id,
            disposition_code="RPC",
        )
        complete(session, uuid, disposition)
    with db.sessions.begin() as session:
        sip_reports(session, 200, "agent_hung_up", 16)
        sip_reports(session, 487, "late", 127)  # a second report changes nothing

    with db.sessions() as session:
        attempt = session.scalars(sa.select(ContactAttempt).where(ContactAttempt.uuid == uuid)).one()
    assert (attempt.sip_code, attempt.sip_reason, attempt.q850_cause) == (200, "agent_hung_up", 16)
    assert attempt.status is AttemptStatus.COMPLETED
    assert (attempt.outcome, attempt.disposition_code) == (Outcome.CONVERSATION, "RPC")
    assert attempt.ended_at == disposition.ended_at
    assert (attempt.agent_id, attempt.connected_at) == (agent_id, connected_at)
