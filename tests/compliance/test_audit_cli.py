"""`arrears audit` through the real command line root, against both databases."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner, Result

from infra.cli import cli
from infra.settings import ENV_PREFIX, get_settings
from tests.compliance.test_audit_chain import append, tamper
from tests.conftest import Database

RunCli = Callable[..., Result]


@pytest.fixture
def run_cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunCli]:
    # The command reads its settings from the environment, like an operator's shell.
    for name in [name for name in os.environ if name.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv(f"{ENV_PREFIX}DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, ["audit", *args])
    get_settings.cache_clear()


def test_verify_passes_an_intact_chain_and_prints_an_anchor(db: Database, run_cli: RunCli) -> None:
    append(db, 3)

    result = run_cli("verify")

    assert result.exit_code == 0, result.output
    assert "audit chain intact: 3 events" in result.output
    anchor = result.output.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    assert anchor.startswith("3:")
    assert run_cli("verify", "--anchor", anchor).exit_code == 0


def test_verify_fails_naming_the_broken_event(db: Database, run_cli: RunCli) -> None:
    append(db, 4)
    tamper(db, "UPDATE audit_events SET action = 'test.other' WHERE seq = 3")

    result = run_cli("verify")

    assert result.exit_code == 1
    assert "BROKEN at seq 3 (altered)" in result.output
    assert "anchor" not in result.output


def test_verify_refuses_a_malformed_anchor(run_cli: RunCli) -> None:
    result = run_cli("verify", "--anchor", "12:nothex")
    assert result.exit_code == 2
    assert "SEQ:HASH" in result.output


def test_tail_prints_the_latest_events_oldest_first(db: Database, run_cli: RunCli) -> None:
    append(db, 4)

    result = run_cli("tail", "-n", "2")

    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines()]
    assert [event["seq"] for event in events] == [3, 4]
    assert json.loads(events[0]["payload"]) == {"amount": "12.50", "n": 2}
