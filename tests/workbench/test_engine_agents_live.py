"""A browser agent takes a real call from `arrears engine run` (no simulated agents).

The web app runs under uvicorn on PostgreSQL and Redis; the engine is its own process, sharing only
the database and Redis with it; calls go through the carrier simulator, whose `agent-*` phones
answer at once. The agent signs in over HTTP, presses Ready on the WebSocket the browser uses,
gets the screen pop of an answered call on that socket, and records a disposition through the
dock's route: the attempt is completed with it in the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from campaigns.engine.demo import TRUNK, carrier_simulator, demo_settings, prepare_demo
from compliance.models import AttemptStatus, ContactAttempt
from infra.models import Client
from infra.settings import Settings
from tests.conftest import Database
from tests.threaded_server import ThreadedServer
from tests.workbench.conftest import CHEAP_HASHER, PASSWORD
from tests.workbench.test_engine_agents import add_agent
from workbench.app import create_app

pytestmark = [pytest.mark.sip, pytest.mark.redis, pytest.mark.slow]
_HIDDEN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_HEADER_TOKEN = re.compile(r'"X-CSRF-Token": "([^"]+)"')
_DISPOSITION = re.compile(r"/agent/calls/([0-9a-f-]+)/disposition")
POP_TIMEOUT_S = 120.0


@contextlib.asynccontextmanager
async def engine_process(env: dict[str, str], carrier_port: int, prefix: str) -> AsyncIterator[None]:
    """`arrears engine run` without --simulated-agents: the agents are the workbench's."""
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("arrears")),
        "engine",
        "run",
        "--trunk",
        f"{TRUNK}=sip:{{number}}@127.0.0.1:{carrier_port}",
        "--capacity",
        "8",
        "--prefix",
        prefix,
        env=env,
    )
    try:
        yield
    finally:
        # Stopping gracefully would wait for the customer (who listens forever) to hang up.
        process.kill()
        await process.wait()


async def sign_in(http: httpx.AsyncClient, username: str) -> str:
    """The page's CSRF token after signing in with the form."""
    form = await http.get("/login")
    token = _HIDDEN_TOKEN.search(form.text)
    assert token is not None, form.text
    response = await http.post(
        "/login", data={"csrf_token": token.group(1), "username": username, "password": PASSWORD}
    )
    assert response.status_code == 303, response.text
    landing = await http.get(response.headers["location"])
    found = _HEADER_TOKEN.search(landing.text)
    assert found is not None, landing.text
    return found.group(1)


async def screen_pop(socket: ClientConnection) -> tuple[str, str]:
    """The attempt uuid and the fragment of the first call shown on the socket."""
    async with asyncio.timeout(POP_TIMEOUT_S):
        while True:
            html = str(await socket.recv())
            assert "could not be shown" not in html, html
            found = _DISPOSITION.search(html)
            if found is not None:
                return found.group(1), html


async def test_a_browser_agent_dispositions_a_call_the_engine_process_dialled(
    pg_database: Database, redis_url: str, redis_namespace: str, tmp_path: Path
) -> None:
    settings_json = demo_settings(talk_mean_s=20.0, wrap_mean_s=5.0, pacer="progressive")
    async with carrier_simulator(seed=3, backends=3) as carrier:
        demo = await asyncio.to_thread(
            prepare_demo,
            pg_database.sessions,
            people=20,
            agents=0,
            carrier_port=carrier.port,
            settings=settings_json,
        )
        with pg_database.sessions() as session:
            client_code = session.scalar(sa.select(Client.code).where(Client.id == demo.client_id))
        assert client_code is not None
        agent_id = add_agent(pg_database, "jo", client_code, f"sip:agent-jo@127.0.0.1:{carrier.port}")
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=pg_database.url,
            redis_url=redis_url,
            secret_key="engine-agents-test-secret-key-0123456789",
            policy=demo.place.policy,
        )
        env = os.environ | {
            "ARREARS_DATABASE_URL": pg_database.url,
            "ARREARS_REDIS_URL": redis_url,
            "ARREARS_POLICY": demo.place.policy,
        }
        with ThreadedServer(
            create_app(settings, redis_prefix=redis_namespace, password_hasher=CHEAP_HASHER)
        ) as web:
            async with httpx.AsyncClient(base_url=web.url, follow_redirects=False) as http:
                csrf = await sign_in(http, "jo")
                cookies = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
                async with connect(
                    f"ws://127.0.0.1:{web.port}/ws",
                    origin=Origin(web.url),
                    additional_headers={"Cookie": cookies},
                ) as socket:
                    await socket.send(f'{{"action": "ready", "HEADERS": {{"X-CSRF-Token": "{csrf}"}}}}')
                    async with engine_process(env, carrier.port, redis_namespace):
                        attempt_uuid, pop = await screen_pop(socket)
                        assert "call-workspace" in pop
                        response = await http.post(
                            f"/agent/calls/{attempt_uuid}/disposition",
                            data={"code": "HU"},
                            headers={"X-CSRF-Token": csrf, "Origin": web.url, "HX-Request": "true"},
                        )
                        assert response.status_code == 200, response.text

    with pg_database.sessions() as session:
        attempt = session.scalars(sa.select(ContactAttempt).where(ContactAttempt.uuid == attempt_uuid)).one()
    assert attempt.status is AttemptStatus.COMPLETED
    assert attempt.disposition_code == "HU"
    assert attempt.agent_id == agent_id
    assert attempt.campaign_id == demo.campaign_id
    assert attempt.answered_at is not None
