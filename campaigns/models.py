"""Accounts: the people we collect from, their debts, phones, payments, promises, notes and campaigns."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, BigId, utcnow
from infra.models import str_enum


class DebtKind(enum.StrEnum):
    CREDIT_CARD = "credit_card"
    MEDICAL = "medical"
    AUTO = "auto"
    STUDENT_LOAN = "student_loan"
    UTILITY = "utility"
    TELECOM = "telecom"
    PERSONAL_LOAN = "personal_loan"
    OTHER = "other"


class DebtStatus(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    SETTLED = "settled"
    RECALLED = "recalled"  # returned to the client
    CLOSED = "closed"


class PhoneType(enum.StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    WORK = "work"
    VOIP = "voip"
    UNKNOWN = "unknown"


class PhoneStatus(enum.StrEnum):
    ACTIVE = "active"
    WRONG_NUMBER = "wrong_number"
    DISCONNECTED = "disconnected"
    REMOVED = "removed"  # an explicit, audited removal; import never removes a phone


class PromiseStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"  # over the agent's authority, waiting for a manager
    ACTIVE = "active"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class InstalmentStatus(enum.StrEnum):
    DUE = "due"
    PAID = "paid"
    PARTIAL = "partial"
    MISSED = "missed"
    CANCELLED = "cancelled"


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


class DialMode(enum.StrEnum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"


class CallbackStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class Person(Base):
    __tablename__ = "persons"
    __table_args__ = (sa.UniqueConstraint("client_id", "person_ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("clients.id"))
    person_ref: Mapped[str] = mapped_column(sa.String(100))
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    # Right-party verification identifiers, kept only as keyed salted hashes (see infra.identifiers).
    identifier_salt: Mapped[str] = mapped_column(sa.String(32))
    date_of_birth_hash: Mapped[str | None] = mapped_column(sa.String(64))
    ssn_last4_hash: Mapped[str | None] = mapped_column(sa.String(64))
    # Time zones known from other evidence than address and number (IANA names).
    extra_time_zones: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Address(Base):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    line1: Mapped[str | None] = mapped_column(sa.String(200))
    line2: Mapped[str | None] = mapped_column(sa.String(200))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    state: Mapped[str | None] = mapped_column(sa.String(50))
    postal_code: Mapped[str | None] = mapped_column(sa.String(20))
    country: Mapped[str] = mapped_column(sa.String(2), default="US")
    is_current: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(sa.String(32), default="import")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Debt(Base):
    __tablename__ = "debts"
    __table_args__ = (sa.UniqueConstraint("client_id", "account_ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("clients.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    account_ref: Mapped[str] = mapped_column(sa.String(100))
    original_creditor: Mapped[str | None] = mapped_column(sa.String(200))
    kind: Mapped[DebtKind] = mapped_column(str_enum(DebtKind, "debt_kind"), default=DebtKind.OTHER)
    # Student loans serviced under one account number are one "particular debt" (12 CFR 1006.14(b)(4)).
    student_loan_account: Mapped[str | None] = mapped_column(sa.String(100))
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    principal_minor: Mapped[int] = mapped_column(default=0)
    interest_minor: Mapped[int] = mapped_column(default=0)
    fees_minor: Mapped[int] = mapped_column(default=0)
    status: Mapped[DebtStatus] = mapped_column(str_enum(DebtStatus, "debt_status"), default=DebtStatus.OPEN)
    placed_on: Mapped[dt.date | None]
    charged_off_on: Mapped[dt.date | None]
    last_payment_on: Mapped[dt.date | None]
    last_payment_minor: Mapped[int | None]
    statute_of_limitations_on: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def placed_balance_minor(self) -> int:
        return self.principal_minor + self.interest_minor + self.fees_minor


class Phone(Base):
    __tablename__ = "phones"
    __table_args__ = (sa.UniqueConstraint("person_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(sa.String(20), index=True)  # E.164
    type: Mapped[PhoneType] = mapped_column(str_enum(PhoneType, "phone_type"), default=PhoneType.UNKNOWN)
    type_source: Mapped[str] = mapped_column(sa.String(16), default="import")  # import | number | agent
    source: Mapped[str] = mapped_column(sa.String(32), default="import")
    position: Mapped[int | None]  # 1..3 for phone1..phone3 of the placement file
    status: Mapped[PhoneStatus] = mapped_column(
        str_enum(PhoneStatus, "phone_status"), default=PhoneStatus.ACTIVE
    )
    # TCPA prior express consent to autodialed or prerecorded calls to this number.
    consent_given_at: Mapped[dt.datetime | None]
    consent_revoked_at: Mapped[dt.datetime | None]
    reassigned_checked_at: Mapped[dt.datetime | None]
    reassigned_result: Mapped[str | None] = mapped_column(sa.String(8))  # yes | no | no_data
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    debt_id: Mapped[int] = mapped_column(sa.ForeignKey("debts.id"), index=True)
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3))
    paid_at: Mapped[dt.datetime]
    method: Mapped[str] = mapped_column(sa.String(32))  # card | ach | check | cash | client_direct
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(16), default="posted")  # posted | returned
    instalment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("promise_instalments.id"))
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Promise(Base):
    """A promise to pay: one payment or an instalment plan."""

    __tablename__ = "promises"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    debt_id: Mapped[int] = mapped_column(sa.ForeignKey("debts.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact_attempts.id"))
    status: Mapped[PromiseStatus] = mapped_column(str_enum(PromiseStatus, "promise_status"))
    total_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3))
    frequency: Mapped[str] = mapped_column(
        sa.String(16), default="once"
    )  # once | weekly | biweekly | monthly
    settlement: Mapped[bool] = mapped_column(default=False)  # pays the debt off for less than the balance
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PromiseInstalment(Base):
    __tablename__ = "promise_instalments"
    __table_args__ = (sa.UniqueConstraint("promise_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    promise_id: Mapped[int] = mapped_column(sa.ForeignKey("promises.id", ondelete="CASCADE"))
    seq: Mapped[int]
    due_on: Mapped[dt.date]
    amount_minor: Mapped[int]
    paid_minor: Mapped[int] = mapped_column(default=0)
    status: Mapped[InstalmentStatus] = mapped_column(
        str_enum(InstalmentStatus, "instalment_status"), default=InstalmentStatus.DUE
    )


class Note(Base):
    """Account notes are append-only: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    debt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("debts.id"))
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact_attempts.id"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CallList(Base):
    __tablename__ = "call_lists"
    __table_args__ = (sa.UniqueConstraint("client_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("clients.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CallListMember(Base):
    __tablename__ = "call_list_members"

    list_id: Mapped[int] = mapped_column(sa.ForeignKey("call_lists.id", ondelete="CASCADE"), primary_key=True)
    debt_id: Mapped[int] = mapped_column(sa.ForeignKey("debts.id"), primary_key=True, index=True)


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (sa.UniqueConstraint("client_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("clients.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus, "campaign_status"), default=CampaignStatus.DRAFT
    )
    dial_mode: Mapped[DialMode] = mapped_column(str_enum(DialMode, "dial_mode"), default=DialMode.PREVIEW)
    caller_id: Mapped[str | None] = mapped_column(sa.String(20))
    trunk: Mapped[str | None] = mapped_column(sa.String(64))
    # Calling schedule, ordering, retry rules, pacing and wrap-up settings, validated by campaigns.
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CampaignList(Base):
    __tablename__ = "campaign_lists"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(sa.ForeignKey("call_lists.id"), primary_key=True)


class Callback(Base):
    """A call promised for a time the person chose, in their local time zone."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    debt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("debts.id"))
    phone_id: Mapped[int | None] = mapped_column(sa.ForeignKey("phones.id"))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    due_at: Mapped[dt.datetime] = mapped_column(index=True)
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    owner_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # null: any agent (pool)
    status: Mapped[CallbackStatus] = mapped_column(
        str_enum(CallbackStatus, "callback_status"), default=CallbackStatus.PENDING
    )
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact_attempts.id"))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ImportRun(Base):
    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("clients.id"))
    list_id: Mapped[int | None] = mapped_column(sa.ForeignKey("call_lists.id"))
    file_name: Mapped[str] = mapped_column(sa.String(300))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))  # running | done | failed
    rows_read: Mapped[int] = mapped_column(default=0)
    debts_created: Mapped[int] = mapped_column(default=0)
    debts_updated: Mapped[int] = mapped_column(default=0)
    debts_unchanged: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    people_merged: Mapped[int] = mapped_column(default=0)
    rejects: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    started_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
