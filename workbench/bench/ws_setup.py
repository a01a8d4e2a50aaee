"""The agents and calls of `arrears bench ws`: signed-in, ready agents of one client, each with one
answered call assigned to them by the dialer and waiting for its screen pop.

Agents are created through `infra.users` (audited like any user) with a cheap password hash, and
signed in by writing their sessions and states through the web tier's own `SessionStore` and
`AgentStates` on the shared Redis live store: the records a sign-in through the login form would
leave, without a thousand argon2 checks and audited sign-ins, which are not what is measured.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import uuid

from argon2 import PasswordHasher

from campaigns.events import ScreenPop
from campaigns.models import Address, Debt, DebtKind, Person, Phone, PhoneType
from compliance.models import AttemptDebt, AttemptStatus, ContactAttempt, DialingMode
from infra.bus.redis_bus import RedisBus
from infra.db import make_engine, make_sessionmaker, utcnow
from infra.models import Client, Role
from infra.users import create_user
from workbench.agent_state import GoReady, SignIn
from workbench.agents import AgentStates
from workbench.auth import audit_user_change
from workbench.live_store import RedisLiveStore
from workbench.sessions import SessionStore
from workbench.viewer import ClientScope, Viewer

CLIENT_CODE = "WSBENCH"
# Nobody signs in with these passwords; the hash only has to be valid.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)


@dataclasses.dataclass(frozen=True)
class SeededCall:
    agent_id: int
    username: str
    display_name: str
    client_id: int
    pop: ScreenPop


@dataclasses.dataclass(frozen=True)
class BenchAgent:
    """One signed-in agent: as the app sees them, their session cookie, and the call to pop."""

    viewer: Viewer
    cookie: str
    pop: ScreenPop


def seed_calls(url: str, count: int, *, username_prefix: str = "wsagent") -> list[SeededCall]:
    """`count` agents, each with one account and an answered call (an open attempt) on it."""
    engine = make_engine(url)
    now = utcnow()
    try:
        with make_sessionmaker(engine)() as db, db.begin():
            client = db.query(Client).filter_by(code=CLIENT_CODE).one_or_none()
            if client is None:
                client = Client(code=CLIENT_CODE, name="Bench Bank")
                db.add(client)
                db.flush()
            agents = [
                create_user(
                    db,
                    username=f"{username_prefix}{index}",
                    password=secrets.token_urlsafe(24),
                    role=Role.AGENT,
                    on_change=audit_user_change,
                    display_name=f"Agent {index}",
                    client_codes=[CLIENT_CODE],
                    hasher=CHEAP_HASHER,
                )
                for index in range(count)
            ]
            persons = [
                Person(
                    client_id=client.id,
                    person_ref=f"{username_prefix}-P{index}",
                    first_name="Pat",
                    last_name=f"Bench{index}",
                    identifier_salt="bench",
                )
                for index in range(count)
            ]
            db.add_all(persons)
            db.flush()
            debts = [
                Debt(
                    client_id=client.id,
                    person_id=person.id,
                    account_ref=f"{username_prefix}-A{index}",
                    original_creditor="First Example Bank",
                    kind=DebtKind.CREDIT_CARD,
                    principal_minor=100_000 + index,
                    placed_on=dt.date(2025, 1, 10),
                )
                for index, person in enumerate(persons)
            ]
            numbers = [f"+1312{2_000_000 + person.id:07d}" for person in persons]
            db.add_all(debts)
            db.add_all(
                Address(person_id=person.id, city="Chicago", state="IL", postal_code="60601")
                for person in persons
            )
            db.add_all(
                Phone(person_id=person.id, number=number, type=PhoneType.LANDLINE, position=1)
                for person, number in zip(persons, numbers, strict=True)
            )
            attempts = [
                ContactAttempt(
                    uuid=str(uuid.uuid4()),
                    client_id=client.id,
                    person_id=person.id,
                    number=number,
                    mode=DialingMode.PREDICTIVE,
                    status=AttemptStatus.DIALING,
                    agent_id=agent.id,
                    reserved_at=now,
                    dialed_at=now,
                    answered_at=now,
                )
                for agent, person, number in zip(agents, persons, numbers, strict=True)
            ]
            db.add_all(attempts)
            db.flush()
            db.add_all(
                AttemptDebt(attempt_id=attempt.id, debt_id=debt.id)
                for attempt, debt in zip(attempts, debts, strict=True)
            )
            return [
                SeededCall(
                    agent.id,
                    agent.username,
                    agent.display_name,
                    client.id,
                    ScreenPop(
                        attempt.uuid,
                        attempt.person_id,
                        (debt.id,),
                        attempt.number,
                        None,
                        DialingMode.PREDICTIVE,
                        now,
                    ),
                )
                for agent, attempt, debt in zip(agents, attempts, debts, strict=True)
            ]
    finally:
        engine.dispose()


async def sign_in(
    redis_url: str, redis_prefix: str, secret_key: str, calls: list[SeededCall]
) -> list[BenchAgent]:
    """Sign every agent in and make them ready, in the live store of the app served with
    `redis_prefix`; returns their session cookies."""
    store = RedisLiveStore(redis_url, f"{redis_prefix}:web:")
    bus = RedisBus.from_url(redis_url, prefix=redis_prefix)
    sessions = SessionStore(store, secret_key)
    states = AgentStates(store, bus, utcnow)
    signed_in: list[BenchAgent] = []
    try:
        for call in calls:
            session = await sessions.create(call.agent_id, utcnow())
            viewer = Viewer(
                call.agent_id,
                call.username,
                call.display_name,
                Role.AGENT,
                ClientScope(frozenset({call.client_id})),
                session,
            )
            await states.apply(viewer, SignIn())
            await states.apply(viewer, GoReady())
            signed_in.append(BenchAgent(viewer, sessions.cookie_value(session), call.pop))
    finally:
        await bus.close()
        await store.close()
    return signed_in
