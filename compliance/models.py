"""Compliance records: disposition codes, holds and restrictions, contact attempts, gate decisions
and the tamper-evident audit chain.

Person, debt, phone, campaign and user rows belong to other packages; they are referred to by
table name only, so this package never imports the packages above it.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, BigId, utcnow
from infra.models import str_enum
from infra.vocabulary import Outcome as Outcome  # re-exported: the columns and events speak it


class NoticeType(enum.StrEnum):
    CEASE_COMMUNICATION = "cease_communication"
    REFUSAL_TO_PAY = "refusal_to_pay"
    DISPUTE = "dispute"
    ORIGINAL_CREDITOR_REQUEST = "original_creditor_request"
    BANKRUPTCY = "bankruptcy"
    DECEASED = "deceased"
    ATTORNEY = "attorney"


class RestrictionKind(enum.StrEnum):
    NO_CALLS = "no_calls"  # "don't call me" on any number
    NUMBER = "number"  # "don't call me on this number"
    PLACE = "place"  # "don't call me at work"
    INCONVENIENT_TIME = "inconvenient_time"


class AttemptStatus(enum.StrEnum):
    RESERVED = "reserved"  # the gate allowed it and counted it; not dialled yet
    DIALING = "dialing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # reserved but never dialled; releases its count


class DialingMode(enum.StrEnum):
    MANUAL = "manual"
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"
    PRERECORDED = "prerecorded"


class DispositionCode(Base):
    """What an agent or the dialer records at the end of an attempt, with the flags that drive
    counting, reporting and holds. Data, so that each agency can keep its own codes."""

    __tablename__ = "disposition_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    label: Mapped[str] = mapped_column(sa.String(100))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "outcome"))
    counts_as_attempt: Mapped[bool]
    is_conversation: Mapped[bool]
    is_right_party_contact: Mapped[bool]
    is_terminal: Mapped[bool]
    creates_hold: Mapped[NoticeType | None] = mapped_column(str_enum(NoticeType, "notice_type"))
    # Fields the agent must fill in before the code is accepted, e.g. ["promise"] or ["callback"].
    required_fields: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    hotkey: Mapped[str | None] = mapped_column(sa.String(8))
    agent_selectable: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)


class Notice(Base):
    """A written notice or event that stops or pauses contact (a hold)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    type: Mapped[NoticeType] = mapped_column(str_enum(NoticeType, "notice_type"))
    received_at: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]
    # Empty: the notice covers every debt of the person.
    debt_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    details: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ContactRestriction(Base):
    __tablename__ = "contact_restrictions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    kind: Mapped[RestrictionKind] = mapped_column(str_enum(RestrictionKind, "restriction_kind"))
    number: Mapped[str | None] = mapped_column(sa.String(20))
    place: Mapped[str | None] = mapped_column(sa.String(16))
    time_from: Mapped[dt.time | None]
    time_to: Mapped[dt.time | None]
    days: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    requested_at: Mapped[dt.datetime]
    withdrawn_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DirectConsent(Base):
    """Consent to be called given directly to us (12 CFR 1006.14(b)(3)(i)), e.g. "call me Friday"."""

    __tablename__ = "direct_consents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    given_at: Mapped[dt.datetime]
    debt_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact_attempts.id"))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class ContactAttempt(Base):
    __tablename__ = "contact_attempts"
    __table_args__ = (sa.Index("ix_contact_attempts_person_reserved", "person_id", "reserved_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("clients.id"))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    phone_id: Mapped[int | None] = mapped_column(sa.ForeignKey("phones.id"))
    number: Mapped[str] = mapped_column(sa.String(20), index=True)
    direction: Mapped[str] = mapped_column(sa.String(8), default="outbound")  # outbound | inbound
    mode: Mapped[DialingMode] = mapped_column(str_enum(DialingMode, "dialing_mode"))
    party: Mapped[str | None] = mapped_column(sa.String(16))  # consumer | third_party, once known
    status: Mapped[AttemptStatus] = mapped_column(str_enum(AttemptStatus, "attempt_status"))
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, "outcome"))
    disposition_code: Mapped[str | None] = mapped_column(sa.String(32))
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    reserved_at: Mapped[dt.datetime]
    dialed_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
    connected_at: Mapped[dt.datetime | None]  # bridged to an agent
    # Indexed for the day's figures (/metrics, reports), which select completed attempts by end time.
    ended_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    sip_code: Mapped[int | None]
    sip_reason: Mapped[str | None] = mapped_column(sa.String(200))
    q850_cause: Mapped[int | None]
    gate_decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gate_decisions.id"))


class AttemptDebt(Base):
    """The debts an attempt was about; each counts the attempt (Reg F comment 14(b)(4)-1)."""

    __tablename__ = "attempt_debts"

    attempt_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contact_attempts.id", ondelete="CASCADE"), primary_key=True
    )
    debt_id: Mapped[int] = mapped_column(sa.ForeignKey("debts.id"), primary_key=True, index=True)


class GateDecision(Base):
    """Every verdict of the dial gate, with what it was decided on, so it can be explained later."""

    __tablename__ = "gate_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)  # the day's figures
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(20))
    mode: Mapped[DialingMode] = mapped_column(str_enum(DialingMode, "dialing_mode"))
    policy_name: Mapped[str] = mapped_column(sa.String(64))
    policy_version: Mapped[str] = mapped_column(sa.String(64))
    inputs_digest: Mapped[str] = mapped_column(sa.String(64))
    allowed: Mapped[bool]
    rule: Mapped[str | None] = mapped_column(sa.String(100))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    next_allowed_at: Mapped[dt.datetime | None]
    verdict: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class AuditEvent(Base):
    """One link of the audit chain. `hash` covers `prev_hash` and the event's canonical content."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(sa.String(100))  # "user:<id>" or "system:<component>"
    action: Mapped[str] = mapped_column(sa.String(64))
    entity_type: Mapped[str] = mapped_column(sa.String(64))
    entity_id: Mapped[str | None] = mapped_column(sa.String(64))
    client_id: Mapped[int | None]
    payload: Mapped[str] = mapped_column(sa.Text)  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


class AuditChainHead(Base):
    """The single row every appender locks, so concurrent writers extend one consistent chain."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(sa.String(64))
