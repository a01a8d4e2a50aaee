"""Writes to the attempt ledger after the gate reserved an attempt: dialing, outcome, cancel."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from compliance.ledger import LedgerError, next_status
from compliance.models import AttemptStatus, ContactAttempt, Outcome


@dataclasses.dataclass(frozen=True)
class CallResult:
    """What became of a dialled attempt."""

    outcome: Outcome
    ended_at: dt.datetime
    answered_at: dt.datetime | None = None
    connected_at: dt.datetime | None = None
    party: str | None = None
    agent_id: int | None = None
    disposition_code: str | None = None
    sip_code: int | None = None
    sip_reason: str | None = None
    q850_cause: int | None = None


def _locked(session: Session, attempt_uuid: str) -> ContactAttempt:
    attempt = session.scalars(
        sa.select(ContactAttempt).where(ContactAttempt.uuid == attempt_uuid).with_for_update()
    ).first()
    if attempt is None:
        raise LedgerError(f"no attempt {attempt_uuid}")
    return attempt


def mark_dialing(session: Session, attempt_uuid: str, at: dt.datetime) -> ContactAttempt:
    attempt = _locked(session, attempt_uuid)
    attempt.status = next_status(attempt.status, AttemptStatus.DIALING, None)
    attempt.dialed_at = at
    return attempt


def cancel(session: Session, attempt_uuid: str) -> ContactAttempt:
    """A reserved attempt that was never dialled; it stops counting."""
    attempt = _locked(session, attempt_uuid)
    attempt.status = next_status(attempt.status, AttemptStatus.CANCELLED, None)
    return attempt


def complete(session: Session, attempt_uuid: str, result: CallResult) -> ContactAttempt:
    attempt = _locked(session, attempt_uuid)
    attempt.status = next_status(attempt.status, AttemptStatus.COMPLETED, result.outcome)
    attempt.outcome = result.outcome
    attempt.ended_at = result.ended_at
    attempt.answered_at = result.answered_at
    attempt.connected_at = result.connected_at
    attempt.party = result.party
    attempt.agent_id = result.agent_id if result.agent_id is not None else attempt.agent_id
    attempt.disposition_code = result.disposition_code
    attempt.sip_code = result.sip_code
    attempt.sip_reason = result.sip_reason
    attempt.q850_cause = result.q850_cause
    return attempt
