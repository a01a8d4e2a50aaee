"""An engine runner dialling over real SIP loses one SIP worker process to `kill -9` mid-campaign.

The worker is killed while it carries a bridged call and at least one customer call no agent is
on (ringing or answered). Every call of that worker must end completed in the ledger as lost
(`worker_lost`): a bridged one as the conversation it was, dispositioned by its agent, who goes
back to taking calls; the others with an outcome that made no contact yet still counts toward
the caps (the INVITE left, so the phone may ring on). The worker comes back and the campaign
dials through it again; the other workers' calls end as SIP saw them; no attempt is lost or
dialled twice, and nobody is dialled beyond the weekly cap or twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from campaigns.engine.demo import TRUNK, carrier_simulator, demo_settings, prepare_demo
from campaigns.engine.lease import RedisLeases, new_token
from campaigns.engine.runner import EngineRunner, RunnerConfig
from campaigns.engine.sim_agents import CONVERSATION_CODES, HUNG_UP_CODE, Behaviour
from compliance.ledger import LIVE_ANSWER, is_counted
from compliance.models import AttemptStatus, ContactAttempt, Outcome
from dialer.sip.config import NodeConfig, Trunk
from dialer.sip.node import SipNode
from infra.db import utcnow
from tests.campaigns.engine.test_engine_failover import RING_TIMEOUT_S, assert_no_cap_exceeded
from tests.conftest import Database

pytestmark = [pytest.mark.sip, pytest.mark.slow]
LOST = "worker_lost"
TALK_MEAN_S = 4.0  # long enough for a bridged call to be caught in progress
WRAP_MEAN_S = 1.0
CAPACITY = 8  # two workers of four legs: two customer calls each, with their agent legs
POLL_S = 0.02
DIAL_RATIO = 2.0  # two agents: four customer calls, as many as the workers take
# A lost call no agent was on made no contact: unanswered (the phone may ring on), answered by a
# person nobody took, or by a machine.
LOST_UNBRIDGED = frozenset({Outcome.NO_ANSWER, Outcome.ABANDONED, Outcome.MACHINE})


@dataclasses.dataclass(frozen=True)
class Victim:
    index: int
    pid: int
    bridged: frozenset[str]  # attempt uuids of its customer calls, by what the node saw at the kill
    unbridged: frozenset[str]
    elsewhere: frozenset[str]  # customer calls in progress on the other workers


@contextlib.asynccontextmanager
async def running_engine(
    database: Database, redis_url: str, prefix: str, carrier_port: int, policy: str
) -> AsyncIterator[SipNode]:
    """`arrears engine run` without its command-line shell, so the test can see the node's workers."""
    trunk = Trunk(TRUNK, f"sip:{{number}}@127.0.0.1:{carrier_port}", "sip:+15550100@127.0.0.1")
    node = SipNode(NodeConfig(trunks=(trunk,), capacity=CAPACITY, ring_timeout_s=60.0))
    await node.start()
    leases = RedisLeases.from_url(redis_url, prefix=prefix)
    config = RunnerConfig(
        token=new_token(),
        trunks=frozenset({TRUNK}),
        policy=policy,
        simulated_agents=2,
        behaviour=Behaviour(TALK_MEAN_S, WRAP_MEAN_S),
    )
    stop = asyncio.Event()
    runner = asyncio.create_task(EngineRunner(database.sessions, leases, node, config).run(stop))
    try:
        yield node
        stop.set()
        async with asyncio.timeout(RING_TIMEOUT_S + 3 * TALK_MEAN_S + 15):
            await runner  # drains every call in flight
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            runner.cancel()
            await runner
        await node.stop()
        await leases.close()


def _customer_calls(node: SipNode, worker: int | None = None) -> dict[str, bool]:
    """Attempt uuid -> bridged, of the customer calls in progress (on `worker`)."""
    return {
        str(record.command.args["attempt_id"]): record.bridged
        for record in node.calls.values()
        if record.role == "customer" and (worker is None or record.worker == worker)
    }


async def _kill_busy_worker(node: SipNode) -> Victim:
    """Wait for a worker carrying a bridged call and an unbridged one, and `kill -9` it."""
    async with asyncio.timeout(40):
        while True:
            for worker in node.workers:
                calls = _customer_calls(node, worker.index)
                if worker.ready and any(calls.values()) and not all(calls.values()):
                    assert worker.process is not None
                    assert worker.process.pid == worker.pid
                    os.kill(worker.pid, signal.SIGKILL)
                    return Victim(
                        worker.index,
                        worker.pid,
                        frozenset(uuid for uuid, bridged in calls.items() if bridged),
                        frozenset(uuid for uuid, bridged in calls.items() if not bridged),
                        frozenset(_customer_calls(node)) - frozenset(calls),
                    )
            await asyncio.sleep(POLL_S)


async def _dialled_through(node: SipNode, victim: Victim) -> str:
    """The attempt uuid of the first customer call the restarted worker carries."""
    async with asyncio.timeout(30):
        while True:
            worker = node.workers[victim.index]
            if worker.ready and worker.pid != victim.pid and (calls := _customer_calls(node, victim.index)):
                return next(iter(calls))
            await asyncio.sleep(POLL_S)


def _attempts(database: Database, campaign_id: int) -> list[ContactAttempt]:
    with database.sessions() as session:
        return list(
            session.scalars(sa.select(ContactAttempt).where(ContactAttempt.campaign_id == campaign_id))
        )


async def _bridged_again(database: Database, campaign_id: int, agents: set[int], since: dt.datetime) -> None:
    """Wait until every agent in `agents` has been bridged to a call after `since`."""
    async with asyncio.timeout(30):
        while True:
            attempts = await asyncio.to_thread(_attempts, database, campaign_id)
            back = {a.agent_id for a in attempts if a.connected_at is not None and a.connected_at > since}
            if agents <= back:
                return
            await asyncio.sleep(0.2)


async def test_a_killed_sip_worker_s_calls_end_as_lost_and_dialling_goes_on(
    pg_database: Database, redis_url: str, redis_namespace: str
) -> None:
    # The ratio pacer keeps every worker busy, so one carries a bridged call and another at once.
    settings = demo_settings(talk_mean_s=TALK_MEAN_S, wrap_mean_s=WRAP_MEAN_S, pacer="ratio")
    settings["pacing"]["max_dial_ratio"] = DIAL_RATIO
    settings["pacing"]["ring_timeout_seconds"] = RING_TIMEOUT_S  # the shortest: it bounds the drain
    async with carrier_simulator(seed=5, backends=4) as carrier:
        demo = await asyncio.to_thread(
            prepare_demo,
            pg_database.sessions,
            people=80,
            agents=2,
            carrier_port=carrier.port,
            settings=settings,
        )
        async with running_engine(
            pg_database, redis_url, redis_namespace, carrier.port, demo.place.policy
        ) as node:
            victim = await _kill_busy_worker(node)
            killed_at = utcnow()
            through_restarted = await _dialled_through(node, victim)
            assert node.restarts == 1
            with pg_database.sessions() as session:
                on_lost_calls = session.scalars(
                    sa.select(ContactAttempt.agent_id).where(ContactAttempt.uuid.in_(victim.bridged))
                )
                lost_agents = {agent for agent in on_lost_calls if agent is not None}
            assert len(lost_agents) == len(victim.bridged)  # written on the attempt at the bridge
            # Freed from the dead call (not left talking), each agent takes another one.
            await _bridged_again(pg_database, demo.campaign_id, lost_agents, killed_at)

    attempts = _attempts(pg_database, demo.campaign_id)
    by_uuid = {a.uuid: a for a in attempts}
    # Nothing lost: every attempt is finished.
    assert {a.status for a in attempts} <= {AttemptStatus.COMPLETED, AttemptStatus.CANCELLED}
    # Exactly the killed worker's calls ended as lost; every other call ended as SIP saw it.
    lost = {a.uuid for a in attempts if a.sip_reason == LOST}
    assert lost == victim.bridged | victim.unbridged
    assert all(by_uuid[uuid].status is AttemptStatus.COMPLETED for uuid in victim.elsewhere)
    # A bridged call cut off mid-conversation is a conversation, dispositioned by its agent.
    talked = {code for code, _ in CONVERSATION_CODES} | {HUNG_UP_CODE}
    for uuid in victim.bridged:
        attempt = by_uuid[uuid]
        assert attempt.disposition_code in talked, (uuid, attempt.disposition_code)
        assert attempt.outcome in LIVE_ANSWER
        assert is_counted(attempt.status, attempt.outcome)
        assert attempt.agent_id is not None
        assert attempt.connected_at is not None
    # The others made no contact, yet count toward the caps: their INVITE had left.
    for uuid in victim.unbridged:
        attempt = by_uuid[uuid]
        assert attempt.outcome in LOST_UNBRIDGED, (uuid, attempt.outcome)
        assert is_counted(attempt.status, attempt.outcome)
        assert attempt.agent_id is None
        assert attempt.disposition_code is None
    # The restarted worker carried the campaign's calls again, and they ended as SIP saw them.
    restarted = by_uuid[through_restarted]
    assert restarted.status is AttemptStatus.COMPLETED
    assert restarted.sip_reason != LOST
    # Nothing repeated: every INVITE is one attempt of the ledger, sent once; a cancelled one never.
    invites = Counter({uuid: n for uuid, n in carrier.attempts.items() if uuid})  # agent legs carry none
    assert set(invites) <= set(by_uuid)
    assert max(invites.values()) == 1
    assert not [uuid for uuid in invites if by_uuid[uuid].status is AttemptStatus.CANCELLED]
    assert_no_cap_exceeded(attempts)
