from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import _number_type_helper

from campaigns.importer.phones import Normalised, PhoneNormaliser, prefix_types
from campaigns.models import PhoneType

LIBRARY_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE: PhoneType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE: PhoneType.LANDLINE,
    phonenumbers.PhoneNumberType.VOIP: PhoneType.VOIP,
}


def library_answer(raw: str, region: str) -> Normalised | None:
    """What the plain, uncached phonenumbers calls say."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Normalised(e164, LIBRARY_TYPES.get(phonenumbers.number_type(number), PhoneType.UNKNOWN))


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-2671", "US", Normalised("+14155552671", PhoneType.UNKNOWN)),
        ("415.555.2671", "US", Normalised("+14155552671", PhoneType.UNKNOWN)),
        ("1 415 555 2671", "US", Normalised("+14155552671", PhoneType.UNKNOWN)),
        ("+1 (415) 555-2671", "GB", Normalised("+14155552671", PhoneType.UNKNOWN)),
        ("(787) 555-1234", "US", library_answer("(787) 555-1234", "US")),  # Puerto Rico, via the library
        ("07911 123456", "GB", Normalised("+447911123456", PhoneType.MOBILE)),
        ("020 7946 0000", "GB", Normalised("+442079460000", PhoneType.LANDLINE)),
        ("555-0142", "US", None),
        ("n/a", "US", None),
        ("415-555-01234", "US", None),
        ("(123) 456-7890", "US", None),
    ],
)
def test_normalise(raw: str, region: str, expected: Normalised | None) -> None:
    assert PhoneNormaliser().normalise(raw, region) == expected


def test_answers_are_remembered_across_formats() -> None:
    normaliser = PhoneNormaliser()
    first = normaliser.normalise("(415) 555-2671", "US")
    assert normaliser.normalise("415-555-2671", "US") is first


FORMATS = (
    "{a}{b}{c}",
    "({a}) {b}-{c}",
    "{a}-{b}-{c}",
    "1{a}{b}{c}",
    "+1{a}{b}{c}",
    "1 {a} {b} {c}",
    "{a}.{b}.{c}",
    "+1 ({a}) {b}-{c}",
)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    area=st.integers(0, 999),
    exchange=st.integers(0, 999),
    line=st.integers(0, 9999),
    template=st.sampled_from(FORMATS),
    region=st.sampled_from(["US", "CA", "PR", "GB"]),
)
def test_the_fast_path_agrees_with_the_library(
    area: int, exchange: int, line: int, template: str, region: str
) -> None:
    raw = template.format(a=f"{area:03d}", b=f"{exchange:03d}", c=f"{line:04d}")
    assert PhoneNormaliser().normalise(raw, region) == library_answer(raw, region)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 +-().x", min_size=1, max_size=18), st.sampled_from(["US", "GB", "DE"]))
def test_any_text_agrees_with_the_library(raw: str, region: str) -> None:
    assert PhoneNormaliser().normalise(raw, region) == library_answer(raw, region)


# Area codes and exchanges of every kind the US metadata tells apart: geographic, toll-free,
# premium rate, personal numbers (52x, some decided only by the sixth digit), unassigned.
PREFIXES = (
    "212555",
    "415555",
    "800555",
    "833201",
    "900555",
    "523555",
    "524201",
    "524949",
    "524948",
    "123456",
)


def us_metadata() -> PhoneMetadata:
    metadata = PhoneMetadata.metadata_for_region("US")
    assert metadata is not None
    return metadata


def test_the_installed_us_metadata_decides_types_by_six_digits() -> None:
    """Else the per-prefix path is off: answers stay right, imports get slower."""
    assert prefix_types(us_metadata()) is not None


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.sampled_from(PREFIXES), st.integers(100_000, 999_999).map(str)), st.integers(0, 9999))
def test_the_type_by_six_digits_is_the_library_type(prefix: str, line: int) -> None:
    types = prefix_types(us_metadata())
    assert types is not None
    metadata = us_metadata()
    assert types.type_of(prefix) == _number_type_helper(f"{prefix}{line:04d}", metadata)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(PREFIXES), st.integers(200_000, 999_999).map(str)),
            st.integers(0, 9999),
            st.sampled_from(FORMATS),
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["US", "CA", "PR"]),
)
def test_numbers_sharing_a_prefix_get_the_library_answer_from_one_normaliser(
    numbers: list[tuple[str, int, str]], region: str
) -> None:
    normaliser = PhoneNormaliser()
    for prefix, line, template in numbers:
        raw = template.format(a=prefix[:3], b=prefix[3:], c=f"{line:04d}")
        assert normaliser.normalise(raw, region) == library_answer(raw, region)
