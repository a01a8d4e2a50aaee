"""The canonical JSON form of a case and its digest, so that an audit record can prove which
inputs a verdict was computed from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import StrEnum

from compliance.policy.case import Case, InconvenientTime
from compliance.policy.clock import format_clock


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, frozenset):
        return sorted(_jsonable(item) for item in value)  # type: ignore[type-var]
    if isinstance(value, tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, InconvenientTime):
        return {
            "stated_at": value.stated_at.isoformat(),
            "from": format_clock(value.start_minute),
            "to": format_clock(value.end_minute),
            "days": sorted(day.value for day in value.days),
        }
    if is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: _jsonable(getattr(value, field.name))
            for field in fields(value)
            if getattr(value, field.name) is not None
        }
    return value


def case_to_json(case: Case) -> dict[str, object]:
    """The case as contract JSON, absent optional fields omitted; `parse_case` reads it back."""
    document = _jsonable(case)
    assert isinstance(document, dict)
    return document


def canonical_json(case: Case) -> str:
    return json.dumps(case_to_json(case), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def inputs_digest(case: Case) -> str:
    """sha256 of the canonical case JSON: equal for equal cases however the JSON was laid out."""
    return hashlib.sha256(canonical_json(case).encode("utf-8")).hexdigest()
