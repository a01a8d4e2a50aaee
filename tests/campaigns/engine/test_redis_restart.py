"""An `arrears engine run` process whose Redis crashes and comes back, while it dials.

With Redis gone the engine cannot renew its campaign lease, so it must stop dialling at once (fail
closed): no attempt reserved, and no INVITE sent, later than the lease TTL plus one pacing tick
after Redis went away. When Redis is back, the same process must take the lease again and go on
dialling by itself. Afterwards every attempt is finished, every INVITE belongs to one attempt of
the ledger, none was dialled twice and nobody was dialled beyond the weekly cap.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from campaigns.engine.demo import carrier_simulator, demo_settings, prepare_demo
from campaigns.engine.loop import TICK_S
from compliance.ledger import is_counted
from compliance.models import AttemptStatus, ContactAttempt
from infra.db import utcnow
from tests.campaigns.engine.test_engine_failover import REG_F_WEEKLY_CAP, RING_TIMEOUT_S, engine_process
from tests.conftest import Database, PrivateRedis

pytestmark = [pytest.mark.sip, pytest.mark.slow]
LEASE_TTL_S = 3.0  # the engine's default --lease-ttl
STOP_BOUND = dt.timedelta(seconds=LEASE_TTL_S + TICK_S)
DOWN_FOR_S = 2 * LEASE_TTL_S  # long enough for the lease to run out
RESUME_LIMIT_S = 10.0


def _attempts(database: Database, campaign_id: int) -> list[ContactAttempt]:
    with database.sessions() as session:
        return list(
            session.scalars(sa.select(ContactAttempt).where(ContactAttempt.campaign_id == campaign_id))
        )


def _reserved_since(database: Database, campaign_id: int, since: dt.datetime) -> int:
    with database.sessions() as session:
        count = session.scalar(
            sa.select(sa.func.count())
            .select_from(ContactAttempt)
            .where(ContactAttempt.campaign_id == campaign_id, ContactAttempt.reserved_at > since)
        )
    return int(count or 0)


async def test_dialling_stops_while_redis_is_gone_and_resumes_when_it_is_back(
    pg_database: Database, private_redis: PrivateRedis
) -> None:
    settings = demo_settings(talk_mean_s=2.0, wrap_mean_s=1.0)
    settings["pacing"]["ring_timeout_seconds"] = RING_TIMEOUT_S  # the shortest: it bounds the drain
    async with carrier_simulator(seed=11, backends=4) as carrier:
        demo = await asyncio.to_thread(
            prepare_demo,
            pg_database.sessions,
            people=60,
            agents=2,
            carrier_port=carrier.port,
            settings=settings,
        )
        env = os.environ | {
            "ARREARS_DATABASE_URL": pg_database.url,
            "ARREARS_REDIS_URL": private_redis.url,
            "ARREARS_POLICY": demo.place.policy,
        }
        async with engine_process(env, carrier.port, "arrears-test") as engine:
            _, first = await engine.wait_for("acquired", 60)
            async with asyncio.timeout(30):
                while sum(1 for uuid in carrier.attempts if uuid) < 4:
                    await asyncio.sleep(0.1)

            gone_at, gone_mono = utcnow(), time.monotonic()
            private_redis.kill()
            await asyncio.sleep(DOWN_FOR_S)
            assert engine.first("lost", after=gone_mono) is not None, "the engine kept its lease"
            assert engine.process.returncode is None, "the engine process died with Redis"
            await asyncio.to_thread(private_redis.start)
            back_at, back_mono = utcnow(), time.monotonic()

            acquired_at, again = await engine.wait_for("acquired", RESUME_LIMIT_S, after=back_mono)
            assert again["token"] == first["token"]  # the same process, never restarted
            async with asyncio.timeout(RESUME_LIMIT_S - (acquired_at - back_mono)):
                while _reserved_since(pg_database, demo.campaign_id, back_at) < 2:
                    await asyncio.sleep(0.1)

            engine.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                assert await engine.process.wait() == 0

    attempts = _attempts(pg_database, demo.campaign_id)
    # Fail closed: nothing reserved or sent out from the bound after Redis went until it was back.
    blind = (gone_at + STOP_BOUND, back_at)
    assert not [a.uuid for a in attempts if blind[0] < a.reserved_at < blind[1]]
    assert not [a.uuid for a in attempts if a.dialed_at and blind[0] < a.dialed_at < blind[1]]
    assert [a for a in attempts if a.reserved_at < gone_at], "nothing was dialled before Redis went"
    # Nothing lost: every attempt is finished, with an outcome unless it was cancelled undialled.
    assert {a.status for a in attempts} <= {AttemptStatus.COMPLETED, AttemptStatus.CANCELLED}
    assert all(a.outcome is not None for a in attempts if a.status is AttemptStatus.COMPLETED)
    # Nothing repeated: every INVITE is one attempt of the ledger, sent once; a cancelled one never.
    invites = Counter({uuid: n for uuid, n in carrier.attempts.items() if uuid})  # agent legs carry none
    by_uuid = {a.uuid: a for a in attempts}
    assert set(invites) <= set(by_uuid)
    assert max(invites.values()) == 1
    assert not [uuid for uuid in invites if by_uuid[uuid].status is AttemptStatus.CANCELLED]
    # No cap exceeded.
    counted = Counter(a.person_id for a in attempts if is_counted(a.status, a.outcome))
    assert max(counted.values()) <= REG_F_WEEKLY_CAP
