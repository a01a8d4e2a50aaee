"""Phone numbers to E.164 with a type, through `phonenumbers`, fast enough for big placement files.

`phonenumbers` takes roughly 100 µs to parse, validate, type and format one number, which would
dominate an import of millions of rows. Three things cut that down without changing any answer:

* a cache keyed by the raw text, since every debt row of a person repeats that person's phones,
  and behind it one keyed by a canonical form (digits and the usual punctuation reduced, so
  "(415) 555-0100" and "415.555.0100" share one entry);
* a fast path for the common North American case: a 10-digit national number (or 1 + 10 digits,
  or +1 + 10 digits) is classified directly against the US metadata, which is what
  `phonenumbers` itself does first for country code 1 (US is the first region it tries and has
  no leading-digits rule). Whatever the fast path cannot settle goes through the full library;
* that classification made from the leading six digits (area code and exchange) and remembered
  per six digits, but only when the US metadata provably decides every type by those digits:
  each of its patterns is read (see `patterns`) and every 10-digit shape must leave the last
  four digits free. The six digits are then matched against the patterns cut to six digits, in
  the order `phonenumbers` tries the types.

`tests/campaigns/test_phones.py` checks the paths agree with the plain library.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers.phonenumberutil import _number_type_helper

from campaigns.importer.patterns import prefix_matcher
from campaigns.models import PhoneType

_NUMBER_TYPES = {
    PhoneNumberType.MOBILE: PhoneType.MOBILE,
    PhoneNumberType.FIXED_LINE: PhoneType.LANDLINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: PhoneType.UNKNOWN,
    PhoneNumberType.VOIP: PhoneType.VOIP,
}
_PUNCTUATION_ONLY = re.compile(r"\+?[0-9 ().\-]+")
_NON_DIGITS = re.compile(r"[^0-9]")
NANP_NATIONAL_DIGITS = 10
PREFIX_DIGITS = 6  # area code and exchange


def _us_metadata() -> PhoneMetadata:
    metadata = PhoneMetadata.metadata_for_region("US")
    if metadata is None:
        raise RuntimeError("this phonenumbers build has no US metadata")
    return metadata


_US_METADATA = _us_metadata()
_NANP_REGIONS = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])
# The descriptions `_number_type_helper` tries, in its order, before fixed line and mobile.
_SPECIAL_TYPES = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)
_NEVER = re.compile(r"(?!)")


class _UndecidedError(Exception):
    """A description whose type the leading digits alone do not decide."""


def _leading_matcher(metadata: PhoneMetadata, name: str) -> re.Pattern[str]:
    """What `_is_number_matching_desc` says of a 10-digit number, asked of its leading digits."""
    description = getattr(metadata, name)
    if description is None or not description.national_number_pattern:
        return _NEVER
    if description.possible_length and NANP_NATIONAL_DIGITS not in description.possible_length:
        return _NEVER
    matcher = prefix_matcher(description.national_number_pattern, PREFIX_DIGITS, NANP_NATIONAL_DIGITS)
    if matcher is None:
        raise _UndecidedError(name)
    return matcher


class PrefixTypes:
    """The type `_number_type_helper` gives a 10-digit national number, told by its first six digits.

    Built only for metadata whose patterns provably leave the last four digits free.
    """

    def __init__(self, metadata: PhoneMetadata) -> None:
        self.general = _leading_matcher(metadata, "general_desc")
        self.special = tuple((_leading_matcher(metadata, name), kind) for name, kind in _SPECIAL_TYPES)
        self.fixed_line = _leading_matcher(metadata, "fixed_line")
        self.mobile = _leading_matcher(metadata, "mobile")
        self.same_patterns = bool(metadata.same_mobile_and_fixed_line_pattern)

    def type_of(self, prefix: str) -> int:
        if not self.general.fullmatch(prefix):
            return PhoneNumberType.UNKNOWN
        for matcher, kind in self.special:
            if matcher.fullmatch(prefix):
                return kind
        if self.fixed_line.fullmatch(prefix):
            if self.same_patterns or self.mobile.fullmatch(prefix):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_patterns and self.mobile.fullmatch(prefix):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


def prefix_types(metadata: PhoneMetadata) -> PrefixTypes | None:
    """Types by leading digits for this metadata, or None when its patterns do not allow it."""
    try:
        return PrefixTypes(metadata)
    except _UndecidedError:
        return None


_US_PREFIX_TYPES = prefix_types(_US_METADATA)


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


class PhoneNormaliser:
    """Normalises raw phone text for a default region; remembers every answer it gave."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Normalised | None] = {}
        self._by_raw: dict[str, dict[str, Normalised | None]] = {}
        self._us_types: dict[str, int] = {}  # PhoneNumberType values by leading digits

    def normalise(self, raw: str, region: str) -> Normalised | None:
        """E.164 and type of a valid number, or None when `raw` is not a valid number."""
        known = self._by_raw.get(region)
        if known is None:
            known = self._by_raw[region] = {}
        try:
            return known[raw]
        except KeyError:
            pass
        result = known[raw] = self._canonical_answer(raw, region)
        return result

    def _canonical_answer(self, raw: str, region: str) -> Normalised | None:
        plain = _PUNCTUATION_ONLY.fullmatch(raw) is not None
        canonical = ("+" if raw.startswith("+") else "") + _NON_DIGITS.sub("", raw) if plain else raw
        key = (canonical, region)
        try:
            return self._cache[key]
        except KeyError:
            pass
        result = self._fast_path(canonical) if plain and region in _NANP_REGIONS else None
        if result is None:
            result = _full_path(raw, region)
        self._cache[key] = result
        return result

    def _us_type(self, national: str) -> int:
        if _US_PREFIX_TYPES is None:
            return _number_type_helper(national, _US_METADATA)
        prefix = national[:PREFIX_DIGITS]
        number_type = self._us_types.get(prefix)
        if number_type is None:
            number_type = self._us_types[prefix] = _US_PREFIX_TYPES.type_of(prefix)
        return number_type

    def _fast_path(self, canonical: str) -> Normalised | None:
        national = _nanp_national_number(canonical)
        if national is None:
            return None
        number_type = self._us_type(national)
        if number_type == PhoneNumberType.UNKNOWN:
            return None  # maybe another NANP region (CA, PR, ...): let the library decide
        return Normalised(f"+1{national}", _NUMBER_TYPES.get(number_type, PhoneType.UNKNOWN))

    def answers(self) -> dict[tuple[str, str], Normalised | None]:
        """Everything learnt so far, to hand to another normaliser (see `learn`)."""
        return self._cache

    def learn(self, answers: dict[tuple[str, str], Normalised | None]) -> None:
        """Take over answers another normaliser (say, in a worker process) worked out."""
        self._cache.update(answers)
