from __future__ import annotations

import datetime as dt

import pytest

from campaigns.importer.columns import COLUMNS, HeaderError, parse_mapping, resolve_header
from campaigns.importer.phones import PhoneNormaliser
from campaigns.importer.rows import PhoneEntry, RejectCode, RowResult, parse_amount, validate_row
from campaigns.models import DebtKind, PhoneType

GOOD = {
    "person_ref": "P1",
    "account_ref": "A1",
    "first_name": "Ada",
    "last_name": "Byron",
    "phone1": "(415) 555-2671",
    "principal": "120.50",
}


def validate(**changes: str) -> RowResult:
    values = {**GOOD, **changes}
    columns = tuple(values)
    return validate_row([values[column] for column in columns], columns, 7, PhoneNormaliser())


def problems(**changes: str) -> set[tuple[str, RejectCode]]:
    return {(problem.column, problem.code) for problem in validate(**changes).problems}


def test_a_minimal_row_is_valid() -> None:
    result = validate()
    assert result.problems == ()
    assert result.row is not None
    assert result.row.line == 7
    assert result.row.debt.principal_minor == 12050
    assert result.row.debt.currency == "USD"
    assert result.row.debt.kind is DebtKind.OTHER
    assert result.row.phones == (PhoneEntry("+14155552671", PhoneType.UNKNOWN, "number", 1, None),)
    assert result.row.address is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"first_name": ""}, {("first_name", RejectCode.REQUIRED)}),
        ({"phone1": " "}, {("phone1", RejectCode.REQUIRED)}),
        ({"principal": ""}, {("principal", RejectCode.REQUIRED)}),
        ({"person_ref": "x" * 101}, {("person_ref", RejectCode.TOO_LONG)}),
        ({"phone1": "555-0142"}, {("phone1", RejectCode.INVALID_PHONE)}),
        ({"phone2": "12345"}, {("phone2", RejectCode.INVALID_PHONE)}),
        ({"phone1_type": "pager"}, {("phone1_type", RejectCode.INVALID_PHONE_TYPE)}),
        ({"phone3_type": "mobile"}, {("phone3_type", RejectCode.WITHOUT_PHONE)}),
        (
            {"phone2_consent_at": "2022-01-01T10:00:00"},
            {
                ("phone2_consent_at", RejectCode.INVALID_TIMESTAMP),
                ("phone2_consent_at", RejectCode.WITHOUT_PHONE),
            },
        ),
        ({"phone1_consent_at": "2022-01-01T10:00:00"}, {("phone1_consent_at", RejectCode.INVALID_TIMESTAMP)}),
        ({"placed_on": "2023-02-30"}, {("placed_on", RejectCode.INVALID_DATE)}),
        ({"placed_on": "20230215"}, {("placed_on", RejectCode.INVALID_DATE)}),
        ({"date_of_birth": "03/15/1980"}, {("date_of_birth", RejectCode.INVALID_DATE)}),
        ({"principal": "-1.00"}, {("principal", RejectCode.NEGATIVE_AMOUNT)}),
        ({"interest": "1.005"}, {("interest", RejectCode.TOO_MANY_DECIMALS)}),
        ({"fees": "ten"}, {("fees", RejectCode.INVALID_AMOUNT)}),
        ({"principal": "NaN"}, {("principal", RejectCode.INVALID_AMOUNT)}),
        ({"last_payment_amount": "-5"}, {("last_payment_amount", RejectCode.NEGATIVE_AMOUNT)}),
        ({"state": "XX"}, {("state", RejectCode.INVALID_STATE)}),
        ({"postal_code": "9410"}, {("postal_code", RejectCode.INVALID_POSTAL_CODE)}),
        ({"country": "ZZ"}, {("country", RejectCode.INVALID_COUNTRY)}),
        ({"currency": "dollars"}, {("currency", RejectCode.INVALID_CURRENCY)}),
        ({"debt_kind": "mortgage"}, {("debt_kind", RejectCode.INVALID_DEBT_KIND)}),
        ({"email": "ada at example"}, {("email", RejectCode.INVALID_EMAIL)}),
        ({"ssn_last4": "12a4"}, {("ssn_last4", RejectCode.INVALID_SSN)}),
        (
            {"first_name": "", "phone1": "n/a", "placed_on": "yesterday", "state": "Calif"},
            {
                ("first_name", RejectCode.REQUIRED),
                ("phone1", RejectCode.INVALID_PHONE),
                ("placed_on", RejectCode.INVALID_DATE),
                ("state", RejectCode.INVALID_STATE),
            },
        ),
    ],
)
def test_every_problem_of_a_row_is_reported(
    changes: dict[str, str], expected: set[tuple[str, RejectCode]]
) -> None:
    result = validate(**changes)
    assert result.row is None
    assert {(problem.column, problem.code) for problem in result.problems} == expected
    assert all(problem.line == 7 and problem.reason for problem in result.problems)


def test_a_row_with_the_wrong_number_of_fields_is_rejected_whole() -> None:
    result = validate_row(["P1", "A1"], ("person_ref", "account_ref", "first_name"), 3, PhoneNormaliser())
    assert [(problem.column, problem.code) for problem in result.problems] == [
        ("(row)", RejectCode.FIELD_COUNT)
    ]
    assert result.account_ref == "A1"


def test_values_are_read_and_normalised() -> None:
    result = validate(
        phone1="+1 415 555 2671",
        phone1_type="Mobile",
        phone1_consent_at="2022-03-04T05:06:07-05:00",
        phone2="+14155552671",  # the same number again: one phone
        phone3="020 7946 0000",
        country="gb",
        state="London",
        postal_code="SW1A 1AA",
        currency="JPY",
        principal="1200",
        ssn_last4="0042",
        date_of_birth="1980-04-28",
        debt_kind="Medical",
        placed_on="2024-01-31",
    )
    assert result.problems == ()
    assert result.row is not None
    assert result.row.phones == (
        PhoneEntry(
            "+14155552671", PhoneType.MOBILE, "import", 1, dt.datetime(2022, 3, 4, 10, 6, 7, tzinfo=dt.UTC)
        ),
        PhoneEntry("+442079460000", PhoneType.LANDLINE, "number", 3, None),
    )
    assert result.row.address is not None
    assert result.row.address.country == "GB"
    assert result.row.address.state == "London"
    assert result.row.debt.principal_minor == 1200
    assert result.row.debt.kind is DebtKind.MEDICAL
    assert result.row.debt.placed_on == dt.date(2024, 1, 31)
    assert result.row.person.date_of_birth == "1980-04-28"


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("0", "USD", 0), ("12.5", "USD", 1250), ("12.50", "USD", 1250), ("7", "JPY", 7), ("1.234", "KWD", 1234)],
)
def test_amounts_in_minor_units(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


def test_the_header_maps_and_checks_names() -> None:
    header = ["\ufeffPerson_Ref ", "Acct", "first_name", "last_name", "phone1", "principal"]
    with pytest.raises(HeaderError, match="unknown columns: Acct"):
        resolve_header([name.lstrip("\ufeff") for name in header], {})
    columns = resolve_header(
        ["Person_Ref ", "Acct", "first_name", "last_name", "phone1", "principal"],
        parse_mapping(["acct=account_ref"]),
    )
    assert columns == ("person_ref", "account_ref", "first_name", "last_name", "phone1", "principal")


def test_header_problems_are_reported_together() -> None:
    with pytest.raises(HeaderError) as raised:
        resolve_header(["person_ref", "person_ref", "surname", "phone1"], {})
    message = str(raised.value)
    assert "unknown columns: surname" in message
    assert "more than once: person_ref" in message
    assert "required columns missing: account_ref, first_name, last_name, principal" in message


@pytest.mark.parametrize("pair", ["account_ref", "x=", "acct=accountref"])
def test_bad_mappings_are_refused(pair: str) -> None:
    with pytest.raises(HeaderError, match="--map"):
        parse_mapping([pair])


def test_every_contract_column_is_known() -> None:
    assert resolve_header(list(COLUMNS), {}) == COLUMNS
