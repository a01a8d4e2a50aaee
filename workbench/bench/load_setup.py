"""The data of `arrears bench load`: a scratch database, each level's campaigns and agents, and the
ledger's figures for a level afterwards.

A level has one client, predictive campaign and call list per engine, each campaign on a trunk
only that engine dials, and half of the level's agents scoped to each client with a carrier
simulator agent phone. Nothing is shared between levels, so a level's figures are its campaigns'.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaigns.engine.demo import demo_settings, prepare_demo
from campaigns.models import Campaign, CampaignStatus
from compliance.abandon import CONNECT_DEADLINE
from compliance.ledger import LIVE_ANSWER
from compliance.models import AttemptStatus, ContactAttempt, Outcome
from infra.models import Client, Role
from infra.users import create_user
from workbench.auth import audit_user_change
from workbench.bench.load_agents import Login
from workbench.bench.ws_setup import CHEAP_HASHER


def create_database(pg_admin: str) -> tuple[str, str]:
    """A fresh database on the server of `pg_admin`; returns its name and SQLAlchemy URL."""
    name = f"arrears_bench_load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    url = f"{pg_admin.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    return name, url


def drop_database(pg_admin: str, name: str) -> None:
    with psycopg.connect(pg_admin, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@dataclasses.dataclass(frozen=True)
class Share:
    """One engine's part of a level: its trunk, campaign and agents."""

    trunk: str
    campaign_id: int
    logins: tuple[Login, ...]


@dataclasses.dataclass(frozen=True)
class LevelSetup:
    shares: tuple[Share, ...]
    policy: str

    @property
    def campaign_ids(self) -> list[int]:
        return [share.campaign_id for share in self.shares]


def split(count: int, parts: int) -> list[int]:
    """`count` as evenly as possible over `parts` (the first parts get the remainder)."""
    return [count // parts + (1 if index < count % parts else 0) for index in range(parts)]


def people_needed(agents: int, seconds: float, talk_s: float, wrap_s: float) -> int:
    """Enough people that the list does not run dry: every agent connected back to back, at a
    live-answer rate of one call in three, twice over."""
    return max(100, int(2 * 3 * agents * seconds / max(talk_s + wrap_s, 1.0)) + 50)


def prepare_level(  # noqa: PLR0917 (one level's parameters, passed once)
    sessions: sessionmaker[Session],
    level: int,
    agents: int,
    engines: int,
    carrier_port: int,
    seconds: float,
    talk_s: float,
    wrap_s: float,
    password: str,
    pacer: str,
) -> LevelSetup:
    settings = demo_settings(talk_mean_s=talk_s, wrap_mean_s=wrap_s, pacer=pacer)
    shares = []
    policy = ""
    for index, size in enumerate(split(agents, engines)):
        demo = prepare_demo(
            sessions,
            people=people_needed(size, seconds, talk_s, wrap_s),
            agents=0,
            carrier_port=carrier_port,
            settings=settings,
            seed=1000 * level + index,
        )
        policy = demo.place.policy
        trunk = f"load-{index}"
        with sessions.begin() as session:
            session.execute(sa.update(Campaign).where(Campaign.id == demo.campaign_id).values(trunk=trunk))
            code = session.scalar(sa.select(Client.code).where(Client.id == demo.client_id))
            assert code is not None
            logins = []
            for number in range(size):
                username = f"load{level}e{index}a{number}"
                create_user(
                    session,
                    username=username,
                    password=password,
                    role=Role.AGENT,
                    on_change=audit_user_change,
                    display_name=f"Load agent {level}.{index}.{number}",
                    client_codes=[code],
                    sip_uri=f"sip:agent-{username}@127.0.0.1:{carrier_port}",
                    hasher=CHEAP_HASHER,
                )
                logins.append(Login(username, password))
        shares.append(Share(trunk, demo.campaign_id, tuple(logins)))
    return LevelSetup(tuple(shares), policy)


def stop_campaigns(sessions: sessionmaker[Session], campaign_ids: Sequence[int]) -> None:
    """Pause the level's campaigns: their engines stop dialling and hang up calls nobody is on."""
    with sessions.begin() as session:
        session.execute(
            sa.update(Campaign).where(Campaign.id.in_(campaign_ids)).values(status=CampaignStatus.PAUSED)
        )


@dataclasses.dataclass(frozen=True)
class LedgerFigures:
    reserved: int
    dialled: int
    live: int  # completed live answers (abandoned ones included)
    abandoned: int  # abandoned, or connected later than the two-second deadline
    connected_late: int  # of those, the ones that did reach an agent
    open: int  # attempts neither completed nor cancelled when read
    bridged: dict[str, dt.datetime]  # attempt uuid -> when its agent leg was bridged
    gate_to_invite_ms: list[float]  # reservation by the gate until the INVITE left
    answer_to_bridge_ms: list[float]  # the person's greeting until their agent's leg was bridged

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0


def ledger_figures(
    sessions: sessionmaker[Session], campaign_ids: Sequence[int], answered_by: dt.datetime
) -> LedgerFigures:
    """The level's calls; live answers (and so abandons) only up to `answered_by`, the end of the
    measured window: later ones met agents that had stopped taking calls."""
    with sessions() as session:
        attempts = session.scalars(
            sa.select(ContactAttempt).where(ContactAttempt.campaign_id.in_(campaign_ids))
        ).all()
    live = [
        a
        for a in attempts
        if a.status is AttemptStatus.COMPLETED
        and a.outcome in LIVE_ANSWER
        and (a.answered_at or a.ended_at or answered_by) <= answered_by
    ]
    abandoned = [
        a
        for a in live
        if a.outcome is Outcome.ABANDONED
        or (
            a.answered_at is not None
            and a.connected_at is not None
            and a.connected_at - a.answered_at > CONNECT_DEADLINE
        )
    ]
    closed = (AttemptStatus.COMPLETED, AttemptStatus.CANCELLED)
    return LedgerFigures(
        reserved=len(attempts),
        dialled=sum(1 for a in attempts if a.dialed_at is not None),
        live=len(live),
        abandoned=len(abandoned),
        connected_late=sum(1 for a in abandoned if a.outcome is not Outcome.ABANDONED),
        open=sum(1 for a in attempts if a.status not in closed),
        bridged={
            a.uuid: a.connected_at for a in attempts if a.connected_at is not None and a.agent_id is not None
        },
        gate_to_invite_ms=[
            (a.dialed_at - a.reserved_at).total_seconds() * 1000 for a in attempts if a.dialed_at is not None
        ],
        answer_to_bridge_ms=[
            (a.connected_at - a.answered_at).total_seconds() * 1000
            for a in attempts
            if a.connected_at is not None and a.answered_at is not None
        ],
    )
