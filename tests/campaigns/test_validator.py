"""The quick path of row validation gives exactly what `validate_row` gives, row for row."""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.importer.columns import COLUMNS, REQUIRED, resolve_header
from campaigns.importer.phones import PhoneNormaliser
from campaigns.importer.rows import validate_row
from campaigns.importer.validator import RowValidator
from campaigns.sample import write_portfolio

# Per column: values that pass (some on an edge), then values that fail.
CANDIDATES: dict[str, tuple[list[str], list[str]]] = {
    "person_ref": (["P1", "P2"], ["", "x" * 101]),
    "account_ref": (["A1", "a" * 100], ["", "a" * 101]),
    "first_name": (["Ada", "ada"], [""]),
    "last_name": (["Byron"], ["", "n" * 101]),
    "date_of_birth": (["", "1980-04-28"], ["1980-02-30", "19800428", "2024-W01-1", "1980-4-28"]),
    "ssn_last4": (["", "0042", "00-42"], ["12a4", "123", "１２３４"]),
    "address_line1": (["", "1 Main St"], ["l" * 201]),
    "address_line2": (["", "Apt 2"], []),
    "city": (["", "Springfield"], []),
    "state": (["", "CA", "ca"], ["XX", "London"]),
    "postal_code": (["", "94105", "94105-1234"], ["9410", "SW1A 1AA"]),
    "country": (["", "US", "us", "CA"], ["GB", "ZZ"]),
    "phone1": (
        ["(415) 555-2671", "1 800 555 0199", "787 555 1234", "+44 20 7946 0000"],
        ["", "n/a", "555-0142"],
    ),
    "phone2": (["", "415.555.2671", "+1 (212) 555-0123"], ["12345"]),
    "phone3": (["", "5235551234", "(415) 555-2671"], ["020 7946 0000"]),
    "phone1_type": (["", "mobile", "Landline"], ["pager"]),
    "phone2_type": (["", "work", "VOIP"], []),
    "phone3_type": (["", "unknown"], []),
    "phone1_consent_at": (
        ["", "2022-01-01", "2022-03-04T05:06:07-05:00"],
        ["2022-01-01T10:00:00", "now", "2022-02-30"],
    ),
    "phone2_consent_at": (["", "2023-05-06T07:08:09Z"], []),
    "phone3_consent_at": (["", "2023-05-06"], []),
    "email": (["", "ada@example.com"], ["ada at example"]),
    "original_creditor": (["", "Bank"], []),
    "debt_kind": (["", "medical", "Auto"], ["mortgage"]),
    "student_loan_account": (["", "SL1"], []),
    "principal": (
        ["120.50", "0", "1.500", "1e2", "12.", ".5", "1234567890123456.5", "007.10"],
        ["", "1.005", "-1", "NaN", "-0.001"],
    ),
    "interest": (["", "0.1", "7"], ["ten"]),
    "fees": (["", "3.25"], ["Infinity"]),
    "currency": (["", "USD", "usd", "JPY", "KWD"], ["dollars"]),
    "placed_on": (["", "2024-01-31"], ["2023-02-30", "yesterday"]),
    "charged_off_on": (["", "2023-12-01"], []),
    "last_payment_on": (["", "2023-11-15"], []),
    "statute_of_limitations_on": (["", "2029-01-01"], []),
    "last_payment_amount": (["", "25", "2.999"], ["-5"]),
}


def both(fields: list[str], columns: tuple[str, ...]) -> None:
    quick = RowValidator(columns, PhoneNormaliser()).validate(fields, 9)
    assert quick == validate_row(fields, columns, 9, PhoneNormaliser())


@st.composite
def rows(draw: st.DrawFn) -> tuple[list[str], tuple[str, ...]]:
    optional = [column for column in COLUMNS if column not in REQUIRED]
    chosen = draw(st.permutations(optional))[: draw(st.integers(0, len(optional)))]
    columns = tuple(draw(st.permutations([*REQUIRED, *chosen])))
    fields = []
    for column in columns:
        passing, failing = CANDIDATES[column]
        # Mostly passing values, so that many rows are valid and take the quick path.
        value = draw(st.sampled_from(failing if failing and draw(st.integers(0, 59)) == 0 else passing))
        fields.append(draw(st.sampled_from([value, f" {value}", f"{value}\t"])))
    extra = draw(st.sampled_from([0] * 10 + [1, -1]))
    return (fields + ["x"] * extra if extra >= 0 else fields[:extra]), columns


@settings(max_examples=400, deadline=None)
@given(rows())
def test_any_row_is_judged_as_validate_row_judges_it(row: tuple[list[str], tuple[str, ...]]) -> None:
    both(*row)


def test_every_row_of_a_sample_file_is_judged_alike(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.csv"
    write_portfolio(path, people=400, seed=3, dirty_rate=0.25)
    with path.open(encoding="utf-8", newline="") as handle:
        header, *data = list(csv.reader(handle))
    columns = resolve_header(header, {})
    validator = RowValidator(columns, PhoneNormaliser())
    normaliser = PhoneNormaliser()
    quick = [validator.validate(fields, line) for line, fields in enumerate(data, start=2)]
    assert quick == [
        validate_row(fields, columns, line, normaliser) for line, fields in enumerate(data, start=2)
    ]
    assert sum(result.row is None for result in quick) > 20  # the dirty rows were there to judge
