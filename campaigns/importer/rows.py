"""Validating one row of a placement file: every problem of the row, or the values it carries.

Pure: no I/O. The phone normaliser is passed in (it only caches).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import phonenumbers

from campaigns.importer.columns import MAX_LENGTHS, PHONE_SLOTS, REQUIRED
from campaigns.importer.phones import PhoneNormaliser
from campaigns.models import DebtKind, PhoneType
from infra.identifiers import normalise_ssn_last4
from infra.money import exponent

# USPS codes: states, DC, territories, freely associated states and military post offices.
_USPS_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC"
    " ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI UM FM MH PW AA AE AP"
)
US_STATES = frozenset(_USPS_CODES.split(" "))
US_ZIP = re.compile(r"[0-9]{5}(?:-[0-9]{4})?")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)
ROW_COLUMN = "(row)"  # the column named in problems that concern the whole row


class RejectCode(enum.StrEnum):
    REQUIRED = "required"
    TOO_LONG = "too_long"
    FIELD_COUNT = "field_count"
    INVALID_PHONE = "invalid_phone"
    INVALID_PHONE_TYPE = "invalid_phone_type"
    WITHOUT_PHONE = "without_phone"
    INVALID_TIMESTAMP = "invalid_timestamp"
    INVALID_DATE = "invalid_date"
    INVALID_AMOUNT = "invalid_amount"
    NEGATIVE_AMOUNT = "negative_amount"
    TOO_MANY_DECIMALS = "too_many_decimals"
    INVALID_STATE = "invalid_state"
    INVALID_POSTAL_CODE = "invalid_postal_code"
    INVALID_COUNTRY = "invalid_country"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_DEBT_KIND = "invalid_debt_kind"
    INVALID_EMAIL = "invalid_email"
    INVALID_SSN = "invalid_ssn"
    DUPLICATE_ACCOUNT = "duplicate_account"
    PERSON_CONFLICT = "person_conflict"


class Problem(NamedTuple):
    line: int
    column: str
    code: RejectCode
    reason: str


class PhoneEntry(NamedTuple):
    number: str  # E.164
    type: PhoneType
    type_source: str  # "import": the file said so; "number": derived from the number
    position: int
    consent_at: dt.datetime | None


class PersonFields(NamedTuple):
    person_ref: str
    first_name: str
    last_name: str
    date_of_birth: str | None  # YYYY-MM-DD, hashed before it is stored
    ssn_last4: str | None  # hashed before it is stored
    email: str | None


class AddressFields(NamedTuple):
    line1: str | None
    line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str


class DebtFields(NamedTuple):
    account_ref: str
    original_creditor: str | None
    kind: DebtKind
    student_loan_account: str | None
    currency: str
    principal_minor: int
    interest_minor: int
    fees_minor: int
    placed_on: dt.date | None
    charged_off_on: dt.date | None
    last_payment_on: dt.date | None
    last_payment_minor: int | None
    statute_of_limitations_on: dt.date | None


class ValidRow(NamedTuple):
    line: int
    person: PersonFields
    address: AddressFields | None
    phones: tuple[PhoneEntry, ...]
    debt: DebtFields


class RowResult(NamedTuple):
    """What one row said: its values when it is valid, else every problem found in it."""

    line: int
    account_ref: str
    row: ValidRow | None
    problems: tuple[Problem, ...]


class InvalidValueError(Exception):
    def __init__(self, code: RejectCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def parse_date(text: str) -> dt.date:
    # fromisoformat alone would also take 20240131 and week dates; the contract says YYYY-MM-DD.
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise InvalidValueError(RejectCode.INVALID_DATE, f"{text!r} is not a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(RejectCode.INVALID_DATE, f"{text!r} is not a calendar date") from None


def parse_timestamp(text: str) -> dt.datetime:
    """An ISO 8601 timestamp with a UTC offset or Z, or a bare date (midnight UTC)."""
    if len(text) == 10:
        return dt.datetime.combine(parse_date(text), dt.time(), dt.UTC)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(
            RejectCode.INVALID_TIMESTAMP, f"{text!r} is not an ISO 8601 timestamp"
        ) from None
    if value.tzinfo is None:
        # A consent time without a zone could be off by a day; refuse to guess.
        raise InvalidValueError(RejectCode.INVALID_TIMESTAMP, f"{text!r} has no UTC offset (add Z or +HH:MM)")
    return value.astimezone(dt.UTC)


def parse_amount(text: str, currency: str) -> int:
    """A non-negative decimal in minor units, with no more decimals than the currency has."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidValueError(RejectCode.INVALID_AMOUNT, f"{text!r} is not a decimal amount") from None
    if not value.is_finite():
        raise InvalidValueError(RejectCode.INVALID_AMOUNT, f"{text!r} is not a decimal amount")
    if value < 0:
        raise InvalidValueError(RejectCode.NEGATIVE_AMOUNT, f"{text!r} is negative")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        places = exponent(currency)
        raise InvalidValueError(
            RejectCode.TOO_MANY_DECIMALS, f"{text!r} has more than {places} decimals for {currency}"
        )
    return int(scaled)


class _RowReader:
    """Collects the problems of one row while its values are read."""

    def __init__(self, values: dict[str, str], line: int) -> None:
        self.values = values
        self.line = line
        self.problems: list[Problem] = []

    def problem(self, column: str, code: RejectCode, reason: str) -> None:
        self.problems.append(Problem(self.line, column, code, reason))

    def required(self, column: str) -> str:
        """The value of a required column; empty (with a problem noted) when missing or too long."""
        value = self.text(column)
        if value is None:
            if not self.values.get(column, ""):
                self.problem(column, RejectCode.REQUIRED, f"{column} is required")
            return ""
        return value

    def text(self, column: str) -> str | None:
        value = self.values.get(column, "")
        if not value:
            return None
        limit = MAX_LENGTHS.get(column)
        if limit is not None and len(value) > limit:
            self.problem(column, RejectCode.TOO_LONG, f"longer than {limit} characters")
            return None
        return value

    def date(self, column: str) -> dt.date | None:
        value = self.values.get(column, "")
        if not value:
            return None
        try:
            return parse_date(value)
        except InvalidValueError as invalid:
            self.problem(column, invalid.code, invalid.reason)
            return None

    def amount(self, column: str, currency: str) -> int:
        """An amount column, 0 when empty (a problem is noted when the column is required)."""
        value = self.values.get(column, "")
        if not value and column in REQUIRED:
            self.problem(column, RejectCode.REQUIRED, f"{column} is required")
        return self.optional_amount(column, currency) or 0

    def optional_amount(self, column: str, currency: str) -> int | None:
        value = self.values.get(column, "")
        if not value:
            return None
        try:
            return parse_amount(value, currency)
        except InvalidValueError as invalid:
            self.problem(column, invalid.code, invalid.reason)
            return None

    def choice(self, column: str, allowed: frozenset[str], code: RejectCode, what: str) -> str | None:
        value = self.values.get(column, "")
        if not value:
            return None
        if value.upper() not in allowed:
            self.problem(column, code, f"{value!r} is not {what}")
            return None
        return value.upper()


def _read_phones(reader: _RowReader, region: str, normaliser: PhoneNormaliser) -> tuple[PhoneEntry, ...]:
    phones: dict[str, PhoneEntry] = {}
    for slot in PHONE_SLOTS:
        column = f"phone{slot}"
        raw = reader.required(column) if slot == 1 else reader.text(column)
        type_text = reader.values.get(f"{column}_type", "")
        consent_text = reader.values.get(f"{column}_consent_at", "")
        phone_type: PhoneType | None = None
        if type_text:
            try:
                phone_type = PhoneType(type_text.lower())
            except ValueError:
                allowed = ", ".join(member.value for member in PhoneType)
                reader.problem(
                    f"{column}_type", RejectCode.INVALID_PHONE_TYPE, f"{type_text!r} is not one of {allowed}"
                )
        consent_at: dt.datetime | None = None
        if consent_text:
            try:
                consent_at = parse_timestamp(consent_text)
            except InvalidValueError as invalid:
                reader.problem(f"{column}_consent_at", invalid.code, invalid.reason)
        if not raw:
            for extra, given in ((f"{column}_type", type_text), (f"{column}_consent_at", consent_text)):
                if given and slot != 1:
                    reader.problem(extra, RejectCode.WITHOUT_PHONE, f"given but {column} is empty")
            continue
        normalised = normaliser.normalise(raw, region)
        if normalised is None:
            reader.problem(
                column, RejectCode.INVALID_PHONE, f"{raw!r} is not a valid phone number for {region}"
            )
            continue
        if normalised.e164 in phones:
            continue  # the same number twice in one row: one phone
        if phone_type is None:
            entry = PhoneEntry(normalised.e164, normalised.type, "number", slot, consent_at)
        else:
            entry = PhoneEntry(normalised.e164, phone_type, "import", slot, consent_at)
        phones[normalised.e164] = entry
    return tuple(phones.values())


def _read_address(reader: _RowReader, country: str) -> AddressFields | None:
    line1 = reader.text("address_line1")
    line2 = reader.text("address_line2")
    city = reader.text("city")
    state = reader.text("state")
    postal_code = reader.text("postal_code")
    if country == "US":
        if state is not None and state.upper() not in US_STATES:
            reader.problem(
                "state", RejectCode.INVALID_STATE, f"{state!r} is not a US state or territory code"
            )
        state = state.upper() if state is not None else None
        if postal_code is not None and not US_ZIP.fullmatch(postal_code):
            reader.problem(
                "postal_code", RejectCode.INVALID_POSTAL_CODE, f"{postal_code!r} is not a ZIP or ZIP+4"
            )
    if line1 is None and line2 is None and city is None and state is None and postal_code is None:
        return None
    return AddressFields(line1, line2, city, state, postal_code, country)


def validate_row(
    fields: Sequence[str], columns: Sequence[str], line: int, normaliser: PhoneNormaliser
) -> RowResult:
    """Read one data row whose header resolved to `columns`."""
    values = {column: field.strip() for column, field in zip(columns, fields, strict=False)}
    reader = _RowReader(values, line)
    account_ref = values.get("account_ref", "")
    if len(fields) != len(columns):
        reader.problem(
            ROW_COLUMN, RejectCode.FIELD_COUNT, f"{len(fields)} fields, the header has {len(columns)}"
        )
        return RowResult(line, account_ref, None, tuple(reader.problems))

    country = (
        reader.choice("country", COUNTRIES, RejectCode.INVALID_COUNTRY, "an ISO 3166 country code") or "US"
    )
    currency = values.get("currency", "").upper() or "USD"
    if not CURRENCY_CODE.fullmatch(currency):
        reader.problem(
            "currency", RejectCode.INVALID_CURRENCY, f"{values['currency']!r} is not an ISO 4217 code"
        )
        currency = "USD"

    person_ref = reader.required("person_ref")
    checked_account_ref = reader.required("account_ref")
    first_name = reader.required("first_name")
    last_name = reader.required("last_name")
    birth = reader.date("date_of_birth")
    ssn_last4 = reader.text("ssn_last4")
    if ssn_last4 is not None:
        try:
            ssn_last4 = normalise_ssn_last4(ssn_last4)
        except ValueError:
            reader.problem("ssn_last4", RejectCode.INVALID_SSN, "not four digits")
    email = reader.text("email")
    if email is not None and not EMAIL.fullmatch(email):
        reader.problem("email", RejectCode.INVALID_EMAIL, f"{email!r} is not an e-mail address")
    address = _read_address(reader, country)
    phones = _read_phones(reader, country, normaliser)

    kind_text = values.get("debt_kind", "")
    kind = DebtKind.OTHER
    if kind_text:
        try:
            kind = DebtKind(kind_text.lower())
        except ValueError:
            allowed = ", ".join(member.value for member in DebtKind)
            reader.problem(
                "debt_kind", RejectCode.INVALID_DEBT_KIND, f"{kind_text!r} is not one of {allowed}"
            )
    original_creditor = reader.text("original_creditor")
    student_loan_account = reader.text("student_loan_account")
    principal = reader.amount("principal", currency)
    interest = reader.amount("interest", currency)
    fees = reader.amount("fees", currency)
    last_payment = reader.optional_amount("last_payment_amount", currency)
    placed_on = reader.date("placed_on")
    charged_off_on = reader.date("charged_off_on")
    last_payment_on = reader.date("last_payment_on")
    statute_on = reader.date("statute_of_limitations_on")

    if reader.problems:
        return RowResult(line, account_ref, None, tuple(reader.problems))
    person = PersonFields(
        person_ref, first_name, last_name, birth.isoformat() if birth else None, ssn_last4, email
    )
    debt = DebtFields(
        checked_account_ref,
        original_creditor,
        kind,
        student_loan_account,
        currency,
        principal,
        interest,
        fees,
        placed_on,
        charged_off_on,
        last_payment_on,
        last_payment,
        statute_on,
    )
    return RowResult(line, account_ref, ValidRow(line, person, address, phones, debt), ())
