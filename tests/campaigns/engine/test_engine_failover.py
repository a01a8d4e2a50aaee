"""Two `arrears engine run` processes on PostgreSQL and Redis; the one pacing the campaign is killed.

The survivor must take the campaign over within 5 s, close what the dead one left open, and go
on dialling; afterwards every attempt the carrier saw is in the ledger exactly once, every attempt
in the ledger is finished, nobody was dialled twice at once and nobody beyond the weekly cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from campaigns.engine.demo import TRUNK, Carrier, DemoCampaign, carrier_simulator, demo_settings, prepare_demo
from campaigns.engine.lease import campaign_key
from campaigns.engine.runner import RECONCILE_EVERY_S
from campaigns.engine.store import ORPHAN_REASON
from compliance.ledger import is_counted
from compliance.models import AttemptStatus, ContactAttempt
from tests.conftest import Database

pytestmark = [pytest.mark.sip, pytest.mark.slow]
REG_F_WEEKLY_CAP = 7
TAKEOVER_LIMIT_S = 5.0
RING_TIMEOUT_S = 15


@dataclasses.dataclass
class EngineProcess:
    process: asyncio.subprocess.Process
    events: list[tuple[float, dict[str, Any]]] = dataclasses.field(default_factory=list)
    arrived: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    async def follow(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            with contextlib.suppress(json.JSONDecodeError):
                self.events.append((time.monotonic(), json.loads(line)))
                self.arrived.set()

    def first(self, kind: str, after: float = 0.0) -> tuple[float, dict[str, Any]] | None:
        return next(
            ((at, event) for at, event in self.events if event.get("event") == kind and at > after), None
        )

    async def wait_for(self, kind: str, timeout: float, after: float = 0.0) -> tuple[float, dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while (found := self.first(kind, after)) is None:
                self.arrived.clear()
                await self.arrived.wait()
        return found


@contextlib.asynccontextmanager
async def engine_process(env: dict[str, str], port: int, prefix: str) -> AsyncIterator[EngineProcess]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("arrears")),
        "engine",
        "run",
        "--trunk",
        f"{TRUNK}=sip:{{number}}@127.0.0.1:{port}",
        "--simulated-agents",
        "2",
        "--talk-mean",
        "2",
        "--wrap-mean",
        "1",
        "--capacity",
        "12",
        "--prefix",
        prefix,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    engine = EngineProcess(process)
    reader = asyncio.create_task(engine.follow())
    try:
        yield engine
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        await reader


@dataclasses.dataclass(frozen=True)
class LiveCampaign:
    carrier: Carrier
    demo: DemoCampaign
    env: dict[str, str]  # for `arrears` processes: the database, Redis and the campaign's policy


@contextlib.asynccontextmanager
async def live_campaign(
    db: Database, redis_url: str, *, people: int, agents: int, talk_mean_s: float, backends: int
) -> AsyncIterator[LiveCampaign]:
    """The demo campaign on PostgreSQL, with the carrier simulator it dials."""
    settings = demo_settings(talk_mean_s=talk_mean_s, wrap_mean_s=1.0)
    settings["pacing"]["ring_timeout_seconds"] = RING_TIMEOUT_S
    async with carrier_simulator(seed=7, backends=backends) as carrier:
        demo = await asyncio.to_thread(
            prepare_demo,
            db.sessions,
            people=people,
            agents=agents,
            carrier_port=carrier.port,
            settings=settings,
        )
        env = os.environ | {
            "ARREARS_DATABASE_URL": db.url,
            "ARREARS_REDIS_URL": redis_url,
            "ARREARS_POLICY": demo.place.policy,
        }
        yield LiveCampaign(carrier, demo, env)


def _holder(redis_url: str, prefix: str, campaign_id: int) -> str | None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        value = client.get(f"{prefix}:lease:{campaign_key(campaign_id)}")
        return None if value is None else str(value)
    finally:
        client.close()


async def test_killed_holder_is_replaced_without_losing_or_repeating_attempts(
    pg_database: Database, redis_url: str, redis_namespace: str
) -> None:
    async with live_campaign(
        pg_database, redis_url, people=80, agents=2, talk_mean_s=2.0, backends=6
    ) as live:
        carrier, demo, env = live.carrier, live.demo, live.env
        async with (
            engine_process(env, carrier.port, redis_namespace) as first,
            engine_process(env, carrier.port, redis_namespace) as second,
        ):
            # Whichever holds the lease paces; let it place a few calls, then kill it.
            tokens: dict[str | None, EngineProcess] = {}
            for engine in (first, second):
                _, started = await engine.wait_for("started", 60)
                tokens[started["token"]] = engine
            token = None
            async with asyncio.timeout(40):
                while sum(1 for uuid in carrier.attempts if uuid) < 6 or token not in tokens:
                    await asyncio.sleep(0.1)
                    token = _holder(redis_url, redis_namespace, demo.campaign_id)
            holder = tokens.pop(token)
            [survivor] = tokens.values()
            killed_at = time.monotonic()
            holder.process.send_signal(signal.SIGKILL)

            taken_at, taken = await survivor.wait_for("acquired", TAKEOVER_LIMIT_S + 1, after=killed_at)
            assert taken_at - killed_at < TAKEOVER_LIMIT_S
            assert _holder(redis_url, redis_namespace, demo.campaign_id) == taken["token"] != token
            invites_at_takeover = sum(1 for uuid in carrier.attempts if uuid)

            async with asyncio.timeout(20):
                while sum(1 for uuid in carrier.attempts if uuid) < invites_at_takeover + 3:
                    await asyncio.sleep(0.1)
            # Told to stop, the survivor drains its calls and, before it lets the campaign go,
            # closes the dead holder's open attempts once none of their calls can still ring.
            survivor.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(RING_TIMEOUT_S + 2 * RECONCILE_EVERY_S + 15):
                assert await survivor.process.wait() == 0
    assert _holder(redis_url, redis_namespace, demo.campaign_id) is None  # released on the way out

    with pg_database.sessions() as session:
        attempts = session.scalars(
            sa.select(ContactAttempt).where(ContactAttempt.campaign_id == demo.campaign_id)
        ).all()
    invites = Counter({uuid: n for uuid, n in carrier.attempts.items() if uuid})  # agent legs carry none
    # Nothing lost: every attempt is finished, and every INVITE belongs to one attempt of the ledger.
    assert {attempt.status for attempt in attempts} <= {AttemptStatus.COMPLETED, AttemptStatus.CANCELLED}
    by_uuid = {attempt.uuid: attempt for attempt in attempts}
    assert set(invites) <= set(by_uuid)
    # Nothing repeated: no attempt was dialled twice, and a cancelled one never went out.
    assert max(invites.values()) == 1
    assert not any(invites[a.uuid] for a in attempts if a.status is AttemptStatus.CANCELLED)
    # The dead holder's open attempts were closed by the survivor, the rest by what SIP saw.
    orphans = [a for a in attempts if a.sip_reason == ORPHAN_REASON]
    assert orphans, "the killed engine left no call open: kill it earlier"
    assert all(a.outcome is not None and is_counted(a.status, a.outcome) for a in orphans)
    assert all(
        invites[a.uuid] == 1 for a in attempts if a.status is AttemptStatus.COMPLETED and a not in orphans
    )
    assert_no_cap_exceeded(attempts)


def assert_no_cap_exceeded(attempts: Sequence[ContactAttempt]) -> None:
    """At most the weekly cap of counted calls per person, and one call per person at a time."""
    counted = Counter(a.person_id for a in attempts if is_counted(a.status, a.outcome))
    assert max(counted.values()) <= REG_F_WEEKLY_CAP
    for person in counted:
        spans = sorted(
            (a.reserved_at, a.ended_at)
            for a in attempts
            if a.person_id == person and a.status is AttemptStatus.COMPLETED and a.ended_at
        )
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))
