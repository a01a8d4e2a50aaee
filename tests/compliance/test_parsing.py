"""The case contract: strict parsing with a JSON path for every bad field, the canonical form
and its digest."""

from __future__ import annotations

import copy
import json

import pytest

from compliance.policy import CaseError, canonical_json, case_to_json, inputs_digest, parse_case
from tests.compliance.builders import Document, base_case, call, with_history


def problems(document: object) -> list[tuple[str, str]]:
    with pytest.raises(CaseError) as caught:
        parse_case(document)
    return caught.value.problems


def full_case() -> Document:
    document = with_history(
        base_case(),
        call("2025-06-09T09:00:00-05:00", "voicemail", mode="predictive"),
        call("2025-06-09T12:00:00-05:00", "inbound_message", direction="inbound"),
    )
    document["policy"] = "us-federal"
    person = document["person"]
    person["time_zones"] = ["America/Denver"]
    person["inconvenient_times"] = [
        {"stated_at": "2025-06-01T12:00:00-05:00", "from": "22:00", "to": "24:00", "days": ["sun", "mon"]}
    ]
    person["attorney"] = {"since": "2025-06-20T12:00:00-05:00", "debt_ids": ["D1"]}
    person["notices"] = [
        {
            "type": "dispute",
            "received_at": "2025-05-01T12:00:00Z",
            "debt_ids": ["D1"],
            "resolved_at": "2025-05-09T12:00:00Z",
        }
    ]
    person["medium_restrictions"] = [
        {"requested_at": "2025-06-01T12:00:00-05:00", "number": None, "place": "work"}
    ]
    document["debts"].append({"id": "D2", "kind": "student_loan", "student_loan_account": "SL-1"})
    document["phones"][0]["reassigned_check"] = {"checked_at": "2025-06-01T09:00:00-05:00", "result": "no"}
    document["consents"] = [{"given_at": "2025-06-09T12:05:00-05:00", "debt_ids": ["D1", "D2"]}]
    return document


def test_a_full_case_parses_and_round_trips() -> None:
    case = parse_case(full_case())
    assert parse_case(case_to_json(case)) == case
    assert case.person.inconvenient_times[0].end_minute == 24 * 60


def test_the_digest_ignores_layout_and_key_order_but_not_content() -> None:
    document = full_case()
    reordered = json.loads(json.dumps(document, sort_keys=True, indent=4))
    assert inputs_digest(parse_case(document)) == inputs_digest(parse_case(reordered))
    changed = copy.deepcopy(document)
    changed["call"]["at"] = "2025-06-10T10:01:00-05:00"
    assert inputs_digest(parse_case(changed)) != inputs_digest(parse_case(document))
    assert len(inputs_digest(parse_case(document))) == 64
    assert json.loads(canonical_json(parse_case(document)))["call"]["debt_ids"] == ["D1"]


def test_an_unknown_field_is_rejected_with_its_path() -> None:
    document = full_case()
    document["person"]["notices"][0]["typ"] = "dispute"
    assert problems(document) == [("person.notices[0].typ", "unknown field")]


def test_every_bad_field_is_reported_at_once() -> None:
    document = full_case()
    document["call"]["at"] = "2025-06-10T10:00:00"
    document["history"][1]["outcome"] = "hung_up"
    document["phones"][0]["type"] = "cell"
    document["person"]["time_zones"] = ["Mars/Olympus"]
    document["extra"] = 1
    found = dict(problems(document))
    assert set(found) == {"call.at", "history[1].outcome", "phones[0].type", "person.time_zones[0]", "extra"}
    assert "UTC offset" in found["call.at"]
    assert "'hung_up' is not one of" in found["history[1].outcome"]


MALFORMED = [
    ("missing call", lambda d: d.pop("call"), "call", "required field is missing"),
    (
        "call number not the person's",
        lambda d: d["call"].update(number="+13125550000"),
        "call.number",
        "is not one of the person's phones",
    ),
    (
        "unknown debt referenced",
        lambda d: d["history"][0].update(debt_ids=["D9"]),
        "history[0].debt_ids",
        "unknown debt 'D9'",
    ),
    (
        "empty debt list on a notice",
        lambda d: d["person"]["notices"][0].update(debt_ids=[]),
        "person.notices[0].debt_ids",
        "must not be empty",
    ),
    (
        "bad clock",
        lambda d: d["person"]["inconvenient_times"][0].update({"from": "7am"}),
        "person.inconvenient_times[0].from",
        "not a time of day",
    ),
    (
        "empty period",
        lambda d: d["person"]["inconvenient_times"][0].update({"from": "10:00", "to": "10:00"}),
        "person.inconvenient_times[0].to",
        "empty",
    ),
    (
        "bad weekday",
        lambda d: d["person"]["inconvenient_times"][0].update(days=["monday"]),
        "person.inconvenient_times[0].days[0]",
        "not one of",
    ),
    ("not a phone number", lambda d: d["phones"][1].update(number="call me"), "phones[1].number", "E.164"),
    (
        "date without time or offset",
        lambda d: d["consents"][0].update(given_at="2025-06-09"),
        "consents[0].given_at",
        "UTC offset",
    ),
    ("duplicate debt", lambda d: d["debts"].append({"id": "D1", "kind": "x"}), "debts[2].id", "duplicate"),
    (
        "resolved before received",
        lambda d: d["person"]["notices"][0].update(resolved_at="2025-04-01T00:00:00Z"),
        "person.notices[0].resolved_at",
        "before",
    ),
    ("wrong type", lambda d: d["person"].update(id=7), "person.id", "expected a string"),
    ("list expected", lambda d: d.update(history={}), "history", "expected a list"),
]


@pytest.mark.parametrize(("why", "damage", "path", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_cases_name_the_bad_field(why: str, damage: object, path: str, message: str) -> None:
    document = full_case()
    assert callable(damage)
    damage(document)
    found = problems(document)
    assert any(p == path and message in m for p, m in found), found


def test_a_document_that_is_not_an_object() -> None:
    assert problems([1, 2]) == [("$", "expected an object, got a list")]
