"""A demo campaign over real SIP: sample people, simulated agents, the carrier simulator.

`prepare_demo` writes a client, people with one debt and one landline each, a call list, a
predictive campaign and agent users whose phones are carrier-simulator agent phones. The people
live where the calling window is open now (New York, Chicago, Los Angeles, Honolulu or Guam under
the US federal policy, London under the UK policy), so the demo runs at any hour while the gate
still checks every call. `run_demo` starts the carrier and a SIP node, runs the engine for a
while with the bots, drains, and returns the figures.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import json
import random
import secrets
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaigns.account_facts import load_account_facts
from campaigns.engine.figures import EngineFigures
from campaigns.engine.loop import CampaignEngine
from campaigns.engine.sim_agents import Behaviour, SimulatedAgents
from campaigns.engine.store import load_campaign
from campaigns.models import (
    Address,
    CallList,
    CallListMember,
    Campaign,
    CampaignList,
    CampaignStatus,
    Debt,
    DebtKind,
    DialMode,
    Person,
    Phone,
    PhoneType,
)
from compliance.audit import record
from compliance.gate import DialGate
from compliance.models import AttemptStatus, ContactAttempt
from dialer.pacing import AgentPhase
from dialer.sip.config import NodeConfig, Trunk
from dialer.sip.node import SipNode
from infra.bus import Bus
from infra.db import utcnow
from infra.models import Client, Role
from infra.users import UserChange, create_user

TRUNK = "sim"
ACTOR = "system:engine-demo"
MIN_WINDOW_LEFT_MIN = 30.0  # a place must stay callable this long to be chosen


@dataclasses.dataclass(frozen=True)
class Place:
    policy: str
    zone: str
    country: str
    state: str | None
    postal_code: str
    city: str
    number_prefix: str  # E.164 prefix; a running number fills the rest

    def number(self, index: int) -> str:
        return f"{self.number_prefix}{index:04d}"


PLACES = (
    Place("us-federal", "America/New_York", "US", "NY", "10001", "New York", "+1212555"),
    Place("us-federal", "America/Chicago", "US", "IL", "60601", "Chicago", "+1312555"),
    Place("us-federal", "America/Los_Angeles", "US", "CA", "90012", "Los Angeles", "+1213555"),
    Place("us-federal", "Pacific/Honolulu", "US", "HI", "96813", "Honolulu", "+1808555"),
    Place("us-federal", "Pacific/Guam", "US", "GU", "96910", "Hagatna", "+1671555"),
    Place("uk", "Europe/London", "GB", None, "SW1A 1AA", "London", "+44207946"),
)


def callable_place(now: dt.datetime) -> Place:
    """The place with the most calling time left today (08:00-21:00 local), at least 30 min."""

    def left(place: Place) -> float:
        local = now.astimezone(ZoneInfo(place.zone))
        if not dt.time(8, 0) <= local.time() < dt.time(20, 30):
            return -1.0
        end = dt.datetime.combine(local.date(), dt.time(21, 0), ZoneInfo(place.zone))
        return (end - local).total_seconds() / 60

    best = max(PLACES, key=left)
    if left(best) < MIN_WINDOW_LEFT_MIN:
        raise RuntimeError("no demo place is inside calling hours right now")
    return best


@dataclasses.dataclass(frozen=True)
class DemoCampaign:
    campaign_id: int
    client_id: int
    place: Place
    agents: tuple[tuple[int, str], ...]  # user id, SIP URI


def _audit(session: Session, change: UserChange) -> None:
    record(
        session,
        actor=ACTOR,
        action=change.action,
        entity_type="user",
        entity_id=str(change.user_id),
        payload={"username": change.username, **change.details},
    )


def prepare_demo(
    sessions: sessionmaker[Session],
    *,
    people: int,
    agents: int,
    carrier_port: int,
    settings: dict[str, Any],
    seed: int = 1,
    place: Place | None = None,
) -> DemoCampaign:
    """Write a fresh client with its people, list, active predictive campaign and agent users."""
    place = place or callable_place(utcnow())
    draw = random.Random(seed)
    tag = secrets.token_hex(3)
    with sessions.begin() as session:
        client = Client(code=f"engine-demo-{tag}", name=f"Engine demo {tag}")
        session.add(client)
        session.flush()
        call_list = CallList(client_id=client.id, name="Engine demo list")
        session.add(call_list)
        session.flush()
        for index in range(people):
            person = Person(
                client_id=client.id,
                person_ref=f"D{index}",
                first_name="Sam",
                last_name=f"Demo{index}",
                identifier_salt="demo",
            )
            session.add(person)
            session.flush()
            session.add(
                Address(
                    person_id=person.id,
                    city=place.city,
                    state=place.state,
                    postal_code=place.postal_code,
                    country=place.country,
                )
            )
            session.add(
                Phone(person_id=person.id, number=place.number(index), type=PhoneType.LANDLINE, position=1)
            )
            debt = Debt(
                client_id=client.id,
                person_id=person.id,
                account_ref=f"DA{index}",
                kind=DebtKind.CREDIT_CARD,
                principal_minor=draw.randrange(20_000, 2_000_000),
                charged_off_on=dt.date(2025, 1, 1) + dt.timedelta(days=draw.randrange(0, 300)),
            )
            session.add(debt)
            session.flush()
            session.add(CallListMember(list_id=call_list.id, debt_id=debt.id))
        campaign = Campaign(
            client_id=client.id,
            name="Engine demo",
            status=CampaignStatus.ACTIVE,
            dial_mode=DialMode.PREDICTIVE,
            trunk=TRUNK,
            settings=settings,
        )
        session.add(campaign)
        session.flush()
        session.add(CampaignList(campaign_id=campaign.id, list_id=call_list.id))
        users = []
        for index in range(agents):
            uri = f"sip:agent-{tag}-{index}@127.0.0.1:{carrier_port}"
            user = create_user(
                session,
                username=f"bot-{tag}-{index}",
                password=secrets.token_urlsafe(24),
                role=Role.AGENT,
                on_change=_audit,
                client_codes=(client.code,),
                sip_uri=uri,
            )
            users.append((user.id, uri))
        return DemoCampaign(campaign.id, client.id, place, tuple(users))


def demo_settings(
    *, talk_mean_s: float, wrap_mean_s: float, pacer: str = "predictive", machine: str = "hang_up"
) -> dict[str, Any]:
    return {
        "schedule": {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "08:00",
            "end": "21:00",
        },
        "pacing": {"abandon_target_percent": 2.5, "max_dial_ratio": 5.0, "ring_timeout_seconds": 25},
        "machine_action": machine,
        "engine": {
            "pacer": pacer,
            "expected_talk_s": talk_mean_s,
            "expected_wrap_s": wrap_mean_s,
            "expected_answer_rate": 0.4,
            "hopper_size": 100,
        },
    }


@dataclasses.dataclass
class Carrier:
    port: int
    attempts: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)


@contextlib.asynccontextmanager
async def carrier_simulator(seed: int, backends: int) -> AsyncIterator[Carrier]:
    """`arrears sim carrier` on a free port, counting the INVITEs it receives per attempt header."""
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("arrears")),
        "sim",
        "carrier",
        "--port",
        "0",
        "--seed",
        str(seed),
        "--backends",
        str(backends),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    banner = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
    if not banner.startswith("carrier listening on"):
        raise RuntimeError(f"the carrier simulator did not start: {banner!r}")

    carrier = Carrier(int(banner.split()[3].rsplit(":", 1)[1]))

    async def follow(stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            kind, _, payload = line.decode().partition(" ")
            if kind == "invite":
                carrier.attempts[str(json.loads(payload).get("attempt", ""))] += 1

    reader = asyncio.create_task(follow(process.stdout))
    try:
        yield carrier
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
        await reader


@dataclasses.dataclass(frozen=True)
class DemoResult:
    campaign_id: int
    place: Place
    seconds: float  # length of the dialling window
    figures: EngineFigures
    occupancy: float  # talk / logged-in over the dialling window
    utilisation: float  # (talk + wrap) / logged-in
    talk_mean_s: float  # realised, per connected call
    wrap_mean_s: float
    answer_rate: float  # live answers / dials resolved
    ledger: dict[str, int]  # attempts by status
    invites: collections.Counter[str]  # INVITEs the carrier received, by attempt uuid

    def to_json(self) -> dict[str, Any]:
        figures = self.figures
        return {
            "campaign_id": self.campaign_id,
            "place": self.place.city,
            "seconds": round(self.seconds, 1),
            "dialled": figures.dialled,
            "live": figures.live,
            "connected": figures.connected,
            "abandoned": figures.abandoned,
            "abandon_rate": round(figures.abandon_rate, 4),
            "occupancy": round(self.occupancy, 4),
            "utilisation": round(self.utilisation, 4),
            "answer_rate": round(self.answer_rate, 4),
            "talk_mean_s": round(self.talk_mean_s, 2),
            "wrap_mean_s": round(self.wrap_mean_s, 2),
            "outcomes": {str(key): value for key, value in sorted(figures.outcomes.items())},
            "ledger": self.ledger,
        }


def ledger_counts(sessions: sessionmaker[Session], campaign_id: int) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(
            sa.select(ContactAttempt.status, sa.func.count())
            .where(ContactAttempt.campaign_id == campaign_id)
            .group_by(ContactAttempt.status)
        )
        return {str(AttemptStatus(status)): int(count) for status, count in rows}


async def run_demo(
    sessions: sessionmaker[Session],
    *,
    agents: int,
    seconds: float,
    talk_mean_s: float,
    wrap_mean_s: float,
    people: int,
    seed: int = 1,
    pacer: str = "predictive",
    machine: str = "hang_up",
    report: Callable[[str], None] | None = None,
    report_every_s: float = 10.0,
    settings: dict[str, Any] | None = None,
    bus: Bus | None = None,
    carrier_backends: int | None = None,
) -> DemoResult:
    """Run a campaign with `agents` bots for `seconds` over real SIP, drain, and measure. The
    carrier simulator has `carrier_backends` processes of 4 calls each (default: enough)."""
    behaviour = Behaviour(talk_mean_s, wrap_mean_s)
    async with carrier_simulator(seed, backends=carrier_backends or agents + 3) as carrier:
        port = carrier.port
        demo = await asyncio.to_thread(
            prepare_demo,
            sessions,
            people=people,
            agents=agents,
            carrier_port=port,
            settings=settings
            or demo_settings(talk_mean_s=talk_mean_s, wrap_mean_s=wrap_mean_s, pacer=pacer, machine=machine),
            seed=seed,
        )
        trunk = Trunk(
            TRUNK,
            f"sip:{{number}}@127.0.0.1:{port}",
            "sip:+15550100@127.0.0.1",
            asserted_identity="<sip:+15550100@127.0.0.1>",
            max_cps=20,
        )
        node = SipNode(NodeConfig(trunks=(trunk,), capacity=4 * agents + 8, ring_timeout_s=60.0))
        await node.start()
        try:
            with sessions() as session:
                campaign = load_campaign(session, demo.campaign_id)
            gate = DialGate(sessions, load_account_facts, demo.place.policy)
            pool = SimulatedAgents(node, sessions, demo.agents, behaviour, seed=seed)
            engine = CampaignEngine(
                campaign, sessions=sessions, gate=gate, node=node, agents=pool, bus=bus, seed=seed
            )
            stop = asyncio.Event()
            running = asyncio.create_task(engine.run(stop))
            started = utcnow()
            loop = asyncio.get_running_loop()
            end = loop.time() + seconds
            while loop.time() < end and not running.done():
                await asyncio.sleep(min(report_every_s, max(0.0, end - loop.time())))
                if report is not None:
                    report(f"[{(utcnow() - started).total_seconds():5.0f} s] {engine.figures.line()}")
            window_end = utcnow()
            phases = pool.seconds_by_phase(window_end)
            stop.set()
            await running
        finally:
            await node.stop()
    logged_in = sum(phases[phase] for phase in (AgentPhase.IDLE, AgentPhase.TALK, AgentPhase.WRAP))
    figures = engine.figures
    resolved = sum(figures.outcomes.values())
    connected = max(figures.connected, 1)
    return DemoResult(
        campaign_id=demo.campaign_id,
        place=demo.place,
        seconds=(window_end - started).total_seconds(),
        figures=figures,
        occupancy=phases[AgentPhase.TALK] / logged_in if logged_in else 0.0,
        utilisation=(phases[AgentPhase.TALK] + phases[AgentPhase.WRAP]) / logged_in if logged_in else 0.0,
        talk_mean_s=phases[AgentPhase.TALK] / connected,
        wrap_mean_s=phases[AgentPhase.WRAP] / connected,
        answer_rate=figures.live / resolved if resolved else 0.0,
        ledger=ledger_counts(sessions, demo.campaign_id),
        invites=carrier.attempts,
    )


def print_result(result: DemoResult, echo: Callable[[str], None]) -> None:
    echo(json.dumps(result.to_json(), indent=2))
