"""`arrears bench gate`: dial-gate decisions per second on PostgreSQL.

Seeds a portfolio (people across US time zones, one to three debts and phones each, 30 days of
realistic attempt history), then lets worker processes ask the gate to reserve calls for random
people at one instant: first one worker deciding one call per transaction (the baseline), then
the requested number of workers one call per transaction, then the same workers in batches
(`reserve_many`, how the campaign engine asks: one batch per pacing decision). Prints decisions
per second and latency percentiles per transaction, and the CPU time each decision cost in the
gate processes and in their database backends: on a shared machine the wall-clock figures move
with the load, the CPU figures much less.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import os
import random
import statistics
import time
import uuid
from typing import Any

import click
import psycopg
import sqlalchemy as sa

from campaigns.account_facts import load_account_facts
from campaigns.models import Address, Debt, Person, Phone
from compliance.gate import DialGate, DialRequest
from compliance.models import AttemptDebt, ContactAttempt, DialingMode
from infra.db import Base, make_engine, make_sessionmaker, upgrade
from infra.models import Client

# A weekday morning in the continental US (10:00 in Chicago); Hawaii is still asleep.
NOW = dt.datetime(2025, 6, 4, 15, 0, tzinfo=dt.UTC)
PLACES = [  # (state, ZIP, area code): a spread of zones, Arizona and Hawaii included
    ("NY", "10001", "212"),
    ("IL", "60601", "312"),
    ("TX", "75201", "214"),
    ("CO", "80202", "303"),
    ("AZ", "85004", "602"),
    ("CA", "94103", "415"),
    ("WA", "98101", "206"),
    ("FL", "33101", "305"),
    ("MA", "02108", "617"),
    ("AK", "99501", "907"),
    ("HI", "96813", "808"),
]
OUTCOMES = ["no_answer"] * 5 + ["voicemail", "busy", "machine", "conversation", "answered_no_conversation"]


def _insert(connection: sa.Connection, table: type[Base], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 20_000):
        connection.execute(sa.insert(table), rows[start : start + 20_000])


def seed(url: str, people: int, seed_value: int) -> list[int]:
    rng = random.Random(seed_value)
    engine = make_engine(url)
    with engine.begin() as connection:
        client_id = connection.execute(
            sa.insert(Client).values(code="bench", name="Bench Bank", created_at=NOW).returning(Client.id)
        ).scalar_one()
        persons: list[dict[str, Any]] = []
        addresses: list[dict[str, Any]] = []
        phones: list[dict[str, Any]] = []
        debts: list[dict[str, Any]] = []
        for index in range(1, people + 1):
            state, postal_code, area = rng.choice(PLACES)
            persons.append(
                {
                    "id": index,
                    "client_id": client_id,
                    "person_ref": f"P{index}",
                    "first_name": "Pat",
                    "last_name": f"Bench{index}",
                    "identifier_salt": "s",
                    "extra_time_zones": [],
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
            addresses.append(
                {
                    "person_id": index,
                    "state": state,
                    "postal_code": postal_code,
                    "country": "US",
                    "is_current": True,
                    "source": "import",
                    "created_at": NOW,
                }
            )
            for position in range(1, rng.randint(1, 3) + 1):
                phones.append(
                    {
                        "person_id": index,
                        "number": f"+1{area}{rng.randint(2000000, 9999999)}",
                        "type": rng.choice(["mobile", "mobile", "landline"]),
                        "type_source": "import",
                        "source": "import",
                        "position": position,
                        "status": "active",
                        "consent_given_at": NOW - dt.timedelta(days=200) if rng.random() < 0.6 else None,
                        "created_at": NOW,
                    }
                )
            for number in range(rng.randint(1, 3)):
                debts.append(
                    {
                        "client_id": client_id,
                        "person_id": index,
                        "account_ref": f"A{index}-{number}",
                        "kind": rng.choice(["credit_card", "medical", "utility", "telecom"]),
                        "currency": "USD",
                        "principal_minor": rng.randint(5_000, 900_000),
                        "interest_minor": 0,
                        "fees_minor": 0,
                        "status": "open",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
        _insert(connection, Person, persons)
        _insert(connection, Address, addresses)
        _insert(connection, Phone, phones)
        _insert(connection, Debt, debts)
        debt_rows = connection.execute(sa.select(Debt.id, Debt.person_id)).all()
        debts_of: dict[int, list[int]] = {}
        for debt_id, person_id in debt_rows:
            debts_of.setdefault(person_id, []).append(debt_id)
        phone_of = dict(connection.execute(sa.select(Phone.person_id, Phone.number)).all())
        attempts: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        next_id = 1
        for person_id in range(1, people + 1):
            for _ in range(rng.randint(0, 6)):  # up to six calls over the last 30 days
                at = NOW - dt.timedelta(days=rng.uniform(0.5, 30))
                outcome = rng.choice(OUTCOMES)
                attempts.append(
                    {
                        "id": next_id,
                        "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                        "client_id": client_id,
                        "person_id": person_id,
                        "number": phone_of[person_id],
                        "direction": "outbound",
                        "mode": "predictive",
                        "party": "consumer",
                        "status": "completed",
                        "outcome": outcome,
                        "reserved_at": at,
                        "dialed_at": at,
                        "ended_at": at + dt.timedelta(seconds=30),
                    }
                )
                links.append({"attempt_id": next_id, "debt_id": rng.choice(debts_of[person_id])})
                next_id += 1
        _insert(connection, ContactAttempt, attempts)
        _insert(connection, AttemptDebt, links)
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text(f"SELECT setval('contact_attempts_id_seq', {next_id})"))
    # Committed, or the statistics are rolled back with the transaction and the planner, left to
    # its defaults, scans whole tables (autovacuum may be off or not have run yet).
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()
    return list(debts_of)


@dataclasses.dataclass(frozen=True)
class WorkerFigures:
    latencies: list[float]  # seconds per transaction
    client_cpu_s: float  # CPU time of the gate process while measuring
    server_cpu_s: float | None  # of its database backend, when it runs on this host


def _backend_cpu_s(pid: int) -> float | None:
    """User plus system CPU time of a local process, from /proc (None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker(url: str, person_ids: list[int], seconds: float, batch: int, seed_value: int) -> WorkerFigures:
    """Reserves calls for random people, `batch` people per transaction, for `seconds`."""
    rng = random.Random(seed_value)
    engine = make_engine(url, pool_size=1)
    sessions = make_sessionmaker(engine)
    gate = DialGate(sessions, load_account_facts, "us-federal")
    with sessions() as session:
        debts: dict[int, list[int]] = {}
        for debt_id, person_id in session.execute(sa.select(Debt.id, Debt.person_id)):
            debts.setdefault(person_id, []).append(debt_id)
        numbers = dict(session.execute(sa.select(Phone.person_id, Phone.number)).all())
        backend = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()

    def requests(at: dt.datetime) -> list[DialRequest]:
        return [
            DialRequest(
                person_id=person_id,
                number=numbers[person_id],
                debt_ids=(rng.choice(debts[person_id]),),
                mode=DialingMode.PREDICTIVE,
                at=at,
            )
            for person_id in rng.sample(person_ids, batch)
        ]

    # Untimed: the first decision of a process loads the policy, number and ZIP tables.
    gate.reserve_many(requests(NOW - dt.timedelta(minutes=1)))
    latencies: list[float] = []
    server_started = _backend_cpu_s(backend)
    client_started = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        batch_requests = requests(NOW + dt.timedelta(milliseconds=len(latencies)))
        started = time.perf_counter()
        gate.reserve_many(batch_requests)
        latencies.append(time.perf_counter() - started)
    client_cpu = time.process_time() - client_started
    server_ended = _backend_cpu_s(backend)
    engine.dispose()
    server_cpu = (
        server_ended - server_started if server_started is not None and server_ended is not None else None
    )
    return WorkerFigures(latencies, client_cpu, server_cpu)


@dataclasses.dataclass(frozen=True)
class Run:
    workers: int
    batch: int
    decisions_per_s: float
    p50_ms: float
    p99_ms: float
    client_cpu_ms: float  # per decision
    server_cpu_ms: float | None  # per decision


def _run(url: str, person_ids: list[int], workers: int, batch: int, seconds: float) -> Run:
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        results = pool.starmap(
            _worker, [(url, person_ids, seconds, batch, worker) for worker in range(workers)]
        )
    latencies = sorted(latency for result in results for latency in result.latencies)
    decisions = len(latencies) * batch
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    server = [result.server_cpu_s for result in results]
    return Run(
        workers,
        batch,
        decisions / seconds,
        statistics.median(latencies) * 1000,
        p99 * 1000,
        sum(result.client_cpu_s for result in results) / decisions * 1000,
        None if None in server else sum(cpu or 0.0 for cpu in server) / decisions * 1000,
    )


@click.command("gate")
@click.option("--people", default=100_000, show_default=True, help="Portfolio size.")
@click.option("--workers", default=4, show_default=True, help="Concurrent gate processes.")
@click.option("--seconds", default=20.0, show_default=True, help="Measuring time per run.")
@click.option(
    "--batch", default=50, show_default=True, help="People per gate transaction in the batched run."
)
@click.option("--seed", "seed_value", default=7, show_default=True)
@click.option(
    "--pg-admin",
    default="postgresql://postgres@127.0.0.1:5432/postgres",
    show_default=True,
    help="Server where a scratch database is created and dropped.",
)
def bench_gate(
    *, people: int, workers: int, seconds: float, batch: int, seed_value: int, pg_admin: str
) -> None:
    """Dial-gate decisions per second and latency on PostgreSQL.

    Baseline: one worker deciding one call per transaction. Then --workers workers, one call per
    transaction and then --batch calls per transaction (how the hopper asks). Latency is per
    transaction.
    """
    name = f"arrears_bench_gate_{uuid.uuid4().hex[:8]}"
    base = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}/{name}"
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        upgrade(url)
        started = time.perf_counter()
        person_ids = seed(url, people, seed_value)
        click.echo(
            f"portfolio: {people:,} people seeded with history in {time.perf_counter() - started:.0f} s"
        )
        runs = [
            _run(url, person_ids, 1, 1, seconds),
            _run(url, person_ids, workers, 1, seconds),
            _run(url, person_ids, workers, batch, seconds),
        ]
        click.echo(
            f"{'workers':>8} {'batch':>6} {'decisions/s':>12} {'p50 ms':>8} {'p99 ms':>8}"
            f" {'vs baseline':>12} {'CPU ms/decision: gate':>22} {'database':>9}"
        )
        for run in runs:
            ratio = run.decisions_per_s / runs[0].decisions_per_s
            server = f"{run.server_cpu_ms:.3f}" if run.server_cpu_ms is not None else "-"
            click.echo(
                f"{run.workers:>8} {run.batch:>6} {run.decisions_per_s:>12,.0f} {run.p50_ms:>8.2f}"
                f" {run.p99_ms:>8.2f} {ratio:>11.2f}x {run.client_cpu_ms:>22.3f} {server:>9}"
            )
        click.echo(
            f"goal: 2,000 decisions/s with 4 workers; batched run: {runs[-1].decisions_per_s:,.0f}/s"
            f" on {os.cpu_count()} cores shared with the database (and anything else running)"
        )
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
