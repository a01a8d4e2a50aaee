from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from campaigns.importer.reading import read_file
from campaigns.importer.rows import RejectCode
from campaigns.sample import Manifest, places_by_zone, write_portfolio

ZONES = {"eastern", "central", "mountain", "arizona", "pacific", "alaska", "hawaii", "atlantic", "chamorro"}


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_same_seed_gives_the_same_file(tmp_path: Path) -> None:
    first = write_portfolio(tmp_path / "a.csv", people=40, seed=5, dirty_rate=0.2)
    again = write_portfolio(tmp_path / "b.csv", people=40, seed=5, dirty_rate=0.2)
    other = write_portfolio(tmp_path / "c.csv", people=40, seed=6, dirty_rate=0.2)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert first == again
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()
    assert Manifest.from_json(first.to_json()) == first
    assert other.people == 40


def test_people_live_in_every_zone_at_real_places(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    write_portfolio(path, people=300, seed=1, dirty_rate=0.0)
    rows = rows_of(path)
    zone_of_zip = {place.zip_code: place for places in places_by_zone().values() for place in places}
    zone_of_area_code = {
        code: place.zone
        for places in places_by_zone().values()
        for place in places
        for code in place.area_codes
    }
    places = [zone_of_zip[row["postal_code"][:5]] for row in rows]
    assert {place.zone for place in places} == ZONES
    assert all(
        (row["state"], row["city"]) == (place.state, place.city)
        for row, place in zip(rows, places, strict=True)
    )
    moved = {
        row["person_ref"]
        for row, place in zip(rows, places, strict=True)
        if zone_of_area_code[row["phone1"].replace("+1", "").lstrip("1 (")[:3]] != place.zone
    }
    people = {row["person_ref"] for row in rows}
    assert 0 < len(moved) < len(people) // 4


def test_the_portfolio_looks_like_a_placement(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    manifest = write_portfolio(path, people=300, seed=2, dirty_rate=0.0)
    rows = rows_of(path)
    assert manifest.rows == len(rows)
    assert manifest.dirty == ()
    debts_per_person = Counter(row["person_ref"] for row in rows)
    assert max(debts_per_person.values()) >= 3
    assert len({row["account_ref"] for row in rows}) == len(rows)
    kinds = Counter(row["debt_kind"] for row in rows)
    assert {"credit_card", "medical", "student_loan"} <= set(kinds)
    loans: dict[str, set[str]] = {}
    for row in rows:
        if row["debt_kind"] == "student_loan":
            loans.setdefault(row["student_loan_account"], set()).add(row["account_ref"])
    assert loans
    assert all(len(accounts) >= 2 for accounts in loans.values())
    assert any(row["phone1_consent_at"] for row in rows)
    assert any(row["phone3"] for row in rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_manifest_says_exactly_what_the_importer_rejects(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "dirty.csv"
    manifest = write_portfolio(path, people=200, seed=seed, dirty_rate=0.25)
    merger = read_file(path, {}, workers=0)
    assert {(p.line, p.column, p.code.value) for p in merger.problems} == manifest.expected_rejects()
    assert merger.rows_rejected == len(manifest.dirty)
    codes = {code for row in manifest.dirty for _, code in row.problems}
    assert codes == {
        RejectCode.REQUIRED,
        RejectCode.INVALID_PHONE,
        RejectCode.INVALID_DATE,
        RejectCode.NEGATIVE_AMOUNT,
        RejectCode.INVALID_STATE,
        RejectCode.DUPLICATE_ACCOUNT,
        RejectCode.PERSON_CONFLICT,
    }
    assert any(len(row.problems) > 1 for row in manifest.dirty)
