"""Initial schema: tenancy, accounts, compliance records and the audit chain.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 17:50:53.610768
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# Rows that must never change once written: account notes and the audit chain. Tampering is
# still possible for someone who can drop a trigger; the audit chain's hashes make that visible.
APPEND_ONLY_TABLES = ("notes", "audit_events")

# Default disposition codes (code, label, outcome, counts, conversation, right party, terminal,
# hold created, required fields, hotkey, agent may pick it). Agencies edit them as data later.
DISPOSITIONS = [
    ("PTP", "Promise to pay", "conversation", True, True, True, False, None, ["promise"], "1", True),
    ("PAID", "Paid on the call", "conversation", True, True, True, False, None, ["payment"], "2", True),
    ("CB", "Callback requested", "conversation", True, True, True, False, None, ["callback"], "3", True),
    ("RPC", "Right party, no arrangement", "conversation", True, True, True, False, None, [], "4", True),
    ("RTP", "Refuses to pay", "conversation", True, True, True, False, None, [], "5", True),
    ("DISP", "Disputes the debt", "conversation", True, True, True, False, "dispute", ["note"], "6", True),
    (
        "ATTY",
        "Represented by an attorney",
        "conversation",
        True,
        True,
        True,
        True,
        "attorney",
        ["note"],
        "7",
        True,
    ),
    ("BK", "Bankruptcy", "conversation", True, True, True, True, "bankruptcy", ["note"], "8", True),
    (
        "DNC",
        "Asked not to be called",
        "conversation",
        True,
        True,
        True,
        False,
        None,
        ["restriction"],
        "9",
        True,
    ),
    ("HU", "Right party hung up", "answered_no_conversation", True, False, True, False, None, [], "0", True),
    (
        "TPM",
        "Third party, message taken",
        "third_party_conversation",
        True,
        False,
        False,
        False,
        None,
        [],
        "t",
        True,
    ),
    ("WN", "Wrong number", "third_party_conversation", True, False, False, False, None, [], "w", True),
    (
        "DECD",
        "Deceased (reported by a third party)",
        "third_party_conversation",
        True,
        False,
        False,
        True,
        "deceased",
        ["note"],
        "d",
        True,
    ),
    (
        "LM",
        "Limited-content message left",
        "voicemail_message_left",
        True,
        False,
        False,
        False,
        None,
        [],
        "m",
        True,
    ),
    ("VM", "Voicemail, no message", "voicemail", True, False, False, False, None, [], "v", True),
    ("NA", "No answer", "no_answer", True, False, False, False, None, [], None, False),
    ("B", "Busy", "busy", False, False, False, False, None, [], None, False),
    ("DC", "Number not in service", "not_in_service", False, False, False, False, None, [], None, False),
    ("NF", "Network failure", "network_failure", False, False, False, False, None, [], None, False),
    ("AM", "Answering machine", "machine", True, False, False, False, None, [], None, False),
    ("AB", "Abandoned (no agent in time)", "abandoned", True, False, False, False, None, [], None, False),
]


def _create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION arrears_refuse_change()"
            )
        else:
            for operation in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def _seed() -> None:
    op.bulk_insert(
        sa.table("audit_chain_head", sa.column("id"), sa.column("seq"), sa.column("hash")),
        [{"id": 1, "seq": 0, "hash": "0" * 64}],
    )
    columns = (
        "code",
        "label",
        "outcome",
        "counts_as_attempt",
        "is_conversation",
        "is_right_party_contact",
        "is_terminal",
        "creates_hold",
        "required_fields",
        "hotkey",
        "agent_selectable",
    )
    table = sa.table(
        "disposition_codes",
        *(sa.column(name, sa.JSON) if name == "required_fields" else sa.column(name) for name in columns),
        sa.column("active"),
        sa.column("sort_order"),
    )
    op.bulk_insert(
        table,
        [
            dict(zip(columns, row, strict=True), active=True, sort_order=index)
            for index, row in enumerate(DISPOSITIONS)
        ],
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION arrears_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "audit_events",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("client_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("code", name=op.f("uq_clients_code")),
    )
    op.create_table(
        "disposition_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
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
                name="outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("counts_as_attempt", sa.Boolean(), nullable=False),
        sa.Column("is_conversation", sa.Boolean(), nullable=False),
        sa.Column("is_right_party_contact", sa.Boolean(), nullable=False),
        sa.Column("is_terminal", sa.Boolean(), nullable=False),
        sa.Column(
            "creates_hold",
            sa.Enum(
                "cease_communication",
                "refusal_to_pay",
                "dispute",
                "original_creditor_request",
                "bankruptcy",
                "deceased",
                "attorney",
                name="notice_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("required_fields", sa.JSON(), nullable=False),
        sa.Column("hotkey", sa.String(length=8), nullable=True),
        sa.Column("agent_selectable", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposition_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_disposition_codes_code")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "agent",
                "manager",
                "compliance",
                "admin",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("sip_uri", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "call_lists",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_call_lists_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_lists")),
        sa.UniqueConstraint("client_id", "name", name=op.f("uq_call_lists_client_id_name")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "active",
                "paused",
                "stopped",
                name="campaign_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "dial_mode",
            sa.Enum(
                "preview",
                "progressive",
                "predictive",
                name="dial_mode",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("caller_id", sa.String(length=20), nullable=True),
        sa.Column("trunk", sa.String(length=64), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_campaigns_client_id_clients")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_campaigns_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("client_id", "name", name=op.f("uq_campaigns_client_id_name")),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_ref", sa.String(length=100), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("identifier_salt", sa.String(length=32), nullable=False),
        sa.Column("date_of_birth_hash", sa.String(length=64), nullable=True),
        sa.Column("ssn_last4_hash", sa.String(length=64), nullable=True),
        sa.Column("extra_time_zones", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_persons_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("client_id", "person_ref", name=op.f("uq_persons_client_id_person_ref")),
    )
    op.create_table(
        "user_client_scopes",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_user_client_scopes_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_client_scopes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "client_id", name=op.f("pk_user_client_scopes")),
    )
    op.create_table(
        "addresses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=True),
        sa.Column("line2", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=50), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_addresses_person_id_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_addresses_person_id"), ["person_id"], unique=False)

    op.create_table(
        "campaign_lists",
        sa.Column("campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("list_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_lists_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["call_lists.id"], name=op.f("fk_campaign_lists_list_id_call_lists")
        ),
        sa.PrimaryKeyConstraint("campaign_id", "list_id", name=op.f("pk_campaign_lists")),
    )
    op.create_table(
        "contact_restrictions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "no_calls",
                "number",
                "place",
                "inconvenient_time",
                name="restriction_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("place", sa.String(length=16), nullable=True),
        sa.Column("time_from", sa.Time(), nullable=True),
        sa.Column("time_to", sa.Time(), nullable=True),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_contact_restrictions_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_contact_restrictions_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_restrictions")),
    )
    with op.batch_alter_table("contact_restrictions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_restrictions_person_id"), ["person_id"], unique=False)

    op.create_table(
        "debts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_ref", sa.String(length=100), nullable=False),
        sa.Column("original_creditor", sa.String(length=200), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "credit_card",
                "medical",
                "auto",
                "student_loan",
                "utility",
                "telecom",
                "personal_loan",
                "other",
                name="debt_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("student_loan_account", sa.String(length=100), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("fees_minor", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "paid",
                "settled",
                "recalled",
                "closed",
                name="debt_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("placed_on", sa.Date(), nullable=True),
        sa.Column("charged_off_on", sa.Date(), nullable=True),
        sa.Column("last_payment_on", sa.Date(), nullable=True),
        sa.Column("last_payment_minor", sa.BigInteger(), nullable=True),
        sa.Column("statute_of_limitations_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_debts_client_id_clients")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_debts_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debts")),
        sa.UniqueConstraint("client_id", "account_ref", name=op.f("uq_debts_client_id_account_ref")),
    )
    with op.batch_alter_table("debts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_debts_person_id"), ["person_id"], unique=False)

    op.create_table(
        "gate_decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "manual",
                "preview",
                "progressive",
                "predictive",
                "prerecorded",
                name="dialing_mode",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("policy_name", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("inputs_digest", sa.String(length=64), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("next_allowed_at", sa.DateTime(), nullable=True),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_gate_decisions_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_decisions")),
    )
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_decisions_person_id"), ["person_id"], unique=False)

    op.create_table(
        "import_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("list_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("debts_created", sa.BigInteger(), nullable=False),
        sa.Column("debts_updated", sa.BigInteger(), nullable=False),
        sa.Column("debts_unchanged", sa.BigInteger(), nullable=False),
        sa.Column("rows_rejected", sa.BigInteger(), nullable=False),
        sa.Column("people_merged", sa.BigInteger(), nullable=False),
        sa.Column("rejects", sa.JSON(), nullable=False),
        sa.Column("started_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_import_runs_client_id_clients")),
        sa.ForeignKeyConstraint(
            ["list_id"], ["call_lists.id"], name=op.f("fk_import_runs_list_id_call_lists")
        ),
        sa.ForeignKeyConstraint(["started_by"], ["users.id"], name=op.f("fk_import_runs_started_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "cease_communication",
                "refusal_to_pay",
                "dispute",
                "original_creditor_request",
                "bankruptcy",
                "deceased",
                "attorney",
                name="notice_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("debt_ids", sa.JSON(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_notices_created_by_users")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_notices_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_person_id"), ["person_id"], unique=False)

    op.create_table(
        "phones",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "mobile",
                "landline",
                "work",
                "voip",
                "unknown",
                name="phone_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("type_source", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "wrong_number",
                "disconnected",
                "removed",
                name="phone_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("consent_given_at", sa.DateTime(), nullable=True),
        sa.Column("consent_revoked_at", sa.DateTime(), nullable=True),
        sa.Column("reassigned_checked_at", sa.DateTime(), nullable=True),
        sa.Column("reassigned_result", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_phones_person_id_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phones")),
        sa.UniqueConstraint("person_id", "number", name=op.f("uq_phones_person_id_number")),
    )
    with op.batch_alter_table("phones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phones_number"), ["number"], unique=False)

    op.create_table(
        "call_list_members",
        sa.Column("list_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("debt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["debt_id"], ["debts.id"], name=op.f("fk_call_list_members_debt_id_debts")),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["call_lists.id"],
            name=op.f("fk_call_list_members_list_id_call_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "debt_id", name=op.f("pk_call_list_members")),
    )
    with op.batch_alter_table("call_list_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_list_members_debt_id"), ["debt_id"], unique=False)

    op.create_table(
        "contact_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("phone_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "manual",
                "preview",
                "progressive",
                "predictive",
                "prerecorded",
                name="dialing_mode",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("party", sa.String(length=16), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "reserved",
                "dialing",
                "completed",
                "cancelled",
                name="attempt_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum(
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
                name="outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("disposition_code", sa.String(length=32), nullable=True),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reserved_at", sa.DateTime(), nullable=False),
        sa.Column("dialed_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("connected_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("sip_code", sa.BigInteger(), nullable=True),
        sa.Column("sip_reason", sa.String(length=200), nullable=True),
        sa.Column("q850_cause", sa.BigInteger(), nullable=True),
        sa.Column("gate_decision_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], name=op.f("fk_contact_attempts_agent_id_users")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_contact_attempts_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_contact_attempts_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["gate_decision_id"],
            ["gate_decisions.id"],
            name=op.f("fk_contact_attempts_gate_decision_id_gate_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_contact_attempts_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["phone_id"], ["phones.id"], name=op.f("fk_contact_attempts_phone_id_phones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_attempts")),
        sa.UniqueConstraint("uuid", name=op.f("uq_contact_attempts_uuid")),
    )
    with op.batch_alter_table("contact_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_attempts_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_attempts_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_attempts_number"), ["number"], unique=False)
        batch_op.create_index(
            "ix_contact_attempts_person_reserved", ["person_id", "reserved_at"], unique=False
        )

    op.create_table(
        "attempt_debts",
        sa.Column("attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("debt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["contact_attempts.id"],
            name=op.f("fk_attempt_debts_attempt_id_contact_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["debt_id"], ["debts.id"], name=op.f("fk_attempt_debts_debt_id_debts")),
        sa.PrimaryKeyConstraint("attempt_id", "debt_id", name=op.f("pk_attempt_debts")),
    )
    with op.batch_alter_table("attempt_debts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempt_debts_debt_id"), ["debt_id"], unique=False)

    op.create_table(
        "callbacks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("debt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("phone_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("owner_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "done",
                "missed",
                "cancelled",
                name="callback_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["contact_attempts.id"], name=op.f("fk_callbacks_attempt_id_contact_attempts")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_callbacks_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_callbacks_created_by_users")),
        sa.ForeignKeyConstraint(["debt_id"], ["debts.id"], name=op.f("fk_callbacks_debt_id_debts")),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_callbacks_owner_user_id_users")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_callbacks_person_id_persons")),
        sa.ForeignKeyConstraint(["phone_id"], ["phones.id"], name=op.f("fk_callbacks_phone_id_phones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callbacks_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_callbacks_person_id"), ["person_id"], unique=False)

    op.create_table(
        "direct_consents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("given_at", sa.DateTime(), nullable=False),
        sa.Column("debt_ids", sa.JSON(), nullable=False),
        sa.Column("attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["contact_attempts.id"],
            name=op.f("fk_direct_consents_attempt_id_contact_attempts"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_direct_consents_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_direct_consents_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_consents")),
    )
    with op.batch_alter_table("direct_consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_direct_consents_person_id"), ["person_id"], unique=False)

    op.create_table(
        "notes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("debt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["contact_attempts.id"], name=op.f("fk_notes_attempt_id_contact_attempts")
        ),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_notes_author_id_users")),
        sa.ForeignKeyConstraint(["debt_id"], ["debts.id"], name=op.f("fk_notes_debt_id_debts")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_notes_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notes_person_id"), ["person_id"], unique=False)

    op.create_table(
        "promises",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("debt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending_approval",
                "active",
                "kept",
                "broken",
                "cancelled",
                "rejected",
                name="promise_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("settlement", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("approved_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["approved_by"], ["users.id"], name=op.f("fk_promises_approved_by_users")),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["contact_attempts.id"], name=op.f("fk_promises_attempt_id_contact_attempts")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_promises_created_by_users")),
        sa.ForeignKeyConstraint(["debt_id"], ["debts.id"], name=op.f("fk_promises_debt_id_debts")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_promises_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promises")),
    )
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promises_debt_id"), ["debt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_promises_person_id"), ["person_id"], unique=False)

    op.create_table(
        "promise_instalments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("promise_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "due",
                "paid",
                "partial",
                "missed",
                "cancelled",
                name="instalment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["promise_id"],
            ["promises.id"],
            name=op.f("fk_promise_instalments_promise_id_promises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promise_instalments")),
        sa.UniqueConstraint("promise_id", "seq", name=op.f("uq_promise_instalments_promise_id_seq")),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("debt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("instalment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["debt_id"], ["debts.id"], name=op.f("fk_payments_debt_id_debts")),
        sa.ForeignKeyConstraint(
            ["instalment_id"],
            ["promise_instalments.id"],
            name=op.f("fk_payments_instalment_id_promise_instalments"),
        ),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_payments_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_debt_id"), ["debt_id"], unique=False)

    _create_append_only_triggers()
    _seed()


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_debt_id"))

    op.drop_table("payments")
    op.drop_table("promise_instalments")
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promises_person_id"))
        batch_op.drop_index(batch_op.f("ix_promises_debt_id"))

    op.drop_table("promises")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notes_person_id"))

    op.drop_table("notes")
    with op.batch_alter_table("direct_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_direct_consents_person_id"))

    op.drop_table("direct_consents")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callbacks_person_id"))
        batch_op.drop_index(batch_op.f("ix_callbacks_due_at"))

    op.drop_table("callbacks")
    with op.batch_alter_table("attempt_debts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_debts_debt_id"))

    op.drop_table("attempt_debts")
    with op.batch_alter_table("contact_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_attempts_person_reserved")
        batch_op.drop_index(batch_op.f("ix_contact_attempts_number"))
        batch_op.drop_index(batch_op.f("ix_contact_attempts_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_contact_attempts_agent_id"))

    op.drop_table("contact_attempts")
    with op.batch_alter_table("call_list_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_list_members_debt_id"))

    op.drop_table("call_list_members")
    with op.batch_alter_table("phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phones_number"))

    op.drop_table("phones")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_person_id"))

    op.drop_table("notices")
    op.drop_table("import_runs")
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_decisions_person_id"))

    op.drop_table("gate_decisions")
    with op.batch_alter_table("debts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_debts_person_id"))

    op.drop_table("debts")
    with op.batch_alter_table("contact_restrictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_restrictions_person_id"))

    op.drop_table("contact_restrictions")
    op.drop_table("campaign_lists")
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_addresses_person_id"))

    op.drop_table("addresses")
    op.drop_table("user_client_scopes")
    op.drop_table("persons")
    op.drop_table("campaigns")
    op.drop_table("call_lists")
    op.drop_table("users")
    op.drop_table("disposition_codes")
    op.drop_table("clients")
    op.drop_table("audit_events")
    op.drop_table("audit_chain_head")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION arrears_refuse_change()")
