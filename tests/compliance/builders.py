"""Contract-level case documents for the rules tests: a plain Chicago consumer with one debt
and one mobile number, and helpers that change one thing at a time."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from compliance.policy import Verdict, evaluate, load_policy, parse_case

CHICAGO_MOBILE = "+13125550142"
NEW_YORK_MOBILE = "+12125550142"
PHOENIX_MOBILE = "+16025550100"
HONOLULU_MOBILE = "+18085550100"
WORK_NUMBER = "+13125550199"

Document = dict[str, Any]


def base_case(at: str = "2025-06-10T10:00:00-05:00", number: str = CHICAGO_MOBILE) -> Document:
    return {
        "person": {
            "id": "C1",
            "address": {"country": "US", "state": "IL", "postal_code": "60601", "city": "Chicago"},
        },
        "debts": [{"id": "D1", "kind": "credit_card"}],
        "phones": [
            {
                "number": CHICAGO_MOBILE,
                "type": "mobile",
                "autodial_consent": {"given_at": "2025-01-02T10:00:00-06:00"},
            },
            {"number": WORK_NUMBER, "type": "work"},
        ],
        "call": {"at": at, "number": number, "debt_ids": ["D1"], "mode": "manual"},
    }


def located(
    document: Document, number: str, address: Document | None, zones: list[str] | None = None
) -> Document:
    """The same case with the person elsewhere: dialed number, address and explicit zones."""
    changed = copy.deepcopy(document)
    if all(phone["number"] != number for phone in changed["phones"]):
        changed["phones"].append({"number": number, "type": "mobile"})
    changed["call"]["number"] = number
    if address is None:
        changed["person"].pop("address", None)
    else:
        changed["person"]["address"] = address
    if zones is not None:
        changed["person"]["time_zones"] = zones
    return changed


def at(document: Document, when: str) -> Document:
    changed = copy.deepcopy(document)
    changed["call"]["at"] = when
    return changed


def call(
    when: str,
    outcome: str = "no_answer",
    *,
    debts: tuple[str, ...] = ("D1",),
    number: str = CHICAGO_MOBILE,
    direction: str = "outbound",
    party: str = "consumer",
    mode: str | None = None,
) -> Document:
    entry: Document = {
        "at": when,
        "direction": direction,
        "number": number,
        "debt_ids": list(debts),
        "party": party,
        "outcome": outcome,
    }
    if mode is not None:
        entry["mode"] = mode
    return entry


def with_history(document: Document, *entries: Document) -> Document:
    changed = copy.deepcopy(document)
    changed["history"] = [*changed.get("history", []), *entries]
    return changed


def judge(document: Document, policy: str = "us-federal") -> Verdict:
    return evaluate(parse_case(document), load_policy(policy))


def result(verdict: Verdict, rule: str) -> bool:
    """Whether `rule` passed in the verdict's evaluation."""
    return next(entry.passed for entry in verdict.evaluated if entry.rule == rule)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)
