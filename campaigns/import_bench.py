"""`arrears bench import`: bulk import rows/s on PostgreSQL and SQLite against a plain ORM baseline.

One run generates (or reuses, under DATA_DIR/bench) a sample portfolio, then on each database:
a first import (everything created), a second import of the same file (everything unchanged),
and the baseline: the same validated rows stored one by one through the ORM (look the person up,
add person, debt, phones and list membership, flush), on a small slice, in the same run.
Figures are wall-clock and noisy on a shared machine; the ratio is the point. Each import also
shows the CPU seconds of the importing process, which depend less on what else the machine runs.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaigns.importer import import_accounts
from campaigns.importer.columns import resolve_header
from campaigns.importer.phones import PhoneNormaliser
from campaigns.importer.rows import validate_row
from campaigns.models import Address, CallList, CallListMember, Debt, Person, Phone
from campaigns.sample import Manifest, manifest_path, write_portfolio
from infra.db import make_engine, make_sessionmaker, transaction, upgrade, utcnow
from infra.identifiers import IdentifierKind, identifier_hash, new_salt
from infra.models import Client
from infra.settings import get_settings

DEFAULT_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclasses.dataclass(frozen=True)
class Phases:
    """When reading and writing began, told by the importer's progress.

    Reading validates the file and loads what the database holds of its people; writing plans
    the changes chunk by chunk while a writer thread stores the chunks already planned.

    Both wall-clock and this process's CPU time: on a shared machine the CPU seconds show what
    the importer itself spent, the wall-clock seconds include waiting for cores and the database.
    """

    marks: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)

    def start(self, phase: str, total: int) -> None:
        self.marks[phase] = (time.perf_counter(), time.process_time())

    def advance(self, rows: int) -> None:
        """Only phase boundaries matter here."""


@contextmanager
def _scratch_postgresql(admin_url: str) -> Iterator[str]:
    name = f"arrears_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _scratch_sqlite() -> Iterator[str]:
    directory = Path(tempfile.mkdtemp(prefix="arrears-bench-"))
    try:
        yield f"sqlite:///{directory / 'bench.db'}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _portfolio(people: int, seed: int) -> tuple[Path, Manifest]:
    path = get_settings().data_dir / "bench" / f"portfolio-{people}-{seed}.csv"
    if path.exists() and manifest_path(path).exists():
        return path, Manifest.from_json(manifest_path(path).read_text(encoding="utf-8"))
    started = time.perf_counter()
    manifest = write_portfolio(path, people=people, seed=seed)
    manifest_path(path).write_text(manifest.to_json(), encoding="utf-8")
    click.echo(f"generated {path} ({manifest.rows} rows) in {time.perf_counter() - started:.1f} s")
    return path, manifest


def orm_baseline(sessions: sessionmaker[Session], path: Path, rows: int, secret: str) -> tuple[int, float]:
    """Store the first `rows` rows one at a time through the ORM; (rows stored, seconds)."""
    normaliser = PhoneNormaliser()
    started = time.perf_counter()
    stored = 0
    with transaction(sessions) as session, path.open(encoding="utf-8-sig", newline="") as handle:
        client = Client(code=f"baseline-{uuid.uuid4().hex[:6]}", name="Baseline")
        session.add(client)
        session.flush()
        call_list = CallList(client_id=client.id, name="baseline")
        session.add(call_list)
        session.flush()
        reader = csv.reader(handle)
        columns = resolve_header(next(reader), {})
        accounts: set[str] = set()
        for line, fields in enumerate(reader, start=2):
            if line > rows + 1:
                break
            row = validate_row(fields, columns, line, normaliser).row
            if row is None or row.debt.account_ref in accounts:
                continue
            accounts.add(row.debt.account_ref)
            ref = row.person.person_ref
            person = session.scalars(
                sa.select(Person).where(Person.client_id == client.id, Person.person_ref == ref)
            ).one_or_none()
            if person is None:
                salt = new_salt()
                birth = row.person.date_of_birth
                person = Person(
                    client_id=client.id,
                    person_ref=ref,
                    first_name=row.person.first_name,
                    last_name=row.person.last_name,
                    email=row.person.email,
                    identifier_salt=salt,
                    date_of_birth_hash=identifier_hash(secret, salt, IdentifierKind.DATE_OF_BIRTH, birth)
                    if birth
                    else None,
                    extra_time_zones=[],
                )
                session.add(person)
                session.flush()
                if row.address is not None:
                    session.add(Address(person_id=person.id, **row.address._asdict()))
            for phone in row.phones:
                known = session.scalars(
                    sa.select(Phone).where(Phone.person_id == person.id, Phone.number == phone.number)
                ).one_or_none()
                if known is None:
                    session.add(
                        Phone(
                            person_id=person.id,
                            number=phone.number,
                            type=phone.type,
                            type_source=phone.type_source,
                            position=phone.position,
                            consent_given_at=phone.consent_at,
                        )
                    )
            debt = Debt(client_id=client.id, person_id=person.id, **row.debt._asdict(), created_at=utcnow())
            session.add(debt)
            session.flush()
            session.add(CallListMember(list_id=call_list.id, debt_id=debt.id))
            session.flush()
            stored += 1
    return stored, time.perf_counter() - started


def _measure(name: str, url: str, path: Path, baseline_rows: int, workers: int) -> dict[str, float]:
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    figures: dict[str, float] = {}
    secret = get_settings().effective_secret_key
    try:
        for attempt in ("first", "again"):
            phases = Phases()
            started, cpu_started = time.perf_counter(), time.process_time()
            summary = import_accounts(
                sessions,
                path,
                client_code="bench",
                create_client="Bench",
                secret=secret,
                progress=phases,
                workers=workers,
            )
            finished, cpu_finished = time.perf_counter(), time.process_time()
            seconds, cpu = finished - started, cpu_finished - cpu_started
            (read_at, read_cpu_at), (write_at, write_cpu_at) = (
                phases.marks["reading"],
                phases.marks["writing"],
            )
            figures[f"{attempt}_rows_per_s"] = summary.rows_read / seconds
            click.echo(
                f"{name:<10} {attempt:<6} {summary.rows_read:>9} rows in {seconds:7.1f} s = "
                f"{summary.rows_read / seconds:9,.0f} rows/s  (read {write_at - read_at:.1f} s, "
                f"plan+write {finished - write_at:.1f} s; CPU of this process {cpu:.1f} s = "
                f"{summary.rows_read / cpu:,.0f} rows/CPU-s, read {write_cpu_at - read_cpu_at:.1f}, "
                f"plan+write {cpu_finished - write_cpu_at:.1f}; created {summary.debts_created}, "
                f"unchanged {summary.debts_unchanged}, rejected {summary.rows_rejected})"
            )
        stored, seconds = orm_baseline(sessions, path, baseline_rows, secret)
        figures["baseline_rows_per_s"] = stored / seconds
        rate = stored / seconds
        click.echo(
            f"{name:<10} ORM    {stored:>9} rows in {seconds:7.1f} s = {rate:9,.0f} rows/s  (baseline)"
        )
    finally:
        engine.dispose()
    return figures


@click.command("import")
@click.option("--people", type=click.IntRange(min=10), default=100_000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--pg-url", help="PostgreSQL database to use (default: a scratch database, dropped afterwards)."
)
@click.option(
    "--pg-admin", default=DEFAULT_PG_ADMIN, show_default=True, help="Where to create the scratch database."
)
@click.option("--baseline-rows", type=click.IntRange(min=100), default=3_000, show_default=True)
@click.option(
    "--workers", type=click.IntRange(min=0), default=0, show_default=True, help="See import --workers."
)
def bench_import(
    *, people: int, seed: int, pg_url: str | None, pg_admin: str, baseline_rows: int, workers: int
) -> None:
    """Rows/s of `arrears import accounts` on PostgreSQL and SQLite against plain ORM inserts."""
    path, manifest = _portfolio(people, seed)
    click.echo(f"portfolio: {manifest.people} people, {manifest.rows} rows, {len(manifest.dirty)} dirty")
    results: dict[str, dict[str, float]] = {}
    if pg_url:
        results["postgresql"] = _measure("postgresql", pg_url, path, baseline_rows, workers)
    else:
        with _scratch_postgresql(pg_admin) as url:
            results["postgresql"] = _measure("postgresql", url, path, baseline_rows, workers)
    with _scratch_sqlite() as url:
        results["sqlite"] = _measure("sqlite", url, path, baseline_rows, workers)
    click.echo("")
    click.echo(
        f"{'database':<10} {'first rows/s':>13} {'again rows/s':>13} {'ORM rows/s':>11} {'first/ORM':>10}"
    )
    for name, figures in results.items():
        ratio = figures["first_rows_per_s"] / figures["baseline_rows_per_s"]
        click.echo(
            f"{name:<10} {figures['first_rows_per_s']:13,.0f} {figures['again_rows_per_s']:13,.0f} "
            f"{figures['baseline_rows_per_s']:11,.0f} {ratio:9.1f}x"
        )
