"""A long-running engine process: watch active campaigns, contend for their leases, pace those held.

Any number of these processes run side by side on PostgreSQL and Redis. Every `watch_every_s`
each one tries to take the lease of every active campaign it can dial (its trunks) and does not
hold; the holder runs a `CampaignEngine` for the campaign until the campaign stops being active,
the process is told to stop, or the lease is lost. When a holder dies its lease expires after at
most its TTL and the next contender to try takes the campaign over; the successor closes what
the dead holder left open (`store.close_orphans`) once no call of its could still ring, and does
not let the campaign go before it has.

Agents: the runner pairs each campaign it holds with an agent pool made by `agent_pools`, given by
whoever composes the process (the browser agents live in the workbench, which this package may
not import). Without one it uses simulated agents (`SimulatedAgents`): the campaign client's agent
users that have a SIP URI, as many as the configuration asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaigns.account_facts import load_account_facts
from campaigns.engine import store
from campaigns.engine.agents import AgentPool
from campaigns.engine.lease import HeldLease, LeaseStore, LeaseTiming, campaign_key
from campaigns.engine.loop import CampaignEngine
from campaigns.engine.settings import CampaignSettingsError
from campaigns.engine.sim_agents import Behaviour, SimulatedAgents
from campaigns.models import Campaign, CampaignStatus
from compliance.gate import DialGate
from dialer.sip.call_node import CallNode
from infra.bus import Bus
from infra.db import utcnow
from infra.models import Role, User, UserClientScope

log = logging.getLogger(__name__)

RECONCILE_EVERY_S = 2.0
UNRUNNABLE_BACKOFF_S = 30.0  # a campaign this process cannot run is looked at again after this


@dataclasses.dataclass(frozen=True)
class RunnerConfig:
    token: str  # this process's lease token
    trunks: frozenset[str]  # campaigns on other trunks are left to engines that have them
    policy: str
    simulated_agents: int | None  # None: the agent pools are given to the runner
    behaviour: Behaviour
    timing: LeaseTiming = dataclasses.field(default_factory=LeaseTiming)
    watch_every_s: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.simulated_agents is not None and self.simulated_agents < 1:
            raise ValueError("simulated_agents: at least one agent is needed to pace a campaign")


def active_campaigns(session: Session, trunks: frozenset[str]) -> list[int]:
    return list(
        session.scalars(
            sa.select(Campaign.id)
            .where(Campaign.status == CampaignStatus.ACTIVE, Campaign.trunk.in_(sorted(trunks)))
            .order_by(Campaign.id)
        )
    )


def simulated_team(session: Session, client_id: int, size: int) -> list[tuple[int, str]]:
    """The first `size` active agents scoped to the client who have a phone to ring."""
    rows = session.execute(
        sa.select(User.id, User.sip_uri)
        .join(UserClientScope, UserClientScope.user_id == User.id)
        .where(
            UserClientScope.client_id == client_id,
            User.role == Role.AGENT,
            User.active.is_(True),
            User.sip_uri.is_not(None),
        )
        .order_by(User.id)
        .limit(size)
    )
    return [(int(user_id), str(uri)) for user_id, uri in rows]


# The agent pool of one held campaign, open while the runner paces it.
AgentPools = Callable[[store.CampaignConfig], contextlib.AbstractAsyncContextManager[AgentPool]]


def simulated_pools(
    sessions: sessionmaker[Session], node: CallNode, size: int, behaviour: Behaviour, seed: int
) -> AgentPools:
    """Bots for every campaign: the first `size` of its client's agents that have a SIP URI."""

    @contextlib.asynccontextmanager
    async def pool(campaign: store.CampaignConfig) -> AsyncIterator[AgentPool]:
        def team() -> list[tuple[int, str]]:
            with sessions() as session:
                return simulated_team(session, campaign.client_id, size)

        members = await asyncio.to_thread(team)
        if not members:
            raise store.CampaignNotRunnableError(
                f"campaign {campaign.name!r}: no active agent of its client has a SIP URI to simulate"
            )
        yield SimulatedAgents(node, sessions, members, behaviour, seed=seed)

    return pool


class EngineRunner:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        leases: LeaseStore,
        node: CallNode,
        config: RunnerConfig,
        *,
        bus: Bus | None = None,
        report: Callable[[dict[str, Any]], None] = lambda _event: None,
        agent_pools: AgentPools | None = None,
    ) -> None:
        if agent_pools is None:
            if config.simulated_agents is None:
                raise ValueError("simulated_agents: give a number of bots, or the agent pools to use")
            agent_pools = simulated_pools(
                sessions, node, config.simulated_agents, config.behaviour, config.seed
            )
        self.agent_pools = agent_pools
        self.sessions = sessions
        self.leases = leases
        self.node = node
        self.config = config
        self.bus = bus
        self.report = report
        self.gate = DialGate(sessions, load_account_facts, config.policy)
        self.running: dict[int, asyncio.Task[None]] = {}
        self.stops: dict[int, asyncio.Event] = {}
        self.unrunnable_until: dict[int, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Contend and pace until `stop` is set; then drain every held campaign and release it."""
        try:
            while not stop.is_set():
                active = set(await asyncio.to_thread(self._active))
                for campaign_id in sorted(active - set(self.running)):
                    if self.unrunnable_until.get(campaign_id, 0.0) <= time.monotonic():
                        await self._contend(campaign_id)
                for campaign_id in set(self.running) - active:
                    self.stops[campaign_id].set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.watch_every_s)
        finally:
            for campaign_stop in self.stops.values():
                campaign_stop.set()
            if self.running:
                await asyncio.wait(list(self.running.values()))

    def _active(self) -> list[int]:
        with self.sessions() as session:
            return active_campaigns(session, self.config.trunks)

    async def _contend(self, campaign_id: int) -> None:
        lease = await HeldLease.take(
            self.leases, campaign_key(campaign_id), self.config.token, self.config.timing
        )
        if lease is None:
            return
        campaign_stop = asyncio.Event()
        self.stops[campaign_id] = campaign_stop
        task = asyncio.get_running_loop().create_task(self._hold(campaign_id, lease, campaign_stop))
        self.running[campaign_id] = task
        task.add_done_callback(lambda _task: self._forget(campaign_id))

    def _forget(self, campaign_id: int) -> None:
        self.running.pop(campaign_id, None)
        self.stops.pop(campaign_id, None)

    async def _hold(self, campaign_id: int, lease: HeldLease, campaign_stop: asyncio.Event) -> None:
        taken_at = utcnow()
        self.report({"event": "acquired", "campaign": campaign_id, "token": lease.token})
        keeper = asyncio.get_running_loop().create_task(lease.keep())
        stop_on_loss = asyncio.get_running_loop().create_task(_set_when(lease.lost, campaign_stop))
        try:
            campaign = await asyncio.to_thread(self._campaign, campaign_id)
            async with self.agent_pools(campaign) as agents:
                engine = await asyncio.to_thread(self._engine, campaign, agents, lease)
                reconciler = asyncio.get_running_loop().create_task(
                    self._reconcile(engine.campaign, lease, taken_at)
                )
                try:
                    await engine.run(campaign_stop)
                    await reconciler  # hand nothing the previous holder left open on to the next one
                finally:
                    reconciler.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reconciler
        except (store.CampaignNotRunnableError, CampaignSettingsError) as error:
            self.unrunnable_until[campaign_id] = time.monotonic() + UNRUNNABLE_BACKOFF_S
            self.report({"event": "unrunnable", "campaign": campaign_id, "reason": str(error)})
        except Exception:
            log.exception("campaign %s: engine failed", campaign_id)
            self.unrunnable_until[campaign_id] = time.monotonic() + UNRUNNABLE_BACKOFF_S
            self.report({"event": "failed", "campaign": campaign_id})
        finally:
            lost = lease.lost.is_set()
            for task in (keeper, stop_on_loss):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await lease.release()
            self.report({"event": "lost" if lost else "released", "campaign": campaign_id})

    def _campaign(self, campaign_id: int) -> store.CampaignConfig:
        with self.sessions() as session:
            return store.load_campaign(session, campaign_id)

    def _engine(self, campaign: store.CampaignConfig, agents: AgentPool, lease: HeldLease) -> CampaignEngine:
        return CampaignEngine(
            campaign,
            sessions=self.sessions,
            gate=self.gate,
            node=self.node,
            agents=agents,
            bus=self.bus,
            seed=self.config.seed,
            may_dial=lease.valid,
        )

    async def _reconcile(
        self, campaign: store.CampaignConfig, lease: HeldLease, taken_at: dt.datetime
    ) -> None:
        """Close the previous holder's open attempts as they pass the ring timeout, then stop."""
        ring_timeout = dt.timedelta(seconds=campaign.settings.ring_timeout_s)
        while lease.valid():
            now = utcnow()
            stale_before = now - ring_timeout
            closed = await asyncio.to_thread(self._close_orphans, campaign, taken_at, stale_before, now)
            if closed:
                self.report({"event": "reconciled", "campaign": campaign.id, "attempts": closed})
            if stale_before >= taken_at:
                return  # everything reserved before the takeover has been looked at
            await asyncio.sleep(RECONCILE_EVERY_S)

    def _close_orphans(
        self,
        campaign: store.CampaignConfig,
        taken_at: dt.datetime,
        stale_before: dt.datetime,
        now: dt.datetime,
    ) -> Sequence[str]:
        with self.sessions.begin() as session:
            return store.close_orphans(
                session,
                campaign.id,
                taken_at=taken_at,
                stale_before=stale_before,
                rules=campaign.settings.retry,
                now=now,
            )


async def _set_when(happened: asyncio.Event, then: asyncio.Event) -> None:
    await happened.wait()
    then.set()
