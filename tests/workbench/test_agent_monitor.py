"""The managers' agent monitor names each agent's state as the state machine has it."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.agent_state import Activity, AgentStatus, PauseCode
from workbench.agents import AgentRecord
from workbench.pages import Pages
from workbench.viewer import ClientScope

SINCE = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (AgentStatus(Activity.READY, None, SINCE), "Ready"),
        (AgentStatus(Activity.ON_CALL, None, SINCE, "attempt-1"), "On a call"),
        (AgentStatus(Activity.WRAP_UP, None, SINCE, "attempt-1"), "Wrap-up"),
        (AgentStatus(Activity.PAUSED, PauseCode.BREAK, SINCE), "Paused: "),
    ],
)
def test_each_state_is_named(status: AgentStatus, shown: str) -> None:
    record = AgentRecord(7, "Jo Collector", ClientScope(frozenset({1})), status)
    html = Pages().render("fragments/agent_monitor.html", records=[record], oob=False)
    state_cell = html.split('<tr id="agent-row-7">', 1)[1].split("</td>", 2)[1]
    assert state_cell.strip().removeprefix("<td>").startswith(shown)
