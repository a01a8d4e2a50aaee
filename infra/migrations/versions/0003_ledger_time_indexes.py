"""Indexes on the attempt ledger's end time and the gate decisions' time, which the day's figures
(/metrics, reports) select by: without them every scrape scans both tables.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_contact_attempts_ended_at", "contact_attempts", ["ended_at"])
    op.create_index("ix_gate_decisions_decided_at", "gate_decisions", ["decided_at"])


def downgrade() -> None:
    op.drop_index("ix_gate_decisions_decided_at", table_name="gate_decisions")
    op.drop_index("ix_contact_attempts_ended_at", table_name="contact_attempts")
