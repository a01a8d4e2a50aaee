"""Browser agents as the engine's agent pool: the pure phase mapping and claim/withdraw steps, and
the pool over the in-process live store and bus on a real database."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from campaigns.engine.agents import EndedCall
from compliance.attempts import CallResult
from compliance.models import Outcome
from dialer.pacing import AgentPhase
from infra.bus.local import LocalBus
from infra.models import Role
from infra.users import create_user
from tests.conftest import Database
from tests.workbench.conftest import CHEAP_HASHER, PASSWORD, add_client
from workbench.agent_state import Activity, AgentStatus, GoReady, Pause, PauseCode, Refused, SignIn
from workbench.agents import AgentRecord, AgentStates
from workbench.auth import audit_user_change
from workbench.engine_agents import BrowserAgents, claim_step, pacing_phase, phase_of, withdraw_step
from workbench.live_store import MemoryLiveStore
from workbench.sessions import WebSession
from workbench.viewer import ClientScope, Viewer

EARLIER = dt.datetime(2026, 3, 2, 13, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
CALL = "attempt-1"
READY = AgentStatus(Activity.READY, None, EARLIER)
ON_CALL = AgentStatus(Activity.ON_CALL, None, EARLIER, CALL)
ON_OTHER_CALL = AgentStatus(Activity.ON_CALL, None, EARLIER, "attempt-2")
WRAP_UP = AgentStatus(Activity.WRAP_UP, None, EARLIER, CALL)
ON_BREAK = AgentStatus(Activity.PAUSED, PauseCode.BREAK, EARLIER)
SIGNED_IN = AgentStatus(Activity.PAUSED, PauseCode.LOGIN, EARLIER)
LAGGED = AgentStatus(Activity.PAUSED, PauseCode.LAGGED, EARLIER)


def record(status: AgentStatus) -> AgentRecord:
    return AgentRecord(7, "Ann", ClientScope(frozenset({1})), status)


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        (READY, AgentPhase.IDLE),
        (ON_CALL, AgentPhase.TALK),
        (WRAP_UP, AgentPhase.WRAP),
        (ON_BREAK, AgentPhase.PAUSED),
        (SIGNED_IN, AgentPhase.PAUSED),
        (LAGGED, AgentPhase.PAUSED),
    ],
)
def test_phase_of_each_activity(status: AgentStatus, phase: AgentPhase) -> None:
    assert phase_of(status) is phase


@pytest.mark.parametrize(
    ("status", "hung_up", "expected"),
    [
        (ON_CALL, None, (AgentPhase.TALK, EARLIER)),
        (ON_CALL, (CALL, NOW), (AgentPhase.WRAP, NOW)),
        (ON_OTHER_CALL, (CALL, NOW), (AgentPhase.TALK, EARLIER)),  # the hang-up was another call's
        (WRAP_UP, (CALL, NOW), (AgentPhase.WRAP, EARLIER)),  # dispositioned: the agent's own wrap-up
        (READY, (CALL, NOW), (AgentPhase.IDLE, EARLIER)),
    ],
)
def test_the_pacer_sees_a_hung_up_call_as_wrap_up_from_the_hang_up(
    status: AgentStatus, hung_up: tuple[str, dt.datetime] | None, expected: tuple[AgentPhase, dt.datetime]
) -> None:
    assert pacing_phase(status, hung_up) == expected


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (None, Refused("not signed in")),
        (READY, AgentStatus(Activity.ON_CALL, None, NOW, CALL)),
        (ON_CALL, Refused("not ready")),
        (ON_OTHER_CALL, Refused("not ready")),
        (WRAP_UP, Refused("not ready")),
        (ON_BREAK, Refused("not ready")),
        (SIGNED_IN, Refused("not ready")),
        (LAGGED, Refused("not ready")),
    ],
)
def test_only_a_ready_agent_is_claimed(current: AgentStatus | None, expected: AgentStatus | Refused) -> None:
    result = claim_step(CALL)(None if current is None else record(current), NOW)
    assert result == (expected if isinstance(expected, Refused) else record(expected))


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (None, Refused("that call is not the agent's")),
        (READY, Refused("that call is not the agent's")),
        (ON_OTHER_CALL, Refused("that call is not the agent's")),
        (ON_CALL, AgentStatus(Activity.READY, None, NOW)),
        (WRAP_UP, WRAP_UP),  # the agent dispositioned it already: their wrap-up is left alone
    ],
)
def test_a_withdrawn_call_puts_its_agent_back_to_ready(
    current: AgentStatus | None, expected: AgentStatus | Refused
) -> None:
    result = withdraw_step(CALL)(None if current is None else record(current), NOW)
    assert result == (expected if isinstance(expected, Refused) else record(expected))


def viewer(user_id: int, client_id: int) -> Viewer:
    return Viewer(
        user_id,
        f"agent{user_id}",
        f"Agent {user_id}",
        Role.AGENT,
        ClientScope(frozenset({client_id})),
        WebSession(f"session-{user_id}", user_id, "csrf", NOW),
    )


def add_agent(db: Database, username: str, client: str, sip_uri: str | None) -> int:
    with db.sessions() as session, session.begin():
        user = create_user(
            session,
            username=username,
            password=PASSWORD,
            role=Role.AGENT,
            on_change=audit_user_change,
            client_codes=[client],
            sip_uri=sip_uri,
            hasher=CHEAP_HASHER,
        )
        return user.id


async def test_the_pool_sees_its_clients_agents_with_phones_and_claims_ready_ones(
    sqlite_database: Database,
) -> None:
    ours = add_client(sqlite_database, "OURS", "Ours")
    theirs = add_client(sqlite_database, "THEIRS", "Theirs")
    ann = add_agent(sqlite_database, "ann", "OURS", "sip:agent-1@127.0.0.1:5080")
    bob = add_agent(sqlite_database, "bob", "OURS", "sip:agent-2@127.0.0.1:5080")
    phoneless = add_agent(sqlite_database, "cid", "OURS", None)
    other = add_agent(sqlite_database, "dee", "THEIRS", "sip:agent-3@127.0.0.1:5080")
    bus = LocalBus()
    states = AgentStates(MemoryLiveStore(), bus, lambda: NOW)
    pool = BrowserAgents(states, bus, sqlite_database.sessions, ours)
    changes = asyncio.Event()
    pool.watch(changes.set)
    await asyncio.sleep(0)  # the watcher subscribes
    try:
        for user_id, client_id in ((ann, ours), (bob, ours), (phoneless, ours), (other, theirs)):
            await states.apply(viewer(user_id, client_id), SignIn())
            await states.apply(viewer(user_id, client_id), GoReady())
        await states.apply(viewer(bob, ours), Pause(PauseCode.BREAK))
        await asyncio.wait_for(changes.wait(), 5)

        views = {view.user_id: view for view in await pool.agents()}
        assert {user: (view.phase, view.sip_uri) for user, view in views.items()} == {
            ann: (AgentPhase.IDLE, "sip:agent-1@127.0.0.1:5080"),
            bob: (AgentPhase.PAUSED, "sip:agent-2@127.0.0.1:5080"),
        }
        assert not await pool.claim(bob, CALL)
        assert await pool.claim(ann, CALL)
        assert not await pool.claim(ann, "attempt-2")
        assert [view.phase for view in await pool.agents() if view.user_id == ann] == [AgentPhase.TALK]
        assert await pool.settled()  # people complete their calls in the workbench: never waited for

        await pool.release(ann, CALL, None)
        ready_again = await states.get(ann)
        assert ready_again is not None
        assert ready_again.status == AgentStatus(Activity.READY, None, NOW)

        assert await pool.claim(ann, CALL)
        ended = EndedCall(CALL, CallResult(outcome=Outcome.CONVERSATION, ended_at=NOW))
        await pool.release(ann, CALL, ended)
        on_call = await states.get(ann)
        # A conversation stays the agent's until they disposition it; the pacer sees wrap-up.
        assert on_call is not None
        assert on_call.status == AgentStatus(Activity.ON_CALL, None, NOW, CALL)
        assert [(view.phase, view.since) for view in await pool.agents() if view.user_id == ann] == [
            (AgentPhase.WRAP, NOW)
        ]
    finally:
        await pool.close()
        await bus.close()
