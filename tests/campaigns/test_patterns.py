from __future__ import annotations

import re

import pytest

from campaigns.importer.patterns import DIGITS, PatternNotUnderstoodError, prefix_matcher, shapes


def test_shapes_spell_out_classes_groups_and_counts() -> None:
    assert shapes(r"5[2-46]\d?") == {
        (frozenset("5"), frozenset("2346")),
        (frozenset("5"), frozenset("2346"), DIGITS),
    }
    assert shapes(r"(?:1|2\d)\d{1,2}") == {
        (frozenset("1"), DIGITS),
        (frozenset("1"), DIGITS, DIGITS),
        (frozenset("2"), DIGITS, DIGITS),
        (frozenset("2"), DIGITS, DIGITS, DIGITS),
    }


@pytest.mark.parametrize("pattern", [r"\d+", r"[^5]\d", r"(1)\d", r"\w{3}", r"[9-2]", r"(?:1", r"1)"])
def test_syntax_outside_the_dialect_is_not_understood(pattern: str) -> None:
    with pytest.raises(PatternNotUnderstoodError):
        shapes(pattern)
    assert prefix_matcher(pattern, 1, 2) is None


@pytest.mark.parametrize(
    ("pattern", "prefix", "decided"),
    [
        (r"8(?:00|33)[2-9]\d{6}", 4, True),
        (r"8(?:00|33)[2-9]\d{6}", 3, False),
        (r"52[34][2-9]1[02-9]\d{4}|3\d{6}", 6, True),  # the 7-digit branch never meets 10 digits
        (r"52[34][2-9]1[02-9]\d{4}", 5, False),
        (r"\d{4}[05]\d{5}", 4, False),
    ],
)
def test_a_prefix_matcher_exists_only_where_the_leading_digits_decide(
    pattern: str, prefix: int, decided: bool
) -> None:
    assert (prefix_matcher(pattern, prefix, 10) is not None) is decided


@pytest.mark.parametrize(
    ("number", "matches"),
    [("8002345678", True), ("8331234567", False), ("8339999999", True), ("9002345678", False)],
)
def test_the_prefix_matcher_answers_as_the_pattern_does(number: str, matches: bool) -> None:
    pattern = r"8(?:00|33)[2-9]\d{6}|3\d{6}"
    matcher = prefix_matcher(pattern, 4, 10)
    assert matcher is not None
    assert bool(matcher.fullmatch(number[:4])) is matches
    assert bool(re.fullmatch(pattern, number)) is matches


def test_a_pattern_without_shapes_of_the_length_matches_nothing() -> None:
    matcher = prefix_matcher(r"3\d{6}", 6, 10)
    assert matcher is not None
    assert matcher.fullmatch("300000") is None
