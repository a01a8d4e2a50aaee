"""Rows of one file, in file order, into people with their debts; the rules that span rows.

* An account_ref seen on an earlier row (valid or not) rejects the later row: which of the two
  the client meant cannot be known, so the first one stands.
* Rows sharing a person_ref are one person. The first accepted row sets the name; a later row
  whose name, date of birth or SSN ending contradicts what is already known is rejected.
  An empty date of birth or SSN ending contradicts nothing.
* A person's phones are the union of the phones on their rows; address and e-mail come from the
  first row that has them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from campaigns.importer.rows import (
    AddressFields,
    DebtFields,
    PersonFields,
    PhoneEntry,
    Problem,
    RejectCode,
    RowResult,
    ValidRow,
)


@dataclasses.dataclass
class PersonDraft:
    """One person of the file, as built up from their accepted rows."""

    person: PersonFields
    address: AddressFields | None
    phones: dict[str, PhoneEntry]
    debts: list[DebtFields]


def _merged_phone(known: PhoneEntry, seen: PhoneEntry) -> PhoneEntry:
    """The first sighting of a number, completed with what a later row adds."""
    if known.type_source == "number" and seen.type_source == "import":
        known = known._replace(type=seen.type, type_source="import")
    if known.consent_at is None and seen.consent_at is not None:
        known = known._replace(consent_at=seen.consent_at)
    return known


_IDENTITY_COLUMNS = (
    ("first_name", "name"),
    ("last_name", "name"),
    ("date_of_birth", "date of birth"),
    ("ssn_last4", "SSN ending"),
)


def _conflicts(known: PersonFields, row: ValidRow) -> list[Problem]:
    problems = []
    for column, label in _IDENTITY_COLUMNS:
        ours: str | None = getattr(known, column)
        theirs: str | None = getattr(row.person, column)
        if ours is None or theirs is None or ours.casefold() == theirs.casefold():
            continue
        problems.append(
            Problem(
                row.line,
                column,
                RejectCode.PERSON_CONFLICT,
                f"person_ref {known.person_ref!r} has {label} {ours!r} on an earlier row, here {theirs!r}",
            )
        )
    return problems


class Merger:
    """Takes row results in file order; holds the people and every rejected row's problems."""

    def __init__(self) -> None:
        self.people: dict[str, PersonDraft] = {}
        self.problems: list[Problem] = []
        self.rows_read = 0
        self.rows_rejected = 0
        self._accounts: set[str] = set()

    def add_all(self, results: Iterable[RowResult]) -> None:
        for result in results:
            self.add(result)

    def add(self, result: RowResult) -> None:
        self.rows_read += 1
        problems = list(result.problems)
        if result.account_ref:
            if result.account_ref in self._accounts:
                problems.append(
                    Problem(
                        result.line,
                        "account_ref",
                        RejectCode.DUPLICATE_ACCOUNT,
                        f"account_ref {result.account_ref!r} is on an earlier row",
                    )
                )
            self._accounts.add(result.account_ref)
        row = result.row
        draft = None if row is None else self.people.get(row.person.person_ref)
        if row is not None and draft is not None and not problems:
            problems = _conflicts(draft.person, row)
        if problems or row is None:
            self.problems.extend(problems)
            self.rows_rejected += 1
            return
        if draft is None:
            self.people[row.person.person_ref] = PersonDraft(
                row.person, row.address, {phone.number: phone for phone in row.phones}, [row.debt]
            )
            return
        self._merge(draft, row)

    @staticmethod
    def _merge(draft: PersonDraft, row: ValidRow) -> None:
        person, seen = draft.person, row.person
        if (
            (person.date_of_birth is None and seen.date_of_birth is not None)
            or (person.ssn_last4 is None and seen.ssn_last4 is not None)
            or (person.email is None and seen.email is not None)
        ):
            draft.person = person._replace(
                date_of_birth=person.date_of_birth or seen.date_of_birth,
                ssn_last4=person.ssn_last4 or seen.ssn_last4,
                email=person.email or seen.email,
            )
        if draft.address is None:
            draft.address = row.address
        for phone in row.phones:
            known = draft.phones.get(phone.number)
            if known is None:
                draft.phones[phone.number] = phone
            elif known != phone:
                draft.phones[phone.number] = _merged_phone(known, phone)
        draft.debts.append(row.debt)

    @property
    def people_merged(self) -> int:
        """People with more than one debt row in this file."""
        return sum(1 for draft in self.people.values() if len(draft.debts) > 1)
