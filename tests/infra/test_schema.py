"""The models and the migrations describe the same schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError, StatementError

from campaigns.models import Debt, Note, Person
from compliance.models import DispositionCode
from infra.all_models import load_metadata
from infra.db import alembic_config, current_revision, downgrade, make_engine, upgrade
from infra.models import Client
from tests.conftest import Database, _pg_admin, _pg_url


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, load_metadata())
    assert differences == []


def test_migrations_downgrade_to_nothing_and_back(db: Database) -> None:
    head = current_revision(db.engine)
    assert head is not None
    downgrade(db.url, "base")
    assert sa.inspect(db.engine).get_table_names() in ([], ["alembic_version"])
    upgrade(db.url)
    assert current_revision(db.engine) == head


def _person(session: sa.orm.Session) -> Person:
    client = Client(code="acme", name="Acme Bank")
    session.add(client)
    session.flush()
    person = Person(
        client_id=client.id, person_ref="P1", first_name="Ada", last_name="Byron", identifier_salt="s"
    )
    session.add(person)
    session.flush()
    return person


def test_notes_are_append_only(db: Database) -> None:
    with db.sessions.begin() as session:
        note = Note(person_id=_person(session).id, body="Promised to call back")
        session.add(note)
    for statement in ("UPDATE notes SET body = 'rewritten'", "DELETE FROM notes"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(sa.text(statement))
    with db.sessions() as session:
        assert session.scalars(sa.select(Note.body)).all() == ["Promised to call back"]


def test_timestamps_come_back_aware_in_utc(db: Database) -> None:
    placed = dt.datetime(2025, 3, 9, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    with db.sessions.begin() as session:
        person = _person(session)
        person.created_at = placed
    with db.sessions() as session:
        stored = session.scalars(sa.select(Person.created_at)).one()
    assert stored == placed
    assert stored.tzinfo == dt.UTC


def test_naive_timestamps_are_refused(db: Database) -> None:
    with db.sessions.begin() as session:
        person = _person(session)
        person.created_at = dt.datetime(2025, 1, 1, 12, 0)
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
        session.rollback()


def test_unknown_enum_values_are_refused_by_the_database(db: Database) -> None:
    with db.sessions.begin() as session:
        person = _person(session)
        session.add(Debt(client_id=person.client_id, person_id=person.id, account_ref="A1"))
    with pytest.raises(DBAPIError), db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE debts SET kind = 'payday'"))


def test_default_disposition_codes_are_seeded(db: Database) -> None:
    with db.sessions() as session:
        codes = session.scalars(sa.select(DispositionCode)).all()
    by_code = {code.code: code for code in codes}
    assert {"PTP", "CB", "DISP", "ATTY", "BK", "NA", "B", "DC", "AB", "AM", "LM"} <= by_code.keys()
    hotkeys = [code.hotkey for code in codes if code.hotkey]
    assert len(hotkeys) == len(set(hotkeys))
    # Calls that never reached the dialed number do not count toward Reg F frequency.
    assert not by_code["B"].counts_as_attempt
    assert not by_code["DC"].counts_as_attempt
    assert by_code["NA"].counts_as_attempt
    assert by_code["PTP"].required_fields == ["promise"]


def test_processes_migrating_an_empty_database_at_once_all_succeed() -> None:
    # Every engine migrates at start, so a fleet starting together races on an empty database.
    name = f"arrears_test_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    try:
        migrate = f"from infra.db import upgrade; upgrade({url!r})"
        command = [sys.executable, "-c", migrate]
        processes = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        failures = [process.communicate(timeout=120)[1] for process in processes if process.wait(120) != 0]
        assert failures == []
        engine = make_engine(url)
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert current_revision(engine) == head
        engine.dispose()
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
