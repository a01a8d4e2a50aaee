"""Reading the digit patterns of phone metadata, to prove what a number's type can depend on.

Only the small regular-expression dialect those patterns use is understood: digits, `\\d`,
classes of digits and ranges, non-capturing groups with alternatives, `?` and `{n}` / `{m,n}`.
Anything else makes a pattern "not understood", and callers then assume nothing about it.
"""

from __future__ import annotations

import re

DIGITS = frozenset("0123456789")
Shape = tuple[frozenset[str], ...]  # the digits allowed at each position of one matched string
SHAPE_LIMIT = 100_000  # more shapes than this: give up rather than use the memory


class PatternNotUnderstoodError(ValueError):
    """The pattern uses syntax outside the dialect read here."""


class _Reader:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.at = 0

    def peek(self) -> str:
        return self.pattern[self.at] if self.at < len(self.pattern) else ""

    def take(self) -> str:
        char = self.peek()
        if not char:
            raise PatternNotUnderstoodError(f"{self.pattern!r} ends too early")
        self.at += 1
        return char

    def expect(self, text: str) -> None:
        for char in text:
            if self.take() != char:
                raise PatternNotUnderstoodError(f"{self.pattern!r}: expected {text!r} at {self.at}")

    def alternatives(self) -> set[Shape]:
        shapes = self.sequence()
        while self.peek() == "|":
            self.at += 1
            shapes |= self.sequence()
        return shapes

    def sequence(self) -> set[Shape]:
        shapes: set[Shape] = {()}
        while self.peek() not in ("|", ")", ""):
            part = self.quantified(self.atom())
            shapes = {head + tail for head in shapes for tail in part}
            if len(shapes) > SHAPE_LIMIT:
                raise PatternNotUnderstoodError(f"{self.pattern!r} has too many shapes")
        return shapes

    def atom(self) -> set[Shape]:
        char = self.take()
        if char in DIGITS:
            return {(frozenset(char),)}
        if char == "\\":
            if self.take() != "d":
                raise PatternNotUnderstoodError(f"{self.pattern!r}: escape at {self.at}")
            return {(DIGITS,)}
        if char == "[":
            return {(self.digit_class(),)}
        if char == "(":
            self.expect("?:")
            inner = self.alternatives()
            self.expect(")")
            return inner
        raise PatternNotUnderstoodError(f"{self.pattern!r}: {char!r} at {self.at}")

    def digit_class(self) -> frozenset[str]:
        allowed: set[str] = set()
        while (char := self.take()) != "]":
            if char not in DIGITS:
                raise PatternNotUnderstoodError(f"{self.pattern!r}: {char!r} in a class")
            if self.peek() == "-":
                self.at += 1
                last = self.take()
                if last not in DIGITS or last < char:
                    raise PatternNotUnderstoodError(f"{self.pattern!r}: range {char}-{last}")
                allowed.update(str(digit) for digit in range(int(char), int(last) + 1))
            else:
                allowed.add(char)
        return frozenset(allowed)

    def number(self) -> int:
        start = self.at
        while self.peek() in DIGITS:  # "" (the end) is not in DIGITS
            self.at += 1
        if start == self.at:
            raise PatternNotUnderstoodError(f"{self.pattern!r}: count expected at {start}")
        return int(self.pattern[start : self.at])

    def quantified(self, part: set[Shape]) -> set[Shape]:
        if self.peek() == "?":
            self.at += 1
            return part | {()}
        if self.peek() != "{":
            return part
        self.at += 1
        low = self.number()
        high = low
        if self.peek() == ",":
            self.at += 1
            high = self.number()
        self.expect("}")
        repeated: set[Shape] = set()
        for count in range(low, high + 1):
            shapes: set[Shape] = {()}
            for _ in range(count):
                shapes = {head + tail for head in shapes for tail in part}
            repeated |= shapes
            if len(repeated) > SHAPE_LIMIT:
                raise PatternNotUnderstoodError(f"{self.pattern!r} has too many shapes")
        return repeated


def shapes(pattern: str) -> set[Shape]:
    """Every shape of the strings `pattern` matches in full."""
    reader = _Reader(pattern)
    found = reader.alternatives()
    if reader.peek():
        raise PatternNotUnderstoodError(f"{pattern!r}: unexpected {reader.peek()!r} at {reader.at}")
    return found


def prefix_matcher(pattern: str, prefix: int, length: int) -> re.Pattern[str] | None:
    """A pattern over the first `prefix` digits that decides whether `length` digits match `pattern`.

    None when those digits do not decide it (later digits matter) or the pattern is not understood.
    """
    try:
        found = [shape for shape in shapes(pattern) if len(shape) == length]
    except PatternNotUnderstoodError:
        return None
    if any(allowed != DIGITS for shape in found for allowed in shape[prefix:]):
        return None
    if not found:
        return re.compile(r"(?!)")  # matches nothing
    heads = sorted(
        {"".join(f"[{''.join(sorted(allowed))}]" for allowed in shape[:prefix]) for shape in found}
    )
    return re.compile("|".join(heads))
