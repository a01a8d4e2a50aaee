"""The Starlette application: `create_app(settings)`."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from compliance.metrics import ledger_figures
from infra.bus import Bus, make_bus
from infra.db import make_engine, make_sessionmaker, utcnow
from infra.logging import bind_log_context
from infra.metrics import CONTENT_TYPE, agent_families, exposition, ledger_families, scrape_refusal
from infra.models import Role
from infra.passwords import DEFAULT_HASHER
from infra.settings import Settings
from workbench import auth, views
from workbench.agent_routes import agent_event_renderers, agent_routes
from workbench.agent_state import Activity
from workbench.agent_writes import DATABASE_UNAVAILABLE, database_unavailable
from workbench.agents import AgentStates
from workbench.api import api_routes
from workbench.compliance_console_routes import compliance_routes
from workbench.live_store import LiveStore, MemoryLiveStore, RedisLiveStore
from workbench.manager_routes import manager_routes
from workbench.manager_wallboard import Wallboard
from workbench.pages import Pages
from workbench.security import (
    ALL_ROLES,
    SecurityHeadersMiddleware,
    ensure_guarded,
    public_mount,
    public_route,
    route,
    websocket_route,
)
from workbench.services import Services, services_of
from workbench.sessions import SessionStore
from workbench.throttle import SignInThrottle
from workbench.viewer import Viewer, load_viewer
from workbench.ws import Hub

STATIC_DIR = Path(__file__).parent / "static"
REDIS_PREFIX = "arrears"


async def _websocket(websocket: WebSocket, viewer: Viewer) -> None:
    with bind_log_context(agent_id=viewer.user_id if viewer.role is Role.AGENT else None):
        await services_of(websocket).hub.serve(websocket, viewer)


async def _metrics(request: Request) -> Response:
    """Prometheus scrape: open only to the bearer of the `metrics_token` setting."""
    services = services_of(request)
    refusal = scrape_refusal(services.settings.metrics_token, request.headers.get("authorization"))
    if refusal is not None:
        return refusal
    now = services.clock()
    ledger = await services.run_db(lambda db: ledger_figures(db, now))
    states = [(record.status.activity, record.status.pause_code) for record in await services.agents.all()]
    families = ledger_families(ledger) + agent_families(states, Activity)
    return Response(exposition(families), media_type=CONTENT_TYPE)


def build_routes() -> list[BaseRoute]:
    return [
        public_route("/login", auth.sign_in_page, name="sign_in_page"),
        public_route("/login", auth.sign_in, methods=("POST",), name="sign_in"),
        route("/logout", auth.sign_out, roles=ALL_ROLES, methods=("POST",), name="sign_out"),
        route("/", views.home, roles=ALL_ROLES, name="home"),
        route("/agent", views.agent_home, roles={Role.AGENT}, name="agent_home"),
        *manager_routes(),
        *compliance_routes(),
        *api_routes(),
        route(
            "/clients/{client_id:int}/campaigns",
            views.client_campaigns,
            roles=ALL_ROLES,
            client_param="client_id",
            name="client_campaigns",
        ),
        *agent_routes(),
        websocket_route("/ws", _websocket, roles=ALL_ROLES),
        public_route("/metrics", _metrics, name="metrics"),
        public_mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def create_app(
    settings: Settings,
    *,
    bus: Bus | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    redis_prefix: str = REDIS_PREFIX,
    password_hasher: PasswordHasher = DEFAULT_HASHER,
) -> Starlette:
    """The web app on the configured database; Redis for live state and fan-out when configured,
    else process memory and the in-process bus (one web process only).

    Pass `bus` to share the process's bus with other components running in the same process (the
    embedded install); the app then leaves closing it to the caller. `password_hasher` sets the
    cost of hashes made at sign-in (tests use a cheap one; hashes carry their own parameters).
    """
    routes = build_routes()
    ensure_guarded(routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(settings.effective_database_url)
        store: LiveStore = (
            RedisLiveStore(settings.redis_url, f"{redis_prefix}:web:")
            if settings.uses_redis
            else MemoryLiveStore()
        )
        app_bus = bus if bus is not None else make_bus(settings, prefix=redis_prefix)
        pages = Pages()
        sessions = SessionStore(store, settings.effective_secret_key)
        agents = AgentStates(store, app_bus, clock)
        db_sessions = make_sessionmaker(engine)

        async def reload_viewer(viewer: Viewer) -> Viewer | None:
            session = await sessions.get(viewer.session.id)
            return None if session is None else await services.run_db(lambda db: load_viewer(db, session))

        hub = Hub(
            app_bus,
            pages,
            agents,
            reload_viewer,
            renderers=agent_event_renderers(lambda: services),
            wallboard=Wallboard(db_sessions, pages, clock),
        )
        services = Services(
            settings=settings,
            engine=engine,
            db_sessions=db_sessions,
            store=store,
            sessions=sessions,
            throttle=SignInThrottle(store),
            agents=agents,
            pages=pages,
            clock=clock,
            hub=hub,
            password_hasher=password_hasher,
            bus=app_bus,
        )
        app.state.services = services
        try:
            yield
        finally:
            if bus is None:
                await app_bus.close()
            await store.close()
            engine.dispose()

    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeadersMiddleware)],
        # A database outage is answered 503 with the retry marker, never 500 (agent_writes).
        exception_handlers=dict.fromkeys(DATABASE_UNAVAILABLE, database_unavailable),
        lifespan=lifespan,
    )
