"""The engine's database writes besides the gate and the ledger: lead schedules and call facts.

Every function takes the caller's session and does not commit; the engine runs each in a short
transaction of its own on its database thread.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.engine.models import CampaignLead, LeadStatus
from campaigns.engine.settings import EngineSettings, engine_settings
from campaigns.models import Callback, CallbackStatus, Campaign, DialMode
from campaigns.retry import RetryRules, next_attempt
from compliance.attempts import CallResult, complete
from compliance.models import AttemptStatus, ContactAttempt, Outcome

# A gate refusal that only an event can lift (a hold, a revoked consent) is looked at again
# after this long, in case the event happened.
BLOCKED_RECHECK = dt.timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class CampaignConfig:
    id: int
    client_id: int
    name: str
    dial_mode: DialMode
    trunk: str
    settings: EngineSettings


class CampaignNotRunnableError(ValueError):
    """The campaign lacks what the engine needs (a trunk, a dialling mode it can pace)."""


def load_campaign(session: Session, campaign_id: int) -> CampaignConfig:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotRunnableError(f"no campaign {campaign_id}")
    if not campaign.trunk:
        raise CampaignNotRunnableError(f"campaign {campaign.name!r} has no trunk")
    return CampaignConfig(
        id=campaign.id,
        client_id=campaign.client_id,
        name=campaign.name,
        dial_mode=campaign.dial_mode,
        trunk=campaign.trunk,
        settings=engine_settings(campaign.settings or {}, campaign.dial_mode),
    )


def _lead(session: Session, campaign_id: int, person_id: int) -> CampaignLead:
    lead = session.get(CampaignLead, (campaign_id, person_id), with_for_update=True)
    if lead is None:
        lead = CampaignLead(campaign_id=campaign_id, person_id=person_id, attempts=0, outcome_counts={})
        session.add(lead)
    return lead


def record_outcome(
    session: Session,
    campaign_id: int,
    person_id: int,
    *,
    outcome: Outcome,
    ended_at: dt.datetime,
    rules: RetryRules,
    callback_id: int | None = None,
) -> CampaignLead:
    """Count the attempt and schedule the next one by the campaign's retry rules."""
    lead = _lead(session, campaign_id, person_id)
    counts = dict(lead.outcome_counts or {})
    counts[outcome.value] = int(counts.get(outcome.value, 0)) + 1
    lead.outcome_counts = counts
    lead.attempts = (lead.attempts or 0) + 1
    lead.last_outcome = outcome
    lead.last_attempt_at = ended_at
    decision = next_attempt(
        rules, outcome, with_outcome=counts[outcome.value], attempts_made=lead.attempts, ended_at=ended_at
    )
    lead.next_call_at = decision.next_at
    lead.status = LeadStatus.SCHEDULED if decision.next_at is not None else LeadStatus.DONE
    lead.reason = decision.reason[:300]
    if callback_id is not None and outcome in (Outcome.CONVERSATION, Outcome.THIRD_PARTY_CONVERSATION):
        session.execute(
            sa.update(Callback).where(Callback.id == callback_id).values(status=CallbackStatus.DONE)
        )
    return lead


def reschedule_denied(
    session: Session,
    campaign_id: int,
    person_id: int,
    *,
    next_allowed_at: dt.datetime | None,
    reason: str,
    now: dt.datetime,
) -> CampaignLead:
    """The gate refused the call: try again when it said it would allow it."""
    lead = _lead(session, campaign_id, person_id)
    if next_allowed_at is not None:
        lead.status = LeadStatus.SCHEDULED
        lead.next_call_at = next_allowed_at
    else:
        lead.status = LeadStatus.BLOCKED
        lead.next_call_at = now + BLOCKED_RECHECK
    lead.reason = f"gate: {reason}"[:300]
    return lead


def link_callback(session: Session, callback_id: int, attempt_uuid: str) -> None:
    attempt_id = session.scalar(sa.select(ContactAttempt.id).where(ContactAttempt.uuid == attempt_uuid))
    session.execute(sa.update(Callback).where(Callback.id == callback_id).values(attempt_id=attempt_id))


def record_call_facts(
    session: Session,
    attempt_uuid: str,
    *,
    answered_at: dt.datetime | None,
    connected_at: dt.datetime | None,
    sip_code: int | None,
    sip_reason: str | None,
    q850_cause: int | None,
    agent_id: int | None,
) -> None:
    """What SIP saw on a bridged call, kept on the open attempt for the agent's disposition.

    An agent who dispositions while the call is up ends it (the hang-up follows the disposition),
    so its SIP facts arrive on an attempt already completed: they are added to it then, without
    touching what the disposition recorded, unless something (closing an orphan) got there first.
    """
    session.execute(
        sa.update(ContactAttempt)
        .where(ContactAttempt.uuid == attempt_uuid, ContactAttempt.status == AttemptStatus.DIALING)
        .values(
            answered_at=answered_at,
            connected_at=connected_at,
            sip_code=sip_code,
            sip_reason=sip_reason,
            q850_cause=q850_cause,
            agent_id=agent_id,
        )
    )
    if sip_code is None and sip_reason is None and q850_cause is None:
        return
    session.execute(
        sa.update(ContactAttempt)
        .where(
            ContactAttempt.uuid == attempt_uuid,
            ContactAttempt.status == AttemptStatus.COMPLETED,
            ContactAttempt.sip_code.is_(None),
            ContactAttempt.sip_reason.is_(None),
            ContactAttempt.q850_cause.is_(None),
        )
        .values(sip_code=sip_code, sip_reason=sip_reason, q850_cause=q850_cause)
    )


ORPHAN_REASON = "engine lost; closed by the next holder of the campaign"


def orphan_outcome(connected: bool) -> Outcome:
    """The outcome of an attempt whose engine died before it learnt how the call ended.

    Bridged to an agent: a conversation, as `dialer.outcomes.classify` names every bridged call.
    Otherwise the INVITE may have left and rung the phone, so the attempt must keep counting
    toward the contact caps: `no_answer`, which counts, and claims no live answer that the
    abandon rate would have to account for.
    """
    return Outcome.CONVERSATION if connected else Outcome.NO_ANSWER


def close_orphans(
    session: Session,
    campaign_id: int,
    *,
    taken_at: dt.datetime,
    stale_before: dt.datetime,
    rules: RetryRules,
    now: dt.datetime,
) -> list[str]:
    """Complete the attempts a previous holder of the campaign left reserved or dialling.

    Only attempts reserved before this holder took the campaign (so not its own) and before
    `stale_before` (so no call of theirs can still be ringing) are closed. Each is completed once
    (the ledger refuses a second completion) and scheduled by the retry rules like any other
    outcome, so the person is neither lost to the campaign nor dialled again before that.
    Returns the uuids closed.
    """
    orphans = session.scalars(
        sa.select(ContactAttempt)
        .where(
            ContactAttempt.campaign_id == campaign_id,
            ContactAttempt.status.in_((AttemptStatus.RESERVED, AttemptStatus.DIALING)),
            ContactAttempt.reserved_at < min(taken_at, stale_before),
        )
        .order_by(ContactAttempt.id)
        .with_for_update()
    ).all()
    for attempt in orphans:
        outcome = orphan_outcome(attempt.connected_at is not None)
        complete(
            session,
            attempt.uuid,
            CallResult(
                outcome=outcome,
                ended_at=now,
                answered_at=attempt.answered_at,
                connected_at=attempt.connected_at,
                agent_id=attempt.agent_id,
                sip_reason=ORPHAN_REASON,
            ),
        )
        callback_id = session.scalar(sa.select(Callback.id).where(Callback.attempt_id == attempt.id))
        record_outcome(
            session,
            campaign_id,
            attempt.person_id,
            outcome=outcome,
            ended_at=now,
            rules=rules,
            callback_id=callback_id,
        )
    return [attempt.uuid for attempt in orphans]
