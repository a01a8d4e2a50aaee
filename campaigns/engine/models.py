"""The engine's own table: where each person stands in each campaign (next call, attempts)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from compliance.models import Outcome
from infra.db import Base, utcnow
from infra.models import str_enum


class LeadStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # callable from next_call_at (null: now)
    DONE = "done"  # no automatic retry left (a due callback still brings the person back)
    BLOCKED = "blocked"  # the gate refused with no time at which it would allow; recheck later


class CampaignLead(Base):
    """A person's schedule in one campaign. No row yet: never tried, callable now."""

    __tablename__ = "campaign_leads"
    __table_args__ = (sa.Index("ix_campaign_leads_campaign_next", "campaign_id", "next_call_at"),)

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[LeadStatus] = mapped_column(
        str_enum(LeadStatus, "lead_status"), default=LeadStatus.SCHEDULED
    )
    next_call_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    # Attempts per outcome, for the per-outcome retry limits: {"busy": 2, "no_answer": 1}.
    outcome_counts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    last_outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, "outcome"))
    last_attempt_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(sa.String(300))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
