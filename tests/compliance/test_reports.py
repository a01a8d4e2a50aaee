"""Compliance reports: the pure window arithmetic, and the CSV command on a real ledger."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from click.testing import CliRunner

from compliance.attempts import CallResult, complete, mark_dialing
from compliance.models import Outcome
from compliance.report_cli import abandon_rate, report
from compliance.reports import busiest_window, calls_after_conversation
from tests.compliance.gate_fixtures import TUESDAY_10AM, add_people, make_gate
from tests.conftest import Database

D = dt.date(2025, 6, 1)


def days(*offsets: int) -> list[dt.date]:
    return [D + dt.timedelta(days=offset) for offset in offsets]


@pytest.mark.parametrize(
    ("calls", "most", "start"),
    [
        ([], 0, None),
        (days(0), 1, D),
        (days(0, 1, 2, 3, 4, 5, 6), 7, D),
        (days(0, 1, 2, 3, 4, 5, 6, 7), 7, D),  # day 7 opens a new window: still 7 in any 7 days
        (days(0, 0, 1, 2, 3, 4, 5, 6), 8, D),  # the 8th call inside days 0..6
        (days(0, 10, 11, 11, 12), 4, D + dt.timedelta(days=10)),
    ],
)
def test_busiest_window(calls: list[dt.date], most: int, start: dt.date | None) -> None:
    assert busiest_window(calls) == (most, start)


@pytest.mark.parametrize(
    ("calls", "conversations", "after"),
    [
        (days(0, 3), days(0), 1),  # 1006.14(b)(2)(i)(B): day 3 is inside C..C+6
        (days(0, 6), days(0), 1),
        (days(0, 7), days(0), 0),  # C+7 is allowed
        (days(2), days(0, 5), 1),
        (days(1), [], 0),
    ],
)
def test_calls_after_conversation(calls: list[dt.date], conversations: list[dt.date], after: int) -> None:
    assert calls_after_conversation(calls, conversations) == after


def _ledger(db: Database) -> None:
    """Two people, each called four times on one morning: the conversation comes last, because
    after it Reg F would stop further calls about the debt for seven days."""
    gate = make_gate(db.sessions)
    outcomes = [Outcome.NO_ANSWER, Outcome.ABANDONED, Outcome.BUSY, Outcome.CONVERSATION]
    for account in add_people(db.sessions, 2):
        for hour, outcome in enumerate(outcomes):
            at = TUESDAY_10AM + dt.timedelta(hours=hour)
            result = gate.reserve(account.request(at))
            assert result.allowed, result.verdict
            assert result.attempt_uuid is not None
            with db.sessions.begin() as session:
                mark_dialing(session, result.attempt_uuid, at)
                answered = at + dt.timedelta(seconds=8) if outcome != Outcome.NO_ANSWER else None
                complete(
                    session,
                    result.attempt_uuid,
                    CallResult(outcome, ended_at=at + dt.timedelta(minutes=1), answered_at=answered),
                )


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_reports_from_the_ledger(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    _ledger(db)
    monkeypatch.setenv("ARREARS_DATABASE_URL", db.url)
    from infra.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    period = ["--from", "2025-06-01", "--to", "2025-06-05"]

    regf = runner.invoke(report, ["regf", *period])
    assert regf.exit_code == 0, regf.output
    rows = _csv(regf.stdout)
    assert len(rows) == 2
    # The busy call never reached the number, so three of the four count.
    assert [(row["counted_calls"], row["most_in_7_days"], row["conversations"]) for row in rows] == [
        ("3", "3", "1")
    ] * 2
    assert {row["presumed_violation"] for row in rows} == {"False"}

    hours = _csv(runner.invoke(report, ["hours", *period]).stdout)
    assert hours
    assert all("regf.hours.local_time: passed" in row["hours_check"] for row in hours)

    abandon = _csv(runner.invoke(report, ["abandon", *period]).stdout)
    tuesday = next(row for row in abandon if row["day"] == "2025-06-03" and row["campaign_id"] == "all")
    # Live answers: the abandoned call and the conversation of each person.
    assert (tuesday["live_answered"], tuesday["abandoned"], tuesday["abandon_rate"]) == ("4", "2", "0.5000")
    assert tuesday["over_3_percent"] == "True"

    rate = runner.invoke(abandon_rate, ["--day", "2025-06-03"])
    assert rate.exit_code == 0, rate.output
    assert "rolling_30d_abandon_rate     0.5000" in rate.output
    get_settings.cache_clear()


def test_report_refuses_a_reversed_period() -> None:
    result = CliRunner().invoke(report, ["regf", "--from", "2025-06-05", "--to", "2025-06-01"])
    assert result.exit_code == 2
    assert "--to is before --from" in result.output
