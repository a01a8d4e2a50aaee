"""Phone numbers to E.164 with a type, through `phonenumbers`, fast enough for big placement files.

`phonenumbers` takes roughly 100 µs to parse, validate, type and format one number, which would
dominate an import of millions of rows. Two things cut that down without changing any answer:

* a cache keyed by the raw text (digits and the usual punctuation are reduced to a canonical
  key first, so "(415) 555-0100" and "415.555.0100" share one entry), since every debt row of a
  person repeats that person's phones;
* a fast path for the common North American case: a 10-digit national number (or 1 + 10 digits,
  or +1 + 10 digits) is classified directly against the US metadata, which is what
  `phonenumbers` itself does first for country code 1 (US is the first region it tries and has
  no leading-digits rule). Whatever the fast path cannot settle goes through the full library.
  `tests/campaigns/test_phones.py` checks both paths agree.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers.phonenumberutil import _number_type_helper

from campaigns.models import PhoneType

_NUMBER_TYPES = {
    PhoneNumberType.MOBILE: PhoneType.MOBILE,
    PhoneNumberType.FIXED_LINE: PhoneType.LANDLINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: PhoneType.UNKNOWN,
    PhoneNumberType.VOIP: PhoneType.VOIP,
}
_PUNCTUATION_ONLY = re.compile(r"\+?[0-9 ().\-]+")
_NON_DIGITS = re.compile(r"[^0-9]")


def _us_metadata() -> PhoneMetadata:
    metadata = PhoneMetadata.metadata_for_region("US")
    if metadata is None:
        raise RuntimeError("this phonenumbers build has no US metadata")
    return metadata


_US_METADATA = _us_metadata()
_NANP_REGIONS = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])


class Normalised(NamedTuple):
    e164: str
    type: PhoneType  # what the number itself tells; unknown where it cannot tell (most US numbers)


def _full_path(raw: str, region: str) -> Normalised | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    # number_type is UNKNOWN exactly when is_valid_number is false; asking once halves the cost.
    number_type = phonenumbers.number_type(number)
    if number_type == PhoneNumberType.UNKNOWN:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Normalised(e164, _NUMBER_TYPES.get(number_type, PhoneType.UNKNOWN))


def _nanp_national_number(canonical: str) -> str | None:
    """The 10-digit national number `phonenumbers` would parse from a NANP-region number."""
    if canonical.startswith("+"):
        digits = canonical[1:]
        return digits[1:] if len(digits) == 11 and digits[0] == "1" and digits[1] in "23456789" else None
    if len(canonical) == 10 and canonical[0] in "23456789":
        return canonical
    if len(canonical) == 11 and canonical[0] == "1" and canonical[1] in "23456789":
        return canonical[1:]
    return None


def _fast_path(canonical: str) -> Normalised | None:
    national = _nanp_national_number(canonical)
    if national is None:
        return None
    number_type = _number_type_helper(national, _US_METADATA)
    if number_type == PhoneNumberType.UNKNOWN:
        return None  # maybe another NANP region (CA, PR, ...): let the library decide
    return Normalised(f"+1{national}", _NUMBER_TYPES.get(number_type, PhoneType.UNKNOWN))


class PhoneNormaliser:
    """Normalises raw phone text for a default region; remembers every answer it gave."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Normalised | None] = {}

    def normalise(self, raw: str, region: str) -> Normalised | None:
        """E.164 and type of a valid number, or None when `raw` is not a valid number."""
        plain = _PUNCTUATION_ONLY.fullmatch(raw) is not None
        canonical = ("+" if raw.startswith("+") else "") + _NON_DIGITS.sub("", raw) if plain else raw
        key = (canonical, region)
        try:
            return self._cache[key]
        except KeyError:
            pass
        result = _fast_path(canonical) if plain and region in _NANP_REGIONS else None
        if result is None:
            result = _full_path(raw, region)
        self._cache[key] = result
        return result

    def answers(self) -> dict[tuple[str, str], Normalised | None]:
        """Everything learnt so far, to hand to another normaliser (see `learn`)."""
        return self._cache

    def learn(self, answers: dict[tuple[str, str], Normalised | None]) -> None:
        """Take over answers another normaliser (say, in a worker process) worked out."""
        self._cache.update(answers)
