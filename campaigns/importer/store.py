"""The database side of an import: what exists already, fresh ids, and writing a plan in bulk.

Everything runs on the caller's connection inside the caller's transaction, so an import that
fails half way leaves nothing behind. Values go through the same SQLAlchemy type processing as
ORM writes (enums checked, timestamps to naive UTC, JSON encoded), then straight to the driver:
PostgreSQL gets COPY (updates are copied into a temporary table and applied with one
UPDATE ... FROM), SQLite gets executemany.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from campaigns.importer.plan import (
    NOTHING_EXISTS,
    Existing,
    ExistingAddress,
    ExistingDebt,
    ExistingPerson,
    ExistingPhone,
    Plan,
    Row,
    TableRows,
)
from campaigns.importer.rows import AddressFields, DebtFields
from campaigns.models import Address, CallListMember, Debt, Person, Phone
from infra.db import Base

BATCH_ROWS = 10_000
ANALYSE_AFTER_ROWS = 10_000
SQLITE_CACHE_KIB = 512 * 1024  # pages are only taken as the import touches them

_persons = Person.__table__
_debts = Debt.__table__
_phones = Phone.__table__
_addresses = Address.__table__
_members = CallListMember.__table__

Processor = Callable[[Any], Any]


def _ignore(_rows: int) -> None:
    """No progress reporting."""


def _batches(rows: Sequence[Row]) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), BATCH_ROWS):
        yield rows[start : start + BATCH_ROWS]


class Store:
    """Bulk reads and writes for one import, on one connection in an open transaction."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.is_postgresql = self.dialect.name == "postgresql"
        self._driver: Any = connection.connection.driver_connection

    # -- reading ---------------------------------------------------------------------------

    def load_existing(
        self, client_id: int, list_id: int, person_refs: Iterable[str], account_refs: Iterable[str]
    ) -> Existing:
        """The persons, debts, phones, current addresses and list members the file can touch."""
        some_person = self.connection.execute(
            sa.select(_persons.c.id).where(_persons.c.client_id == client_id).limit(1)
        ).first()
        if some_person is None:
            return NOTHING_EXISTS  # a first import for this client: nothing to compare with
        people = self._stage_keys("arrears_import_person_refs", person_refs)
        accounts = self._stage_keys("arrears_import_account_refs", account_refs)
        persons = self._read_persons(client_id, people)
        debts = self._read_debts(client_id, accounts)
        phones = self._read_phones(client_id, people)
        addresses = self._read_addresses(client_id, people)
        members = frozenset(
            self.connection.execute(
                sa.select(_members.c.debt_id).where(_members.c.list_id == list_id)
            ).scalars()
        )
        for table in (people, accounts):
            self.connection.execute(sa.text(f"DROP TABLE {table.name}"))
        return Existing(persons, debts, phones, addresses, members)

    def _stage_keys(self, name: str, keys: Iterable[str]) -> sa.TableClause:
        """A temporary one-column table of keys to join against."""
        on_commit = " ON COMMIT DROP" if self.is_postgresql else ""
        self.connection.execute(
            sa.text(f"CREATE TEMPORARY TABLE {name} (ref VARCHAR(100) PRIMARY KEY){on_commit}")
        )
        self._insert_rows(name, ("ref",), [(key,) for key in keys], [None], _ignore)
        self._analyse(name)
        return sa.table(name, sa.column("ref"))

    def _read_persons(self, client_id: int, refs: sa.TableClause) -> dict[str, ExistingPerson]:
        p = _persons.c
        query = (
            sa.select(
                p.person_ref,
                p.id,
                p.first_name,
                p.last_name,
                p.email,
                p.identifier_salt,
                p.date_of_birth_hash,
                p.ssn_last4_hash,
            )
            .join(refs, refs.c.ref == p.person_ref)
            .where(p.client_id == client_id)
        )
        return {row[0]: ExistingPerson(*row[1:]) for row in self.connection.execute(query)}

    def _read_debts(self, client_id: int, refs: sa.TableClause) -> dict[str, ExistingDebt]:
        d = _debts.c
        fields = [d[name] for name in DebtFields._fields]
        query = (
            sa.select(d.id, d.person_id, *fields)
            .join(refs, refs.c.ref == d.account_ref)
            .where(d.client_id == client_id)
        )
        return {
            row[2]: ExistingDebt(row[0], row[1], DebtFields(*row[2:]))
            for row in self.connection.execute(query)
        }

    def _read_phones(self, client_id: int, refs: sa.TableClause) -> dict[int, dict[str, ExistingPhone]]:
        ph, p = _phones.c, _persons.c
        query = (
            sa.select(ph.person_id, ph.number, ph.id, ph.type, ph.type_source, ph.consent_given_at)
            .join(_persons, p.id == ph.person_id)
            .join(refs, refs.c.ref == p.person_ref)
            .where(p.client_id == client_id)
        )
        phones: dict[int, dict[str, ExistingPhone]] = {}
        for row in self.connection.execute(query):
            phones.setdefault(row[0], {})[row[1]] = ExistingPhone(*row[2:])
        return phones

    def _read_addresses(self, client_id: int, refs: sa.TableClause) -> dict[int, ExistingAddress]:
        a, p = _addresses.c, _persons.c
        query = (
            sa.select(a.person_id, a.id, *(a[name] for name in AddressFields._fields))
            .join(_persons, p.id == a.person_id)
            .join(refs, refs.c.ref == p.person_ref)
            .where(p.client_id == client_id, a.is_current.is_(True))
            .order_by(a.id)
        )
        # Ordered by id, so the newest current address wins should there be two.
        return {
            row[0]: ExistingAddress(row[1], AddressFields(*row[2:])) for row in self.connection.execute(query)
        }

    # -- ids -------------------------------------------------------------------------------

    def allocate_ids(self, table: str, count: int) -> list[int]:
        """`count` ids no other writer will use for `table`."""
        if count == 0:
            return []
        if self.is_postgresql:
            # One array rather than a result row per id: hundreds of thousands of rows through
            # the result machinery took longer than the sequence itself.
            query = sa.text(
                "SELECT array_agg(nextval(pg_get_serial_sequence(:table, 'id'))) "
                "FROM generate_series(1, :count)"
            )
            ids: list[int] = self.connection.execute(query, {"table": table, "count": count}).scalar_one()
            return ids
        # SQLite: the transaction began with BEGIN IMMEDIATE, so no other writer can take these.
        highest = self.connection.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
        return list(range(highest + 1, highest + 1 + count))

    # -- writing ---------------------------------------------------------------------------

    def write_inserts(self, plan: Plan, progress: Callable[[int], None] = _ignore) -> None:
        """The plan's new rows, in foreign-key order; `progress` hears how many each batch wrote."""
        for table in plan.inserts:
            if table.rows:
                self._insert_rows(table.table, table.columns, table.rows, self._processors(table), progress)

    def write_updates(self, plan: Plan, progress: Callable[[int], None] = _ignore) -> None:
        for table in plan.updates:
            if table.rows:
                self._update_rows(table, progress)

    def analyse_written(self, plan: Plan) -> None:
        """Fresh planner statistics for each table the plan wrote many rows to."""
        written: dict[str, int] = {}
        for table in (*plan.inserts, *plan.updates):
            written[table.table] = written.get(table.table, 0) + len(table.rows)
        for name, rows in written.items():
            if rows >= ANALYSE_AFTER_ROWS:
                self._analyse(name)

    def _analyse(self, table: str) -> None:
        """PostgreSQL: autovacuum may be off or behind, and never analyses a temporary table.

        Without statistics the next import's lookups join against a table the planner believes
        nearly empty. SQLite plans its lookups by index without statistics.
        """
        if self.is_postgresql:
            self.connection.execute(sa.text(f"ANALYZE {table}"))

    @contextmanager
    def bulk_writing(self) -> Iterator[None]:
        """Around all the writes of one import.

        SQLite: index pages of a big import stay in memory instead of spilling to the WAL.
        """
        if self.is_postgresql:
            yield
            return
        usual = self.connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
        self.connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        try:
            yield
        finally:
            self.connection.exec_driver_sql(f"PRAGMA cache_size = {int(usual)}")

    def _processors(self, table: TableRows) -> list[_Memo | None]:
        columns = Base.metadata.tables[table.table].c
        return [
            _memoised(columns[name].type.dialect_impl(self.dialect).bind_processor(self.dialect))
            for name in table.columns
        ]

    def _insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Row],
        processors: Sequence[_Memo | None],
        progress: Callable[[int], None],
    ) -> None:
        names = ", ".join(columns)
        if self.is_postgresql:
            with self._driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for batch in _batches(rows):
                    for row in _processed(batch, processors):
                        copy.write_row(row)
                    progress(len(batch))
            return
        placeholders = ", ".join("?" for _ in columns)
        cursor = self._driver.cursor()
        try:
            for batch in _batches(rows):
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({placeholders})", _processed(batch, processors)
                )
                progress(len(batch))
        finally:
            cursor.close()

    def _update_rows(self, table: TableRows, progress: Callable[[int], None]) -> None:
        key, *changed = table.columns
        processors = self._processors(table)
        if self.is_postgresql:
            stage = f"arrears_import_stage_{table.table}"
            self.connection.execute(
                sa.text(
                    f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
                    f"SELECT {', '.join(table.columns)} FROM {table.table} WITH NO DATA"
                )
            )
            self._insert_rows(stage, table.columns, table.rows, processors, progress)
            assignments = ", ".join(f"{name} = {stage}.{name}" for name in changed)
            target = table.table
            self.connection.execute(
                sa.text(
                    f"UPDATE {target} SET {assignments} FROM {stage} WHERE {target}.{key} = {stage}.{key}"
                )
            )
            self.connection.execute(sa.text(f"DROP TABLE {stage}"))
            return
        assignments = ", ".join(f"{name} = ?" for name in changed)
        statement = f"UPDATE {table.table} SET {assignments} WHERE {key} = ?"
        cursor = self._driver.cursor()
        try:
            for batch in _batches(table.rows):
                cursor.executemany(statement, (row[1:] + row[:1] for row in _processed(batch, processors)))
                progress(len(batch))
        finally:
            cursor.close()


class _Memo(dict[Any, Any]):
    """A processor's answers by input: imports repeat a few values (enums, dates, the import's time)."""

    def __init__(self, processor: Processor) -> None:
        super().__init__()
        self.processor = processor

    def __missing__(self, value: Any) -> Any:
        processed = self[value] = self.processor(value)
        return processed

    def column(self, values: Sequence[Any]) -> list[Any]:
        try:
            return list(map(self.__getitem__, values))
        except TypeError:  # unhashable values (JSON lists): process each
            return [self.processor(value) for value in values]


def _memoised(processor: Processor | None) -> _Memo | None:
    return None if processor is None else _Memo(processor)


def _processed(rows: Sequence[Row], processors: Sequence[_Memo | None]) -> Sequence[Row]:
    """The rows with each column's processor applied, column by column."""
    if not rows or all(processor is None for processor in processors):
        return rows
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for index, processor in enumerate(processors):
        if processor is not None:
            columns[index] = processor.column(columns[index])
    return list(zip(*columns, strict=True))
