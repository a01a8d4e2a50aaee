"""Right-party verification identifiers, kept only as keyed salted hashes.

A date of birth or the last four digits of an SSN is never stored. What is stored is
HMAC-SHA256(installation secret, kind | per-person salt | normalised value): the salt makes equal
values of two people hash differently, and the key (the installation secret, not in the database)
means that a stolen database alone cannot be brute-forced over the small value spaces (about
36,500 birth dates, 10,000 SSN endings). `verify` answers "did the caller say the right thing?".
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import hmac
import secrets

SALT_BYTES = 16  # 32 hex characters, the width of persons.identifier_salt


class IdentifierKind(enum.StrEnum):
    DATE_OF_BIRTH = "date_of_birth"
    SSN_LAST4 = "ssn_last4"


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def normalise_date_of_birth(value: str | dt.date) -> str:
    """ISO YYYY-MM-DD; a string must already be in that form (no guessing of day/month order)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return _normalise_date_text(value)


# A bulk import hashes a date of birth per person over about 36,500 distinct values: parsing
# each text once leaves the HMAC itself as the only per-person cost.
@functools.lru_cache(maxsize=65_536)
def _normalise_date_text(value: str) -> str:
    text = value.strip()
    if len(text) != 10:
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD")
    return dt.date.fromisoformat(text).isoformat()


def normalise_ssn_last4(value: str) -> str:
    """Exactly four digits; spaces and dashes around them are ignored."""
    digits = value.strip().replace("-", "").replace(" ", "")
    if len(digits) != 4 or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{value!r} is not the last four digits of an SSN")
    return digits


def _normalise(kind: IdentifierKind, value: str | dt.date) -> str:
    if kind is IdentifierKind.DATE_OF_BIRTH:
        return normalise_date_of_birth(value)
    if isinstance(value, dt.date):
        raise TypeError("an SSN ending is text, not a date")
    return normalise_ssn_last4(value)


def _message(salt: str, kind: IdentifierKind, value: str | dt.date) -> bytes:
    # The kind is part of the message so that a DOB hash can never match an SSN hash.
    return f"{kind.value}|{salt}|{_normalise(kind, value)}".encode()


def identifier_hash(secret: str, salt: str, kind: IdentifierKind, value: str | dt.date) -> str:
    """The stored form of one identifier: 64 hex characters."""
    return hmac.digest(secret.encode(), _message(salt, kind, value), hashlib.sha256).hex()


class KeyedHasher:
    """`identifier_hash` under one secret, for hashing many identifiers in a row.

    The HMAC key is prepared once and copied for each value, which takes about a third of the
    time of keying a fresh HMAC per value; the hashes are the same.
    """

    def __init__(self, secret: str) -> None:
        self._keyed = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def hash(self, salt: str, kind: IdentifierKind, value: str | dt.date) -> str:
        mac = self._keyed.copy()
        mac.update(_message(salt, kind, value))
        return mac.hexdigest()


def verify(
    secret: str, salt: str, kind: IdentifierKind, candidate: str | dt.date, stored: str | None
) -> bool:
    """Whether `candidate` (what the caller said) is the identifier behind `stored`.

    A candidate that cannot be normalised, or a person without that identifier, never verifies.
    """
    if stored is None:
        return False
    try:
        expected = identifier_hash(secret, salt, kind, candidate)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, stored)
