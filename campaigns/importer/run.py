"""`import_accounts`: one placement file into the database, all of it or nothing.

The file is read and validated first (no database needed), then one transaction loads what
exists, plans the changes, writes them in bulk, stores the import run and appends one audit
event. A rejected row leaves no trace but its entry in the rejects report.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaigns.importer.merge import Merger
from campaigns.importer.pipeline import write_while_planning
from campaigns.importer.plan import Plan, new_counts, plan_chunks
from campaigns.importer.reading import file_facts, read_file
from campaigns.importer.rows import Problem
from campaigns.importer.store import Store
from campaigns.models import CallList, ImportRun
from compliance import audit
from infra.db import transaction, utcnow
from infra.identifiers import KeyedHasher, new_salt
from infra.models import Client

CHUNK_PEOPLE = 20_000  # planned and written at a time


class ClientNotFoundError(LookupError):
    """No client has the code given; it can be created with the import."""


class Progress(Protocol):
    """Told when a phase starts (with its size in rows) and as rows are done."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, rows: int) -> None: ...


class _Silent:
    def start(self, phase: str, total: int) -> None:
        """Nothing to show."""

    def advance(self, rows: int) -> None:
        """Nothing to show."""


class SecretHasher(KeyedHasher):
    """Hashes identifiers with the installation secret (see infra.identifiers)."""

    def new_salt(self) -> str:
        return new_salt()


@dataclasses.dataclass(frozen=True)
class ImportSummary:
    run_id: int
    client_id: int
    list_id: int
    list_name: str
    file_name: str
    file_sha256: str
    rows_read: int
    debts_created: int
    debts_updated: int
    debts_unchanged: int
    rows_rejected: int
    people_merged: int
    people_created: int
    people_updated: int
    phones_added: int
    phones_updated: int
    addresses_changed: int
    rejects: tuple[Problem, ...]

    def counts(self) -> dict[str, int]:
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.type == "int" and field.name not in {"run_id", "client_id", "list_id"}
        }


def reject_record(problem: Problem) -> dict[str, Any]:
    return {
        "line": problem.line,
        "column": problem.column,
        "code": problem.code.value,
        "reason": problem.reason,
    }


def _client(session: Session, code: str, create_name: str | None) -> tuple[Client, bool]:
    client = session.scalars(sa.select(Client).where(Client.code == code)).one_or_none()
    if client is not None:
        return client, False
    if create_name is None:
        raise ClientNotFoundError(f"no client has the code {code!r}; give --create-client NAME to create it")
    client = Client(code=code, name=create_name)
    session.add(client)
    session.flush()
    return client, True


def client_exists(sessions: sessionmaker[Session], code: str) -> bool:
    with sessions() as session:
        return session.scalar(sa.select(Client.id).where(Client.code == code)) is not None


def _call_list(session: Session, client_id: int, name: str) -> CallList:
    call_list = session.scalars(
        sa.select(CallList).where(CallList.client_id == client_id, CallList.name == name)
    ).one_or_none()
    if call_list is None:
        call_list = CallList(client_id=client_id, name=name)
        session.add(call_list)
        session.flush()
    return call_list


def _write(
    session: Session, merger: Merger, *, client_id: int, list_id: int, secret: str, progress: Progress
) -> Plan:
    store = Store(session.connection())
    accounts = [debt.account_ref for draft in merger.people.values() for debt in draft.debts]
    existing = store.load_existing(client_id, list_id, merger.people.keys(), accounts)
    persons_needed, debts_needed = new_counts(merger.people, existing)
    plans = plan_chunks(
        merger.people,
        existing,
        client_id=client_id,
        list_id=list_id,
        person_ids=store.allocate_ids("persons", persons_needed),
        debt_ids=store.allocate_ids("debts", debts_needed),
        hasher=SecretHasher(secret),
        now=utcnow(),
        chunk_people=CHUNK_PEOPLE,
    )
    progress.start("writing", len(merger.people))
    return write_while_planning(store, plans, progress.advance)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while an import builds millions of long-lived tuples.

    The import makes no reference cycles of its own; the collector would only walk the growing
    heap of rows again and again (about 40% of reading time, measured).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@_collector_paused()
def import_accounts(
    sessions: sessionmaker[Session],
    path: Path,
    *,
    client_code: str,
    secret: str,
    list_name: str | None = None,
    mapping: Mapping[str, str] | None = None,
    create_client: str | None = None,
    actor: str = "system:import",
    started_by: int | None = None,
    workers: int = 0,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import one call-list CSV for a client and put its debts on a call list (default: the file's stem).

    `create_client` names the client to create when `client_code` does not exist yet.
    """
    progress = progress or _Silent()
    if create_client is None and not client_exists(sessions, client_code):
        raise ClientNotFoundError(
            f"no client has the code {client_code!r}; give --create-client NAME to create it"
        )
    facts = file_facts(path)
    progress.start("reading", max(facts.lines - 1, 0))
    merger = read_file(path, mapping or {}, workers=workers, progress=progress.advance)
    list_name = list_name or path.stem
    with transaction(sessions) as session:
        client, client_created = _client(session, client_code, create_client)
        call_list = _call_list(session, client.id, list_name)
        plan = _write(
            session, merger, client_id=client.id, list_id=call_list.id, secret=secret, progress=progress
        )
        summary_counts = {
            "rows_read": merger.rows_read,
            "debts_created": len(plan.debts.rows),
            "debts_updated": len(plan.debt_updates.rows),
            "debts_unchanged": plan.debts_unchanged,
            "rows_rejected": merger.rows_rejected,
            "people_merged": merger.people_merged,
        }
        run = ImportRun(
            client_id=client.id,
            list_id=call_list.id,
            file_name=path.name,
            file_sha256=facts.sha256,
            status="done",
            rejects=[reject_record(problem) for problem in merger.problems],
            started_by=started_by,
            finished_at=utcnow(),
            **summary_counts,
        )
        session.add(run)
        session.flush()
        summary = ImportSummary(
            run_id=run.id,
            client_id=client.id,
            list_id=call_list.id,
            list_name=list_name,
            file_name=path.name,
            file_sha256=facts.sha256,
            people_created=len(plan.persons.rows),
            people_updated=len(plan.person_updates.rows),
            phones_added=len(plan.phones.rows),
            phones_updated=len(plan.phone_updates.rows),
            addresses_changed=len(plan.addresses.rows),
            rejects=tuple(merger.problems),
            **summary_counts,
        )
        audit.record(
            session,
            actor=actor,
            action="import.accounts",
            entity_type="import_run",
            entity_id=str(run.id),
            payload={
                "file_name": path.name,
                "file_sha256": facts.sha256,
                "list": list_name,
                "client_created": client_created,
                **summary.counts(),
            },
            client_id=client.id,
        )
    return summary
