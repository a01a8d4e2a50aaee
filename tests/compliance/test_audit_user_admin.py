"""`arrears users` and logins write every user change to the audit chain, on both databases."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from click.testing import CliRunner, Result

from compliance.audit import verify
from compliance.models import AuditEvent
from compliance.users_cli import audit_change, users
from infra.db import transaction
from infra.models import Client, Role
from infra.settings import ENV_PREFIX, get_settings
from infra.users import authenticate, create_user
from tests.conftest import Database

PASSWORD = "correct horse battery"
RunCli = Callable[..., Result]


@pytest.fixture
def run_cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunCli]:
    for name in [name for name in os.environ if name.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv(f"{ENV_PREFIX}DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield lambda *args, input=None: CliRunner().invoke(users, list(args), input=input)
    get_settings.cache_clear()


def audit_events(db: Database) -> list[tuple[str, str | None, dict[str, object]]]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.payload).order_by(AuditEvent.seq)
        ).all()
    return [(row.action, row.entity_id, json.loads(row.payload)) for row in rows]


@pytest.mark.slow  # hashes with the production argon2 parameters
def test_user_administration_is_audited(db: Database, run_cli: RunCli) -> None:
    with transaction(db.sessions) as session:
        session.add(Client(code="ACME", name="Acme"))

    added = run_cli(
        "add", "Alice", "--role", "agent", "--client", "ACME", "--password-stdin", input=f"{PASSWORD}\n"
    )
    assert added.exit_code == 0, added.output
    assert "created agent 'alice'" in added.output
    duplicate = run_cli("add", "alice", "--role", "manager", "--password-stdin", input=f"{PASSWORD}\n")
    assert duplicate.exit_code == 1
    assert "'alice' already exists" in duplicate.output
    assert (
        run_cli("set-password", "alice", "--password-stdin", input="another long passphrase\n").exit_code == 0
    )
    assert run_cli("disable", "alice").exit_code == 0
    listed = run_cli("list")
    assert listed.exit_code == 0
    assert listed.output.split() == ["alice", "agent", "disabled", "ACME"]

    events = audit_events(db)
    assert [action for action, _entity, _payload in events] == [
        "user.created",
        "user.password_set",
        "user.disabled",
    ]
    _action, entity_id, payload = events[0]
    assert entity_id is not None
    assert payload["username"] == "alice"
    assert payload["client_codes"] == ["ACME"]
    assert "os_user" in payload
    assert PASSWORD not in json.dumps(events)
    assert verify(db.engine).intact


def test_refusals_are_clear_and_leave_no_trace(db: Database, run_cli: RunCli) -> None:
    short = run_cli("add", "alice", "--role", "agent", "--password-stdin", input="short\n")
    assert short.exit_code == 1
    assert "at least 15 characters" in short.output
    no_terminal = run_cli("add", "alice", "--role", "agent")
    assert no_terminal.exit_code == 2
    assert "--password-stdin" in no_terminal.output
    bad_role = run_cli("add", "alice", "--role", "overlord", "--password-stdin", input=f"{PASSWORD}\n")
    assert bad_role.exit_code == 2
    unknown = run_cli("disable", "nobody")
    assert unknown.exit_code == 1
    assert "no user 'nobody'" in unknown.output
    assert audit_events(db) == []


def test_a_rehash_on_login_is_audited_with_the_login(db: Database) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    new = PasswordHasher(time_cost=2, memory_cost=8, parallelism=1)
    with transaction(db.sessions) as session:
        create_user(
            session, username="alice", password=PASSWORD, role=Role.AGENT, on_change=audit_change, hasher=old
        )

    assert authenticate(db.sessions, "alice", PASSWORD, on_change=audit_change, hasher=new) is not None

    assert [action for action, _entity, _payload in audit_events(db)] == [
        "user.created",
        "user.password_rehashed",
    ]
    assert verify(db.engine).intact
