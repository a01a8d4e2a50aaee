"""The import against real databases (SQLite and PostgreSQL), with a generated sample portfolio."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from campaigns.importer import ClientNotFoundError, ImportSummary, import_accounts
from campaigns.importer import run as importer_run
from campaigns.models import CallListMember, Debt, ImportRun, Person, Phone
from campaigns.sample import Manifest, write_portfolio
from compliance.models import AuditEvent
from infra.all_models import load_metadata
from infra.cli import cli
from infra.models import Client
from infra.settings import get_settings
from tests.conftest import Database

SECRET = "test-secret"
# Written by every run on purpose; everything else must stay as it was when a run changes nothing.
RUN_RECORDS = {"import_runs", "audit_events", "audit_chain_head"}


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    path = tmp_path_factory.mktemp("portfolio") / "spring-placement.csv"
    return path, write_portfolio(path, people=250, seed=11, dirty_rate=0.1)


def snapshot(database: Database, skip: set[str] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with database.engine.connect() as connection:
        for table in load_metadata().sorted_tables:
            if skip and table.name in skip:
                continue
            query = sa.select(table).order_by(*table.primary_key.columns)
            tables[table.name] = [tuple(row) for row in connection.execute(query)]
    return tables


def run(database: Database, path: Path, **options: Any) -> ImportSummary:
    options.setdefault("create_client", "Acme Bank")
    return import_accounts(database.sessions, path, client_code="acme", secret=SECRET, **options)


def count(database: Database, model: Any) -> int:
    with database.sessions() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_the_rejects_match_the_manifest_and_a_second_import_changes_nothing(
    db: Database, portfolio: tuple[Path, Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, manifest = portfolio
    with monkeypatch.context() as small:
        small.setattr(importer_run, "CHUNK_PEOPLE", 7)  # many chunks, written while the next is planned
        first = run(db, path, workers=2)

    assert {(problem.line, problem.column, problem.code.value) for problem in first.rejects} == (
        manifest.expected_rejects()
    )
    dirty_lines = {row.line for row in manifest.dirty}
    assert first.rows_read == manifest.rows
    assert first.rows_rejected == len(dirty_lines)
    assert first.debts_created == manifest.rows - len(dirty_lines)
    assert (first.debts_updated, first.debts_unchanged) == (0, 0)
    assert first.people_merged > 0
    assert first.list_name == "spring-placement"
    assert count(db, Debt) == first.debts_created
    assert count(db, CallListMember) == first.debts_created
    assert count(db, Person) == first.people_created

    before = snapshot(db, skip=RUN_RECORDS)
    audit_events = count(db, AuditEvent)
    second = run(db, path, workers=0)

    assert (second.debts_created, second.debts_updated, second.rows_rejected) == (0, 0, first.rows_rejected)
    assert second.debts_unchanged == first.debts_created
    assert (second.people_created, second.people_updated, second.phones_added, second.addresses_changed) == (
        0,
        0,
        0,
        0,
    )
    assert snapshot(db, skip=RUN_RECORDS) == before  # no row touched, not even updated_at
    assert count(db, AuditEvent) == audit_events + 1
    with db.sessions() as session:
        runs = session.scalars(sa.select(ImportRun).order_by(ImportRun.id)).all()
        assert [r.debts_unchanged for r in runs] == [0, first.debts_created]
        assert runs[1].rejects == runs[0].rejects
        assert len(runs[0].rejects) == len(manifest.expected_rejects())
        event = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert event is not None
        assert event.action == "import.accounts"
        assert first.file_sha256 in event.payload


def boom_trigger(database: Database) -> None:
    """A database error half way: the last table the import writes refuses every row."""
    with database.engine.begin() as connection:
        if database.dialect == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON call_list_members "
                "BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER boom BEFORE INSERT ON call_list_members FOR EACH ROW EXECUTE FUNCTION boom()"
            )


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(key for row in rows for key in row)))
        writer.writeheader()
        writer.writerows(rows)
    return path


def account(person: str, account_ref: str, **values: str) -> dict[str, str]:
    return {
        "person_ref": person,
        "account_ref": account_ref,
        "first_name": "Grace",
        "last_name": "Hopper",
        "phone1": "(212) 555-0100",
        "phone2": "",
        "principal": "100.00",
        **values,
    }


def test_a_failed_import_leaves_the_database_as_it_was(
    db: Database, portfolio: tuple[Path, Manifest], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(db, write_csv(tmp_path / "earlier.csv", [account("P1", "A1")]))
    before = snapshot(db)
    boom_trigger(db)
    monkeypatch.setattr(importer_run, "CHUNK_PEOPLE", 7)  # the writer fails while planning goes on
    with pytest.raises((sqlite3.Error, psycopg.Error), match="boom"):
        run(db, portfolio[0], list_name="earlier")
    assert snapshot(db) == before


class CrashWhileWriting:
    """A progress listener that fails part-way through the writes, like an interrupted process."""

    def __init__(self) -> None:
        self.phase = ""

    def start(self, phase: str, total: int) -> None:
        self.phase = phase

    def advance(self, rows: int) -> None:
        if self.phase == "writing":
            raise KeyboardInterrupt


def test_an_interrupted_import_leaves_the_database_as_it_was(
    db: Database, portfolio: tuple[Path, Manifest]
) -> None:
    before = snapshot(db)
    with pytest.raises(KeyboardInterrupt):
        run(db, portfolio[0], progress=CrashWhileWriting())
    assert snapshot(db) == before


def test_changes_update_debts_and_add_phones_without_dropping_any(db: Database, tmp_path: Path) -> None:
    first_rows = [
        account("P1", "A1"),
        account("P1", "A2"),
        account("P2", "A3", first_name="Alan", last_name="Kay"),
    ]
    first = run(db, write_csv(tmp_path / "june.csv", first_rows))
    assert (first.debts_created, first.people_created, first.people_merged) == (3, 2, 1)

    changed = [
        account("P1", "A1", principal="150.00", phone1="(212) 555-0199"),
        account("P1", "A2", phone2="(212) 555-0177", phone2_type="work"),
        account("P2", "A3", first_name="Alan", last_name="Kay"),
        account("P2", "A4", first_name="Alan", last_name="Kay", principal="7.5"),
    ]
    second = run(db, write_csv(tmp_path / "june.csv", changed))
    assert (second.debts_created, second.debts_updated, second.debts_unchanged) == (1, 1, 2)
    assert second.phones_added == 2

    with db.sessions() as session:
        numbers = set(
            session.execute(
                sa.select(Person.person_ref, Phone.number).join(Phone, Phone.person_id == Person.id)
            )
        )
        principal = session.scalar(sa.select(Debt.principal_minor).where(Debt.account_ref == "A1"))
        members = session.scalar(sa.select(sa.func.count()).select_from(CallListMember))
    assert numbers == {
        ("P1", "+12125550100"),
        ("P1", "+12125550199"),
        ("P1", "+12125550177"),
        ("P2", "+12125550100"),
    }
    assert principal == 15000
    assert members == 4


def test_an_unknown_client_is_refused_unless_it_is_to_be_created(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "july.csv", [account("P1", "A1")])
    before = snapshot(db)
    with pytest.raises(ClientNotFoundError, match="--create-client"):
        run(db, path, create_client=None)
    assert snapshot(db) == before
    summary = run(db, path, create_client="Acme Bank")
    with db.sessions() as session:
        client = session.scalars(sa.select(Client).where(Client.code == "acme")).one()
    assert (client.name, summary.client_id) == ("Acme Bank", client.id)


def test_the_command_line(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARREARS_DATABASE_URL", db.url)
    monkeypatch.setenv("ARREARS_SECRET_KEY", SECRET)
    monkeypatch.setenv("ARREARS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    rows = [
        account("P1", "A1"),
        account("P1", "A2", principal="-3"),
        {**account("P2", "A3"), "phone1": "n/a"},
    ]
    path = write_csv(
        tmp_path / "aug.csv",
        [{("acct" if k == "account_ref" else k): v for k, v in row.items()} for row in rows],
    )
    runner = CliRunner()
    try:
        refused = runner.invoke(
            cli, ["import", "accounts", str(path), "--client", "acme", "--map", "acct=account_ref"]
        )
        assert refused.exit_code == 1
        assert "--create-client" in refused.output
        unknown = runner.invoke(
            cli, ["import", "accounts", str(path), "--client", "acme", "--create-client", "Acme"]
        )
        assert unknown.exit_code == 1
        assert "unknown columns: acct" in unknown.output
        rejects = tmp_path / "rejects.csv"
        result = runner.invoke(
            cli,
            [
                "import",
                "accounts",
                str(path),
                "--client",
                "acme",
                "--create-client",
                "Acme",
                "--map",
                "acct=account_ref",
                "--rejects",
                str(rejects),
                "--list",
                "August",
            ],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "rows read          3" in result.output
    assert "debts created      1" in result.output
    assert "rows rejected      2" in result.output
    with rejects.open(encoding="utf-8") as handle:
        assert [(r["line"], r["column"], r["code"]) for r in csv.DictReader(handle)] == [
            ("3", "principal", "negative_amount"),
            ("4", "phone1", "invalid_phone"),
        ]
