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


def identifier_hash(secret: str, salt: str, kind: IdentifierKind, value: str | dt.date) -> str:
    """The stored form of one identifier: 64 hex characters."""
    # The kind is part of the message so that a DOB hash can never match an SSN hash.
    message = f"{kind.value}|{salt}|{_normalise(kind, value)}".encode()
    return hmac.digest(secret.encode(), message, hashlib.sha256).hex()


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
