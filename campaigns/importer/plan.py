"""What an import changes: the file's people compared with what the database already holds.

Pure: the caller loads the existing rows, allocates ids for new persons and debts, and writes
the plan. Nothing is planned for what did not change, so importing a file twice writes nothing
the second time but the import-run record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from campaigns.importer.merge import PersonDraft
from campaigns.importer.rows import AddressFields, DebtFields, PhoneEntry
from campaigns.models import DebtStatus, PhoneStatus, PhoneType
from infra.identifiers import IdentifierKind

Row = tuple[Any, ...]


class ExistingPerson(NamedTuple):
    id: int
    first_name: str
    last_name: str
    email: str | None
    identifier_salt: str
    date_of_birth_hash: str | None
    ssn_last4_hash: str | None


class ExistingDebt(NamedTuple):
    id: int
    person_id: int
    fields: DebtFields


class ExistingPhone(NamedTuple):
    id: int
    type: PhoneType
    type_source: str
    consent_given_at: dt.datetime | None


class ExistingAddress(NamedTuple):
    id: int
    fields: AddressFields


@dataclasses.dataclass(frozen=True)
class Existing:
    """The rows an import can touch, keyed the way the file refers to them."""

    persons: Mapping[str, ExistingPerson]  # by person_ref
    debts: Mapping[str, ExistingDebt]  # by account_ref
    phones: Mapping[int, Mapping[str, ExistingPhone]]  # by person id, then E.164 number
    addresses: Mapping[int, ExistingAddress]  # the current address, by person id
    list_members: frozenset[int]  # debt ids already on the target call list


NOTHING_EXISTS = Existing({}, {}, {}, {}, frozenset())


class IdentifierHasher(Protocol):
    def new_salt(self) -> str: ...

    def hash(self, salt: str, kind: IdentifierKind, value: str) -> str: ...


PERSON_COLUMNS = (
    "id",
    "client_id",
    "person_ref",
    "first_name",
    "last_name",
    "email",
    "identifier_salt",
    "date_of_birth_hash",
    "ssn_last4_hash",
    "extra_time_zones",
    "created_at",
    "updated_at",
)
PERSON_UPDATE_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "date_of_birth_hash",
    "ssn_last4_hash",
    "updated_at",
)
ADDRESS_COLUMNS = ("person_id", *AddressFields._fields, "is_current", "source", "created_at")
ADDRESS_UPDATE_COLUMNS = ("id", "is_current")
# DebtFields and AddressFields are named after the columns their values go to.
DEBT_FIELD_COLUMNS: tuple[str, ...] = DebtFields._fields
DEBT_COLUMNS = ("id", "client_id", "person_id", *DEBT_FIELD_COLUMNS, "status", "created_at", "updated_at")
DEBT_UPDATE_COLUMNS = ("id", "person_id", *DEBT_FIELD_COLUMNS[1:], "updated_at")
PHONE_COLUMNS = (
    "person_id",
    "number",
    "type",
    "type_source",
    "source",
    "position",
    "status",
    "consent_given_at",
    "created_at",
)
PHONE_UPDATE_COLUMNS = ("id", "type", "type_source", "consent_given_at")
MEMBER_COLUMNS = ("list_id", "debt_id")


@dataclasses.dataclass
class TableRows:
    """Rows for one table; for updates the first column is the id of the row to change."""

    table: str
    columns: tuple[str, ...]
    rows: list[Row] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Plan:
    persons: TableRows
    addresses: TableRows
    debts: TableRows
    phones: TableRows
    members: TableRows
    person_updates: TableRows
    address_updates: TableRows
    debt_updates: TableRows
    phone_updates: TableRows
    debts_unchanged: int = 0
    people: int = 0  # the file's people this plan covers

    @property
    def inserts(self) -> tuple[TableRows, ...]:
        """In an order that satisfies the foreign keys."""
        return (self.persons, self.addresses, self.debts, self.phones, self.members)

    @property
    def updates(self) -> tuple[TableRows, ...]:
        return (self.person_updates, self.address_updates, self.debt_updates, self.phone_updates)

    @property
    def rows_to_write(self) -> int:
        return sum(len(table.rows) for table in (*self.inserts, *self.updates))


def _empty_plan() -> Plan:
    return Plan(
        persons=TableRows("persons", PERSON_COLUMNS),
        addresses=TableRows("addresses", ADDRESS_COLUMNS),
        debts=TableRows("debts", DEBT_COLUMNS),
        phones=TableRows("phones", PHONE_COLUMNS),
        members=TableRows("call_list_members", MEMBER_COLUMNS),
        person_updates=TableRows("persons", PERSON_UPDATE_COLUMNS),
        address_updates=TableRows("addresses", ADDRESS_UPDATE_COLUMNS),
        debt_updates=TableRows("debts", DEBT_UPDATE_COLUMNS),
        phone_updates=TableRows("phones", PHONE_UPDATE_COLUMNS),
    )


def new_counts(people: Mapping[str, PersonDraft], existing: Existing) -> tuple[int, int]:
    """How many persons and debts an import will create: the ids the caller must allocate."""
    persons = sum(1 for ref in people if ref not in existing.persons)
    debts = sum(
        1 for draft in people.values() for debt in draft.debts if debt.account_ref not in existing.debts
    )
    return persons, debts


class _Planner:
    def __init__(
        self,
        existing: Existing,
        client_id: int,
        list_id: int,
        hasher: IdentifierHasher,
        now: dt.datetime,
    ) -> None:
        self.existing = existing
        self.client_id = client_id
        self.list_id = list_id
        self.hasher = hasher
        self.now = now
        self.plan = _empty_plan()

    def _hash(self, salt: str, kind: IdentifierKind, value: str | None) -> str | None:
        return None if value is None else self.hasher.hash(salt, kind, value)

    def new_person(self, person_id: int, draft: PersonDraft) -> None:
        person = draft.person
        salt = self.hasher.new_salt()
        self.plan.persons.rows.append(
            (
                person_id,
                self.client_id,
                person.person_ref,
                person.first_name,
                person.last_name,
                person.email,
                salt,
                self._hash(salt, IdentifierKind.DATE_OF_BIRTH, person.date_of_birth),
                self._hash(salt, IdentifierKind.SSN_LAST4, person.ssn_last4),
                [],
                self.now,
                self.now,
            )
        )
        if draft.address is not None:
            self._add_address(person_id, draft.address)
        for phone in draft.phones.values():
            self._add_phone(person_id, phone)

    def known_person(self, known: ExistingPerson, draft: PersonDraft) -> None:
        person = draft.person
        salt = known.identifier_salt
        wanted = (
            person.first_name,
            person.last_name,
            person.email or known.email,
            self._hash(salt, IdentifierKind.DATE_OF_BIRTH, person.date_of_birth) or known.date_of_birth_hash,
            self._hash(salt, IdentifierKind.SSN_LAST4, person.ssn_last4) or known.ssn_last4_hash,
        )
        if wanted != (
            known.first_name,
            known.last_name,
            known.email,
            known.date_of_birth_hash,
            known.ssn_last4_hash,
        ):
            self.plan.person_updates.rows.append((known.id, *wanted, self.now))
        current = self.existing.addresses.get(known.id)
        if draft.address is not None and (current is None or current.fields != draft.address):
            if current is not None:
                self.plan.address_updates.rows.append((current.id, False))
            self._add_address(known.id, draft.address)
        phones = self.existing.phones.get(known.id, {})
        for phone in draft.phones.values():
            stored = phones.get(phone.number)
            if stored is None:
                self._add_phone(known.id, phone)
            else:
                self._update_phone(stored, phone)

    def _add_address(self, person_id: int, address: AddressFields) -> None:
        self.plan.addresses.rows.append((person_id, *address, True, "import", self.now))

    def _add_phone(self, person_id: int, phone: PhoneEntry) -> None:
        self.plan.phones.rows.append(
            (
                person_id,
                phone.number,
                phone.type,
                phone.type_source,
                "import",
                phone.position,
                PhoneStatus.ACTIVE,
                phone.consent_at,
                self.now,
            )
        )

    def _update_phone(self, stored: ExistingPhone, phone: PhoneEntry) -> None:
        phone_type, type_source = stored.type, stored.type_source
        # What the file says overrides a type guessed from the number, never one an agent set.
        if phone.type_source == "import" and stored.type_source != "agent":
            phone_type, type_source = phone.type, "import"
        consent = phone.consent_at or stored.consent_given_at
        if (phone_type, type_source, consent) != (stored.type, stored.type_source, stored.consent_given_at):
            self.plan.phone_updates.rows.append((stored.id, phone_type, type_source, consent))

    def debt(self, person_id: int, debt: DebtFields, new_id: int | None) -> int:
        """Plan one debt row; the debt's id."""
        stored = self.existing.debts.get(debt.account_ref)
        if stored is None:
            assert new_id is not None
            self.plan.debts.rows.append(
                (new_id, self.client_id, person_id, *debt, DebtStatus.OPEN, self.now, self.now)
            )
            debt_id = new_id
        elif stored.person_id != person_id or stored.fields != debt:
            self.plan.debt_updates.rows.append((stored.id, person_id, *debt[1:], self.now))
            debt_id = stored.id
        else:
            self.plan.debts_unchanged += 1
            debt_id = stored.id
        if debt_id not in self.existing.list_members:
            self.plan.members.rows.append((self.list_id, debt_id))
        return debt_id


def plan_chunks(
    people: Mapping[str, PersonDraft],
    existing: Existing,
    *,
    client_id: int,
    list_id: int,
    person_ids: Sequence[int],
    debt_ids: Sequence[int],
    hasher: IdentifierHasher,
    now: dt.datetime,
    chunk_people: int,
) -> Iterator[Plan]:
    """`plan_import` a chunk of `chunk_people` people at a time, so that writing can start early.

    Each plan's inserts only refer to rows inserted by it or by an earlier plan, or to rows that
    exist already.
    """
    planner = _Planner(existing, client_id, list_id, hasher, now)
    fresh_persons = iter(person_ids)
    fresh_debts = iter(debt_ids)
    for ref, draft in people.items():
        known = existing.persons.get(ref)
        if known is None:
            person_id = next(fresh_persons)
            planner.new_person(person_id, draft)
        else:
            person_id = known.id
            planner.known_person(known, draft)
        for debt in draft.debts:
            new_id = None if debt.account_ref in existing.debts else next(fresh_debts)
            planner.debt(person_id, debt, new_id)
        planner.plan.people += 1
        if planner.plan.people == chunk_people:
            yield planner.plan
            planner.plan = _empty_plan()
    if planner.plan.people:
        yield planner.plan


def plan_import(
    people: Mapping[str, PersonDraft],
    existing: Existing,
    *,
    client_id: int,
    list_id: int,
    person_ids: Sequence[int],
    debt_ids: Sequence[int],
    hasher: IdentifierHasher,
    now: dt.datetime,
) -> Plan:
    """Every insert and update that brings the database in line with the file's people.

    `person_ids` and `debt_ids` are fresh ids, as many as `new_counts` said.
    """
    whole = plan_chunks(
        people,
        existing,
        client_id=client_id,
        list_id=list_id,
        person_ids=person_ids,
        debt_ids=debt_ids,
        hasher=hasher,
        now=now,
        chunk_people=len(people),
    )
    return next(whole, None) or _empty_plan()


def combined(plans: Iterable[Plan]) -> Plan:
    """One plan with the rows of all of them, in order."""
    total = _empty_plan()
    for plan in plans:
        for mine, theirs in zip(
            (*total.inserts, *total.updates), (*plan.inserts, *plan.updates), strict=True
        ):
            mine.rows.extend(theirs.rows)
        total.debts_unchanged += plan.debts_unchanged
        total.people += plan.people
    return total
