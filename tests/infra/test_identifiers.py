from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.identifiers import (
    IdentifierKind,
    KeyedHasher,
    identifier_hash,
    new_salt,
    normalise_date_of_birth,
    normalise_ssn_last4,
    verify,
)

SECRET = "installation-secret"


def test_a_hash_is_64_hex_characters_and_salts_are_32() -> None:
    salt = new_salt()
    digest = identifier_hash(SECRET, salt, IdentifierKind.DATE_OF_BIRTH, "1980-04-28")
    assert len(salt) == 32
    assert len(digest) == 64
    int(digest, 16)


@pytest.mark.parametrize(
    ("kind", "stored_value", "candidate", "expected"),
    [
        (IdentifierKind.DATE_OF_BIRTH, "1980-04-28", "1980-04-28", True),
        (IdentifierKind.DATE_OF_BIRTH, "1980-04-28", dt.date(1980, 4, 28), True),
        (IdentifierKind.DATE_OF_BIRTH, "1980-04-28", " 1980-04-28 ", True),
        (IdentifierKind.DATE_OF_BIRTH, "1980-04-28", "1980-04-29", False),
        (IdentifierKind.DATE_OF_BIRTH, "1980-04-28", "04/28/1980", False),
        (IdentifierKind.DATE_OF_BIRTH, "1980-04-28", "not a date", False),
        (IdentifierKind.SSN_LAST4, "0042", "0042", True),
        (IdentifierKind.SSN_LAST4, "0042", "00-42", True),
        (IdentifierKind.SSN_LAST4, "0042", "042", False),
        (IdentifierKind.SSN_LAST4, "0042", "0043", False),
        (IdentifierKind.SSN_LAST4, "0042", dt.date(2000, 1, 1), False),
    ],
)
def test_verify(kind: IdentifierKind, stored_value: str, candidate: str | dt.date, expected: bool) -> None:
    salt = new_salt()
    stored = identifier_hash(SECRET, salt, kind, stored_value)
    assert verify(SECRET, salt, kind, candidate, stored) is expected


def test_salt_secret_and_kind_all_change_the_hash() -> None:
    salt = new_salt()
    base = identifier_hash(SECRET, salt, IdentifierKind.SSN_LAST4, "1234")
    assert identifier_hash(SECRET, new_salt(), IdentifierKind.SSN_LAST4, "1234") != base
    assert identifier_hash("another secret", salt, IdentifierKind.SSN_LAST4, "1234") != base
    assert identifier_hash(SECRET, salt, IdentifierKind.DATE_OF_BIRTH, "2012-03-04") != identifier_hash(
        SECRET, salt, IdentifierKind.SSN_LAST4, "1234"
    )


def test_a_person_without_the_identifier_never_verifies() -> None:
    assert not verify(SECRET, new_salt(), IdentifierKind.SSN_LAST4, "1234", None)


def test_the_wrong_secret_does_not_verify() -> None:
    salt = new_salt()
    stored = identifier_hash(SECRET, salt, IdentifierKind.SSN_LAST4, "1234")
    assert not verify("wrong", salt, IdentifierKind.SSN_LAST4, "1234", stored)


@pytest.mark.parametrize("text", ["19800428", "1980-4-28", "1980-02-30", ""])
def test_dates_of_birth_must_be_iso(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the fault
        normalise_date_of_birth(text)


@pytest.mark.parametrize("text", ["123", "12345", "12a4", "١٢٣٤"])
def test_ssn_endings_must_be_four_ascii_digits(text: str) -> None:
    with pytest.raises(ValueError, match="last four digits"):
        normalise_ssn_last4(text)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31)), st.dates())
def test_only_the_same_date_verifies(stored: dt.date, candidate: dt.date) -> None:
    salt = "00" * 16
    digest = identifier_hash(SECRET, salt, IdentifierKind.DATE_OF_BIRTH, stored)
    assert verify(SECRET, salt, IdentifierKind.DATE_OF_BIRTH, candidate, digest) is (stored == candidate)


def test_the_stored_form_is_pinned() -> None:
    """Hashes already in databases must keep verifying: this value was stored by earlier releases."""
    salt = "0123456789abcdef0123456789abcdef"
    expected = "06a9b237f7231645d063a6ff6ca82219590029f8e18a5f37ddac5a84c0a1a2b9"
    assert identifier_hash(SECRET, salt, IdentifierKind.DATE_OF_BIRTH, " 1980-04-28 ") == expected
    assert KeyedHasher(SECRET).hash(salt, IdentifierKind.DATE_OF_BIRTH, "1980-04-28") == expected
    assert (
        identifier_hash(SECRET, salt, IdentifierKind.SSN_LAST4, "00-42")
        == "8b74d917ce9f38b2daec225b9fc63ffd6389f6fce89e2fb2d87dca0fb07a3990"
    )


@given(
    salt=st.text(min_size=1, max_size=40),
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31)),
    ssn=st.from_regex(r"\A[0-9]{4}\Z"),
)
def test_a_keyed_hasher_hashes_like_identifier_hash(salt: str, birth: dt.date, ssn: str) -> None:
    hasher = KeyedHasher(SECRET)
    for kind, value in ((IdentifierKind.DATE_OF_BIRTH, birth.isoformat()), (IdentifierKind.SSN_LAST4, ssn)):
        assert hasher.hash(salt, kind, value) == identifier_hash(SECRET, salt, kind, value)


def test_a_keyed_hasher_refuses_what_cannot_be_normalised() -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        KeyedHasher(SECRET).hash(new_salt(), IdentifierKind.DATE_OF_BIRTH, "1980-4-28")
