"""Validating the rows of one file quickly: a quick path for valid rows, `validate_row` for the rest.

Most rows of a placement file are valid and repeat values (a person's phones and dates on each of
their debts, a few thousand distinct dates, a handful of kinds and types). The quick path reads
a row by column position, with every parsed value remembered by its text, and gives up at the
first doubt; `rows.validate_row` then reads the row again and explains every problem. The quick
path accepts only rows `validate_row` accepts, with the same values (`tests/campaigns/
test_validator.py` checks that), so results and the rejects report do not depend on which path
read a row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from campaigns.importer.columns import COLUMNS, MAX_LENGTHS, PHONE_SLOTS
from campaigns.importer.phones import PhoneNormaliser
from campaigns.importer.rows import (
    COUNTRIES,
    CURRENCY_CODE,
    EMAIL,
    US_STATES,
    US_ZIP,
    AddressFields,
    DebtFields,
    InvalidValueError,
    PersonFields,
    PhoneEntry,
    RowResult,
    ValidRow,
    parse_amount,
    parse_date,
    parse_timestamp,
    validate_row,
)
from campaigns.models import DebtKind, PhoneType
from infra.identifiers import normalise_ssn_last4
from infra.money import exponent

# Whole and fractional digits short enough that plain integer arithmetic equals Decimal's answer.
_PLAIN_AMOUNT = re.compile(r"([0-9]{1,15})(?:\.([0-9]{1,10}))?")
_PHONE_TYPES = {member.value: member for member in PhoneType}
_DEBT_KINDS = {member.value: member for member in DebtKind}


class _DoubtError(Exception):
    """The quick path cannot vouch for this row."""


def _amount_minor(text: str, places: int, currency: str) -> int:
    match = _PLAIN_AMOUNT.fullmatch(text)
    if match is None:
        try:
            return parse_amount(text, currency)
        except InvalidValueError:
            raise _DoubtError from None
    whole, fraction = match.group(1), (match.group(2) or "")
    if len(fraction) > places:
        fraction = fraction.rstrip("0")  # 1.500 is 150 cents, as Decimal has it
        if len(fraction) > places:
            raise _DoubtError
    scale: int = 10**places
    return int(whole) * scale + int(fraction.ljust(places, "0") or "0")


class RowValidator:
    """Validates the rows of a file whose header resolved to `columns`, in any order."""

    def __init__(self, columns: Sequence[str], normaliser: PhoneNormaliser) -> None:
        self.columns = tuple(columns)
        self.normaliser = normaliser
        missing = len(self.columns)  # a missing column reads the empty text appended to each row
        index = {name: position for position, name in enumerate(self.columns)}
        self._at = {name: index.get(name, missing) for name in COLUMNS}
        self._limits = tuple((index[name], limit) for name, limit in MAX_LENGTHS.items() if name in index)
        self._phone_slots = tuple(
            (
                slot,
                self._at[f"phone{slot}"],
                self._at[f"phone{slot}_type"],
                self._at[f"phone{slot}_consent_at"],
            )
            for slot in PHONE_SLOTS
        )
        self._dates: dict[str, dt.date] = {}
        self._timestamps: dict[str, dt.datetime] = {}
        self._ssn: dict[str, str] = {}
        self._currencies: dict[str, int] = {}  # accepted code: its decimal places

    def validate(self, fields: Sequence[str], line: int) -> RowResult:
        if len(fields) == len(self.columns):
            values = [field.strip() for field in fields]
            values.append("")
            try:
                row = self._quick(values, line)
            except _DoubtError:
                pass
            else:
                return RowResult(line, row.debt.account_ref, row, ())
        return validate_row(fields, self.columns, line, self.normaliser)

    def _date(self, text: str) -> dt.date | None:
        if not text:
            return None
        known = self._dates.get(text)
        if known is None:
            try:
                known = self._dates[text] = parse_date(text)
            except InvalidValueError:
                raise _DoubtError from None
        return known

    def _timestamp(self, text: str) -> dt.datetime | None:
        if not text:
            return None
        known = self._timestamps.get(text)
        if known is None:
            try:
                known = self._timestamps[text] = parse_timestamp(text)
            except InvalidValueError:
                raise _DoubtError from None
        return known

    def _ssn_last4(self, text: str) -> str | None:
        if not text:
            return None
        known = self._ssn.get(text)
        if known is None:
            try:
                known = self._ssn[text] = normalise_ssn_last4(text)
            except ValueError:
                raise _DoubtError from None
        return known

    def _currency_places(self, text: str) -> tuple[str, int]:
        currency = text.upper() or "USD"
        places = self._currencies.get(currency)
        if places is None:
            if not CURRENCY_CODE.fullmatch(currency):
                raise _DoubtError
            places = self._currencies[currency] = exponent(currency)
        return currency, places

    def _quick(self, values: list[str], line: int) -> ValidRow:
        at = self._at
        for position, limit in self._limits:
            if len(values[position]) > limit:
                raise _DoubtError
        person_ref = values[at["person_ref"]]
        account_ref = values[at["account_ref"]]
        first_name = values[at["first_name"]]
        last_name = values[at["last_name"]]
        if not (person_ref and account_ref and first_name and last_name):
            raise _DoubtError
        country_text = values[at["country"]]
        country = country_text.upper() if country_text else "US"
        if country not in COUNTRIES:
            raise _DoubtError
        currency, places = self._currency_places(values[at["currency"]])
        birth = self._date(values[at["date_of_birth"]])
        email = values[at["email"]] or None
        if email is not None and not EMAIL.fullmatch(email):
            raise _DoubtError
        person = PersonFields(
            person_ref,
            first_name,
            last_name,
            birth.isoformat() if birth else None,
            self._ssn_last4(values[at["ssn_last4"]]),
            email,
        )
        return ValidRow(
            line,
            person,
            self._address(values, country),
            self._phones(values, country),
            self._debt(values, account_ref, currency, places),
        )

    def _address(self, values: list[str], country: str) -> AddressFields | None:
        at = self._at
        line1 = values[at["address_line1"]] or None
        line2 = values[at["address_line2"]] or None
        city = values[at["city"]] or None
        state = values[at["state"]] or None
        postal_code = values[at["postal_code"]] or None
        if country == "US":
            if state is not None:
                state = state.upper()
                if state not in US_STATES:
                    raise _DoubtError
            if postal_code is not None and not US_ZIP.fullmatch(postal_code):
                raise _DoubtError
        if line1 is None and line2 is None and city is None and state is None and postal_code is None:
            return None
        return AddressFields(line1, line2, city, state, postal_code, country)

    def _phones(self, values: list[str], region: str) -> tuple[PhoneEntry, ...]:
        phones: dict[str, PhoneEntry] = {}
        for slot, number_at, type_at, consent_at in self._phone_slots:
            raw, type_text, consent_text = values[number_at], values[type_at], values[consent_at]
            if not raw:
                if slot == 1 or type_text or consent_text:
                    raise _DoubtError
                continue
            phone_type = None
            if type_text:
                phone_type = _PHONE_TYPES.get(type_text.lower())
                if phone_type is None:
                    raise _DoubtError
            consent = self._timestamp(consent_text)
            normalised = self.normaliser.normalise(raw, region)
            if normalised is None:
                raise _DoubtError
            if normalised.e164 in phones:
                continue
            if phone_type is None:
                phones[normalised.e164] = PhoneEntry(
                    normalised.e164, normalised.type, "number", slot, consent
                )
            else:
                phones[normalised.e164] = PhoneEntry(normalised.e164, phone_type, "import", slot, consent)
        return tuple(phones.values())

    def _debt(self, values: list[str], account_ref: str, currency: str, places: int) -> DebtFields:
        at = self._at
        kind_text = values[at["debt_kind"]]
        kind = DebtKind.OTHER
        if kind_text:
            found = _DEBT_KINDS.get(kind_text.lower())
            if found is None:
                raise _DoubtError
            kind = found
        principal_text = values[at["principal"]]
        if not principal_text:
            raise _DoubtError
        interest_text = values[at["interest"]]
        fees_text = values[at["fees"]]
        last_payment_text = values[at["last_payment_amount"]]
        return DebtFields(
            account_ref,
            values[at["original_creditor"]] or None,
            kind,
            values[at["student_loan_account"]] or None,
            currency,
            _amount_minor(principal_text, places, currency),
            _amount_minor(interest_text, places, currency) if interest_text else 0,
            _amount_minor(fees_text, places, currency) if fees_text else 0,
            self._date(values[at["placed_on"]]),
            self._date(values[at["charged_off_on"]]),
            self._date(values[at["last_payment_on"]]),
            _amount_minor(last_payment_text, places, currency) if last_payment_text else None,
            self._date(values[at["statute_of_limitations_on"]]),
        )
