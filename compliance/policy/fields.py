"""Strict reading of nested JSON-like data with a path for every error.

Both the compliance case (JSON) and the policy files (TOML) are read through `Fields`, so both
reject unknown keys and report every bad field at once instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from compliance.policy.clock import parse_clock

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

Problem = tuple[str, str]


class _Missing:
    """Marks a value that failed to read; the problem is already recorded."""


MISSING = _Missing()


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Fields:
    """One object being read. Every accessor records problems in the shared list and returns
    None (or an empty value) so that reading carries on and reports everything."""

    def __init__(self, value: object, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        self._seen: set[str] = set()
        if isinstance(value, Mapping):
            self._data: Mapping[str, Any] = value
            self.ok = True
        else:
            self._data = {}
            self.ok = False
            problems.append((path or "$", f"expected an object, got {describe(value)}"))

    def problem(self, key: str | int, message: str) -> None:
        self.problems.append((join(self.path, key), message))

    def raw(self, key: str, *, required: bool) -> object:
        self._seen.add(key)
        if key not in self._data:
            if required and self.ok:
                self.problem(key, "required field is missing")
            return MISSING
        return self._data[key]

    def finish(self) -> None:
        """Report keys nobody asked for: a typo must not silently weaken a check."""
        for key in self._data:
            if key not in self._seen:
                self.problem(key, "unknown field")

    def _typed(self, key: str, kind: type[T], noun: str, *, required: bool, nullable: bool) -> T | None:
        value = self.raw(key, required=required)
        if value is MISSING or (value is None and nullable):
            return None
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        self.problem(key, f"expected {noun}, got {describe(value)}")
        return None

    def text(self, key: str, *, required: bool = True, nullable: bool = False) -> str | None:
        value = self._typed(key, str, "a string", required=required, nullable=nullable)
        if value is not None and not value.strip():
            self.problem(key, "must not be empty")
            return None
        return value

    def integer(self, key: str, *, minimum: int = 0) -> int | None:
        value = self._typed(key, int, "an integer", required=True, nullable=False)
        if value is not None and value < minimum:
            self.problem(key, f"must be at least {minimum}")
            return None
        return value

    def clock(self, key: str, *, allow_end_of_day: bool = False) -> int | None:
        """A time of day "HH:MM" as minutes after midnight."""
        value = self.text(key)
        minutes = parse_clock(value, allow_end_of_day=allow_end_of_day) if value is not None else None
        if value is not None and minutes is None:
            self.problem(key, f"{value!r} is not a time of day HH:MM")
        return minutes

    def choice(self, key: str, enum: type[E], *, required: bool = True, nullable: bool = False) -> E | None:
        value = self.text(key, required=required, nullable=nullable)
        return None if value is None else self.member(key, enum, value)

    def member(self, key: str | int, enum: type[E], value: str) -> E | None:
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            self.problem(key, f"{value!r} is not one of: {allowed}")
            return None

    def members(self, key: str, enum: type[E], *, required: bool = False) -> frozenset[E] | None:
        """A list of enum values; None when absent or when any value is bad."""
        names = self.texts(key, required=required)
        if names is None:
            return None
        values = [self.member(f"{key}[{index}]", enum, name) for index, name in enumerate(names)]
        return None if None in values else frozenset(value for value in values if value is not None)

    def timestamp(self, key: str, *, required: bool = True, nullable: bool = False) -> datetime | None:
        value = self.raw(key, required=required)
        if value is MISSING or (value is None and nullable):
            return None
        return parse_timestamp(value, join(self.path, key), self.problems)

    def items(self, key: str, *, required: bool = False) -> list[tuple[str, object]]:
        """The elements of a list field, each with its path; an absent list is empty."""
        value = self.raw(key, required=required)
        if value is MISSING:
            return []
        if not isinstance(value, list):
            self.problem(key, f"expected a list, got {describe(value)}")
            return []
        return [(join(join(self.path, key), index), item) for index, item in enumerate(value)]

    def texts(self, key: str, *, required: bool = True, nullable: bool = False) -> list[str] | None:
        value = self.raw(key, required=required)
        if value is MISSING or (value is None and nullable):
            return None
        if not isinstance(value, list):
            self.problem(key, f"expected a list of strings, got {describe(value)}")
            return None
        good: list[str] = []
        for index, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                good.append(item)
            else:
                self.problems.append((join(join(self.path, key), index), "expected a non-empty string"))
        return good if len(good) == len(value) else None

    def nested(self, key: str, read: Callable[[Fields], T], *, required: bool = True) -> T | None:
        value = self.raw(key, required=required)
        if value is MISSING or value is None:
            if value is None and required:
                self.problem(key, "must not be null")
            return None
        return read_object(value, join(self.path, key), self.problems, read)


def read_object(value: object, path: str, problems: list[Problem], read: Callable[[Fields], T]) -> T | None:
    """Read one object with `read`, then flag its unknown keys. None when anything was wrong
    inside it (the problems say what)."""
    fields = Fields(value, path, problems)
    if not fields.ok:
        return None
    before = len(problems)
    result = read(fields)
    fields.finish()
    return result if len(problems) == before else None


def parse_timestamp(value: object, path: str, problems: list[Problem]) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            problems.append((path, f"{value!r} is not an ISO 8601 timestamp"))
            return None
    else:
        problems.append((path, f"expected an ISO 8601 timestamp, got {describe(value)}"))
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        problems.append((path, "timestamp needs a UTC offset (e.g. 2025-06-02T09:00:00-05:00)"))
        return None
    return parsed
