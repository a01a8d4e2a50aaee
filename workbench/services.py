"""What the web app's routes share: settings, database, live store, sessions, throttle, bus."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from infra.bus.base import Bus
from infra.settings import Settings
from workbench.agents import AgentStates
from workbench.live_store import LiveStore
from workbench.pages import Pages
from workbench.sessions import SessionStore
from workbench.throttle import SignInThrottle

if TYPE_CHECKING:
    from workbench.ws import Hub

T = TypeVar("T")


@dataclasses.dataclass
class Services:
    settings: Settings
    engine: Engine
    db_sessions: sessionmaker[Session]
    store: LiveStore
    sessions: SessionStore
    throttle: SignInThrottle
    agents: AgentStates
    pages: Pages
    clock: Callable[[], dt.datetime]
    hub: Hub
    password_hasher: PasswordHasher
    bus: Bus  # to the engines (a disposition ends its call), besides the hub's fan-out

    async def run_db(self, work: Callable[[Session], T]) -> T:
        """Run blocking database work off the event loop, in one transaction."""

        def in_transaction() -> T:
            with self.db_sessions() as db, db.begin():
                return work(db)

        return await run_in_threadpool(in_transaction)


def services_of(connection: HTTPConnection) -> Services:
    return cast(Services, connection.app.state.services)
