"""Campaign engine: each person's schedule in each campaign.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OUTCOMES = (
    "busy",
    "not_in_service",
    "network_failure",
    "no_answer",
    "voicemail",
    "voicemail_message_left",
    "machine",
    "answered_no_conversation",
    "abandoned",
    "conversation",
    "third_party_conversation",
    "inbound_message",
    "inbound_no_agent",
)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "campaign_leads",
        sa.Column("campaign_id", _ID, nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("status", _enum("lead_status", "scheduled", "done", "blocked"), nullable=False),
        sa.Column("next_call_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("outcome_counts", sa.JSON(), nullable=False),
        sa.Column("last_outcome", _enum("outcome", *_OUTCOMES), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_leads_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_campaign_leads_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "person_id", name=op.f("pk_campaign_leads")),
    )
    with op.batch_alter_table("campaign_leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_leads_campaign_next", ["campaign_id", "next_call_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_leads_campaign_next")
    op.drop_table("campaign_leads")
