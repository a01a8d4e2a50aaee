"""`arrears compliance check CASE.json` on the example cases kept in tests/compliance/cases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from infra.cli import cli

CASES = Path(__file__).parent / "cases"
ARREARS = Path(sys.executable).parent / "arrears"

# case file -> (allowed, deciding rule, next_allowed_at)
EXPECTED = {
    "seven_in_seven.json": (False, "regf.frequency.seven_in_seven", "2025-06-09T08:00:00-05:00"),
    "new_york_number_california_address.json": (False, "regf.hours.local_time", "2025-06-10T11:00:00-04:00"),
    "massachusetts_student_loans.json": (
        False,
        "ma.frequency.personal_two_in_seven",
        "2025-06-12T08:00:00-04:00",
    ),
    "do_not_call_then_inbound.json": (True, None, "2025-06-10T10:00:00-05:00"),
    "uk_abandoned.json": (False, "ofcom.abandoned.seventy_two_hours", "2025-06-11T18:31:00+01:00"),
}


def test_every_example_case_has_an_expectation() -> None:
    assert {path.name for path in CASES.glob("*.json")} == {*EXPECTED, "malformed.json"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_cases(name: str) -> None:
    outcome = CliRunner().invoke(cli, ["compliance", "check", str(CASES / name)])
    assert outcome.exit_code == 0, outcome.output
    verdict = json.loads(outcome.stdout)
    assert (verdict["allowed"], verdict["rule"], verdict["next_allowed_at"]) == EXPECTED[name]
    assert set(verdict) == {"allowed", "rule", "citation", "reason", "next_allowed_at", "evaluated"}
    assert all(set(entry) == {"rule", "passed", "detail"} for entry in verdict["evaluated"])


@pytest.mark.slow
def test_the_installed_command_prints_the_verdict_and_exits_0_when_blocked() -> None:
    done = subprocess.run(
        [str(ARREARS), "compliance", "check", str(CASES / "seven_in_seven.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["reason"].startswith(
        "8th counted call to C1 about D1 in 7 consecutive days (2025-06-02..2025-06-08)"
    )
    assert verdict["citation"] == "12 CFR 1006.14(b)(2)(i)(A)"


def test_a_malformed_case_exits_2_naming_each_bad_field() -> None:
    outcome = CliRunner().invoke(cli, ["compliance", "check", str(CASES / "malformed.json")])
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    for path in (
        "person.notices[0].typ: unknown field",
        "phones[0].type",
        "call.at",
        "person.notices[0].received_at",
    ):
        assert path in outcome.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "$: not valid JSON"),
        (
            json.dumps({**json.loads((CASES / "seven_in_seven.json").read_text()), "policy": "mars"}),
            "policy: unknown policy",
        ),
    ],
    ids=["not JSON", "unknown policy"],
)
def test_other_malformed_input_exits_2(tmp_path: Path, content: str, message: str) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_text(content, encoding="utf-8")
    outcome = CliRunner().invoke(cli, ["compliance", "check", str(case_file)])
    assert outcome.exit_code == 2
    assert message in outcome.stderr


def test_a_case_without_a_policy_uses_the_default(tmp_path: Path) -> None:
    document = json.loads((CASES / "uk_abandoned.json").read_text())
    del document["policy"]
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(document), encoding="utf-8")
    federal = CliRunner().invoke(cli, ["compliance", "check", str(case_file)])
    assert json.loads(federal.stdout)["evaluated"][0]["rule"] == "regf.cease.written_notice"
    uk = CliRunner().invoke(cli, ["compliance", "check", "--default-policy", "uk", str(case_file)])
    assert json.loads(uk.stdout)["rule"] == "ofcom.abandoned.seventy_two_hours"
