from __future__ import annotations

import datetime as dt
import itertools

import pytest

from campaigns.importer.merge import Merger
from campaigns.importer.phones import PhoneNormaliser
from campaigns.importer.plan import (
    NOTHING_EXISTS,
    Existing,
    ExistingAddress,
    ExistingDebt,
    ExistingPerson,
    ExistingPhone,
    Plan,
    combined,
    new_counts,
    plan_chunks,
    plan_import,
)
from campaigns.importer.rows import AddressFields, RejectCode, RowResult, validate_row
from campaigns.models import PhoneType
from infra.identifiers import IdentifierKind

NOW = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
COLUMNS = (
    "person_ref",
    "account_ref",
    "first_name",
    "last_name",
    "date_of_birth",
    "phone1",
    "phone1_type",
    "phone1_consent_at",
    "city",
    "principal",
)


def row(line: int, person: str, account: str, **changes: str) -> RowResult:
    values = {
        "person_ref": person,
        "account_ref": account,
        "first_name": "Ada",
        "last_name": "Byron",
        "date_of_birth": "1980-04-28",
        "phone1": "(415) 555-2671",
        "phone1_type": "",
        "phone1_consent_at": "",
        "city": "Oakland",
        "principal": "10.00",
        **changes,
    }
    return validate_row([values[column] for column in COLUMNS], COLUMNS, line, PhoneNormaliser())


def merged(*results: RowResult) -> Merger:
    merger = Merger()
    merger.add_all(results)
    return merger


class FakeHasher:
    """Deterministic salts; the hash shows its inputs."""

    def __init__(self) -> None:
        self._salts = (f"salt{index}" for index in itertools.count())

    def new_salt(self) -> str:
        return next(self._salts)

    def hash(self, salt: str, kind: IdentifierKind, value: str) -> str:
        return f"{kind.value}:{salt}:{value}"


def test_rows_of_one_person_merge_and_phones_unite() -> None:
    merger = merged(
        row(2, "P1", "A1"),
        row(3, "P1", "A2", phone1="(415) 555-2672", phone1_type="mobile"),
        row(4, "P1", "A3", phone1="415-555-2671", phone1_type="mobile", phone1_consent_at="2022-01-01"),
        row(5, "P2", "A4"),
    )
    assert merger.rows_read == 4
    assert merger.rows_rejected == 0
    assert merger.people_merged == 1
    person = merger.people["P1"]
    assert [debt.account_ref for debt in person.debts] == ["A1", "A2", "A3"]
    first = person.phones["+14155552671"]
    assert (first.type, first.type_source) == (PhoneType.MOBILE, "import")
    assert first.consent_at == dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
    assert set(person.phones) == {"+14155552671", "+14155552672"}


def test_a_later_row_with_a_known_account_ref_is_rejected_even_after_an_invalid_one() -> None:
    merger = merged(row(2, "P1", "A1", phone1="bad"), row(3, "P1", "A1"), row(4, "P2", "A2"))
    assert [(problem.line, problem.column, problem.code) for problem in merger.problems] == [
        (2, "phone1", RejectCode.INVALID_PHONE),
        (3, "account_ref", RejectCode.DUPLICATE_ACCOUNT),
    ]
    assert list(merger.people) == ["P2"]


def test_rows_that_contradict_the_person_are_rejected() -> None:
    merger = merged(
        row(2, "P1", "A1", date_of_birth=""),
        row(3, "P1", "A2", last_name="BYRON", date_of_birth=""),  # case does not matter
        row(4, "P1", "A3", last_name="Lovelace", date_of_birth="1815-12-10"),
        row(5, "P1", "A4"),  # brings the date of birth the first row lacked
        row(6, "P1", "A5", date_of_birth="1981-01-01"),
    )
    assert [(problem.line, problem.column, problem.code) for problem in merger.problems] == [
        (4, "last_name", RejectCode.PERSON_CONFLICT),
        (6, "date_of_birth", RejectCode.PERSON_CONFLICT),
    ]
    assert merger.people["P1"].person.date_of_birth == "1980-04-28"
    assert len(merger.people["P1"].debts) == 3


def plan_for(merger: Merger, existing: Existing) -> tuple[int, int, Plan]:
    persons, debts = new_counts(merger.people, existing)
    plan = plan_import(
        merger.people,
        existing,
        client_id=1,
        list_id=9,
        person_ids=range(100, 100 + persons),
        debt_ids=range(500, 500 + debts),
        hasher=FakeHasher(),
        now=NOW,
    )
    return persons, debts, plan


def test_a_first_import_creates_everything() -> None:
    merger = merged(row(2, "P1", "A1"), row(3, "P1", "A2"))
    persons, debts, plan = plan_for(merger, NOTHING_EXISTS)
    assert (persons, debts) == (1, 2)
    assert plan.persons.rows[0][:3] == (100, 1, "P1")
    assert plan.persons.rows[0][7] == "date_of_birth:salt0:1980-04-28"
    assert [r[0] for r in plan.debts.rows] == [500, 501]
    assert plan.members.rows == [(9, 500), (9, 501)]
    assert len(plan.phones.rows) == 1
    assert len(plan.addresses.rows) == 1


def existing_for(merger: Merger) -> Existing:
    """The database as it is after the merger's file was imported."""
    person = merger.people["P1"].person
    debts = {
        debt.account_ref: ExistingDebt(500 + index, 100, debt)
        for index, debt in enumerate(merger.people["P1"].debts)
    }
    return Existing(
        persons={
            "P1": ExistingPerson(
                100,
                person.first_name,
                person.last_name,
                None,
                "salt0",
                "date_of_birth:salt0:1980-04-28",
                None,
            )
        },
        debts=debts,
        phones={100: {"+14155552671": ExistingPhone(7, PhoneType.UNKNOWN, "number", None)}},
        addresses={100: ExistingAddress(3, AddressFields(None, None, "Oakland", None, None, "US"))},
        list_members=frozenset(debt.id for debt in debts.values()),
    )


def test_importing_the_same_rows_again_plans_nothing() -> None:
    merger = merged(row(2, "P1", "A1"), row(3, "P1", "A2"))
    persons, debts, plan = plan_for(merger, existing_for(merger))
    assert (persons, debts) == (0, 0)
    assert plan.rows_to_write == 0
    assert plan.debts_unchanged == 2


def test_changes_update_and_new_phones_are_added_never_dropped() -> None:
    before = merged(row(2, "P1", "A1"), row(3, "P1", "A2"))
    after = merged(
        row(2, "P1", "A1", principal="11.00", phone1="(415) 555-2673", city="Berkeley"),
        row(3, "P1", "A2", phone1="(415) 555-2671", phone1_type="mobile", phone1_consent_at="2023-05-06"),
    )
    _, _, plan = plan_for(after, existing_for(before))
    assert [r[:2] for r in plan.debt_updates.rows] == [(500, 100)]
    assert [r[1] for r in plan.phones.rows] == ["+14155552673"]
    assert plan.phone_updates.rows == [
        (7, PhoneType.MOBILE, "import", dt.datetime(2023, 5, 6, tzinfo=dt.UTC))
    ]
    assert plan.address_updates.rows == [(3, False)]
    assert [r[3] for r in plan.addresses.rows] == ["Berkeley"]
    assert plan.person_updates.rows == []
    assert plan.debts_unchanged == 1


def test_a_new_date_of_birth_is_hashed_with_the_persons_own_salt() -> None:
    before = merged(row(2, "P1", "A1"))
    _, _, plan = plan_for(merged(row(2, "P1", "A1", date_of_birth="1980-04-29")), existing_for(before))
    assert plan.person_updates.rows == [
        (100, "Ada", "Byron", None, "date_of_birth:salt0:1980-04-29", None, NOW)
    ]


@pytest.mark.parametrize("chunk_people", [1, 2, 3, 4])
def test_planning_in_chunks_plans_the_same_rows_in_the_same_order(chunk_people: int) -> None:
    merger = merged(
        row(2, "P1", "A1", city="Fresno"), row(3, "P2", "A7"), row(4, "P1", "A2"), row(5, "P3", "A8")
    )
    existing = existing_for(merged(row(2, "P1", "A1")))
    persons, debts, whole = plan_for(merger, existing)
    chunks = list(
        plan_chunks(
            merger.people,
            existing,
            client_id=1,
            list_id=9,
            person_ids=range(100, 100 + persons),
            debt_ids=range(500, 500 + debts),
            hasher=FakeHasher(),
            now=NOW,
            chunk_people=chunk_people,
        )
    )
    assert [chunk.people for chunk in chunks] == [
        min(chunk_people, 3 - start) for start in range(0, 3, chunk_people)
    ]
    assert combined(chunks) == whole
    assert whole.people == 3
    assert whole.address_updates.rows  # P1 moved
    assert len(whole.debts.rows) == 3
