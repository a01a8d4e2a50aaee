"""`arrears engine run --sip-nodes redis` dialling through two `arrears sipnode` processes.

One node is killed (SIGKILL) while calls are up: the engine records those calls as lost in the
ledger, goes on dialling through the survivor, and at SIGTERM leaves every attempt finished, with
every INVITE the carrier saw belonging to exactly one attempt.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import pytest
import sqlalchemy as sa

from campaigns.engine.demo import TRUNK
from compliance.models import AttemptStatus, ContactAttempt
from dialer.sip.remote_core import NODE_LOST
from tests.campaigns.engine.test_engine_failover import EngineProcess, live_campaign
from tests.conftest import Database
from tests.dialer.sip.conftest import ARREARS
from tests.dialer.test_sipnode import sipnode

pytestmark = [pytest.mark.sip, pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


def dialled(invites: Counter[str]) -> int:
    return sum(1 for uuid in invites if uuid)  # agent legs carry no attempt


async def until_dialled(invites: Counter[str], count: int, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while dialled(invites) < count:
            await asyncio.sleep(0.1)


async def test_engine_dials_through_remote_nodes_and_records_a_lost_nodes_calls(
    pg_database: Database, redis_url: str, redis_namespace: str
) -> None:
    async with live_campaign(
        pg_database, redis_url, people=60, agents=3, talk_mean_s=6.0, backends=4
    ) as live:
        carrier, demo, env = live.carrier, live.demo, live.env
        async with (
            sipnode("node-a", carrier.port, redis_url, redis_namespace) as node_a,
            sipnode("node-b", carrier.port, redis_url, redis_namespace),
        ):
            process = await asyncio.create_subprocess_exec(
                ARREARS, "engine", "run", "--sip-nodes", "redis", "--trunk", TRUNK,
                "--simulated-agents", "3", "--talk-mean", "6", "--wrap-mean", "1",
                "--prefix", redis_namespace,
                env=env, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            engine = EngineProcess(process)
            reader = asyncio.create_task(engine.follow())
            try:
                await engine.wait_for("acquired", 60)
                await until_dialled(carrier.attempts, 8, 60)
                node_a.process.send_signal(signal.SIGKILL)
                await node_a.process.wait()
                at_kill = dialled(carrier.attempts)
                await until_dialled(carrier.attempts, at_kill + 4, 40)  # the survivor carries on
                process.send_signal(signal.SIGTERM)
                async with asyncio.timeout(60):
                    assert await process.wait() == 0
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                await reader

    with pg_database.sessions() as session:
        attempts = session.scalars(
            sa.select(ContactAttempt).where(ContactAttempt.campaign_id == demo.campaign_id)
        ).all()
    invites = Counter({uuid: n for uuid, n in carrier.attempts.items() if uuid})
    assert {attempt.status for attempt in attempts} <= {AttemptStatus.COMPLETED, AttemptStatus.CANCELLED}
    by_uuid = {attempt.uuid: attempt for attempt in attempts}
    assert set(invites) <= set(by_uuid)
    assert max(invites.values()) == 1
    lost = [attempt for attempt in attempts if attempt.sip_reason == NODE_LOST]
    assert lost, "the killed node carried no call: kill it later"
    assert all(attempt.outcome is not None for attempt in lost)
