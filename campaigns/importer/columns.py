"""The columns of the call-list CSV (see the call-list CSV contract) and reading its header."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PHONE_SLOTS = (1, 2, 3)

COLUMNS: tuple[str, ...] = (
    "person_ref",
    "account_ref",
    "first_name",
    "last_name",
    "date_of_birth",
    "ssn_last4",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
    *(f"phone{slot}" for slot in PHONE_SLOTS),
    *(f"phone{slot}_type" for slot in PHONE_SLOTS),
    *(f"phone{slot}_consent_at" for slot in PHONE_SLOTS),
    "email",
    "original_creditor",
    "debt_kind",
    "student_loan_account",
    "principal",
    "interest",
    "fees",
    "currency",
    "placed_on",
    "charged_off_on",
    "last_payment_on",
    "statute_of_limitations_on",
    "last_payment_amount",
)
KNOWN = frozenset(COLUMNS)
REQUIRED: tuple[str, ...] = ("person_ref", "account_ref", "first_name", "last_name", "phone1", "principal")

# Widths of the database columns the values end up in; longer values are rejected, not cut.
MAX_LENGTHS: Mapping[str, int] = {
    "person_ref": 100,
    "account_ref": 100,
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "state": 50,
    "postal_code": 20,
    "original_creditor": 200,
    "student_loan_account": 100,
}


class HeaderError(ValueError):
    """The file cannot be read at all: its header is missing, unknown or incomplete."""


def _clean(name: str) -> str:
    return name.strip().lower()


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """`old=new` pairs (from --map) as a dict of cleaned names."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise HeaderError(f"--map {pair!r}: expected old=new")
        if _clean(new) not in KNOWN:
            raise HeaderError(f"--map {pair!r}: {new.strip()!r} is not a column of the call-list CSV")
        mapping[_clean(old)] = _clean(new)
    return mapping


def resolve_header(header: Sequence[str], mapping: Mapping[str, str]) -> tuple[str, ...]:
    """The contract column for each position of the header, after applying `mapping`.

    Every problem is reported at once: unknown names, columns given twice, required columns missing.
    """
    names = tuple(mapping.get(_clean(name), _clean(name)) for name in header)
    problems: list[str] = []
    unknown = [raw.strip() for raw, name in zip(header, names, strict=True) if name not in KNOWN]
    if unknown:
        problems.append(f"unknown columns: {', '.join(unknown)} (map them with --map old=new)")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"columns given more than once: {', '.join(repeated)}")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        problems.append(f"required columns missing: {', '.join(missing)}")
    if problems:
        raise HeaderError("; ".join(problems))
    return names
