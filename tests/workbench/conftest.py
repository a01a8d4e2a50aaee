"""The real web app on a real database, and signed-in browsers driven by Starlette's TestClient."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.testclient import TestClient, WebSocketTestSession

from compliance.models import AuditEvent
from infra import users
from infra.models import Client, Role
from infra.settings import Settings
from infra.users import create_user
from tests.conftest import Database
from workbench.app import create_app
from workbench.auth import audit_user_change

ORIGIN = "http://testserver"
PASSWORD = "correct horse battery staple"
_HIDDEN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_HEADER_TOKEN = re.compile(r'"X-CSRF-Token": "([^"]+)"')


# Sign-ins in these tests would spend most of their time in argon2 at its production cost; the
# parameters travel inside each hash, so a cheap hasher changes nothing else.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)


def add_user(
    db: Database,
    username: str,
    role: Role,
    *,
    display_name: str | None = None,
    clients: Iterable[str] = (),
    hasher: PasswordHasher = CHEAP_HASHER,
) -> int:
    with db.sessions() as session, session.begin():
        user = create_user(
            session,
            username=username,
            password=PASSWORD,
            role=role,
            on_change=audit_user_change,
            display_name=display_name or username.title(),
            client_codes=clients,
            hasher=hasher,
        )
        return user.id


def add_client(db: Database, code: str, name: str) -> int:
    with db.sessions() as session, session.begin():
        client = Client(code=code, name=name)
        session.add(client)
        session.flush()
        return client.id


def audit_actions(db: Database) -> list[tuple[str, str, dict[str, Any]]]:
    with db.sessions() as session:
        rows = session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        return [(row.actor, row.action, json.loads(row.payload)) for row in rows]


def set_active(db: Database, username: str, active: bool) -> None:
    with db.sessions() as session, session.begin():
        users.set_active(session, username, active, on_change=audit_user_change)


class Browser:
    """One user's browser: its own cookies, on the app instance shared by the test."""

    def __init__(self, app: Starlette, main: TestClient) -> None:
        self.http = TestClient(app, base_url=ORIGIN, follow_redirects=False)
        # Share the running app's event loop, so its in-process bus and stores are the same.
        self.http.portal = main.portal
        self.csrf = ""

    def sign_in(self, username: str, password: str = PASSWORD) -> Any:
        form = self.http.get("/login")
        token = _HIDDEN_TOKEN.search(form.text)
        assert token is not None, form.text
        response = self.http.post(
            "/login", data={"csrf_token": token.group(1), "username": username, "password": password}
        )
        if response.status_code == 303:
            landing = self.http.get(response.headers["location"])
            found = _HEADER_TOKEN.search(landing.text)
            assert found is not None, landing.text
            self.csrf = found.group(1)
        return response

    def socket(self, origin: str | None = ORIGIN) -> WebSocketTestSession:
        headers = {} if origin is None else {"origin": origin}
        return self.http.websocket_connect("/ws", headers=headers)

    def send(self, socket: WebSocketTestSession, action: str, **fields: Any) -> None:
        socket.send_text(json.dumps({"action": action, **fields, "HEADERS": {"X-CSRF-Token": self.csrf}}))


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=db.url, secret_key="test-secret-" + "k" * 32)


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings, password_hasher=CHEAP_HASHER)


@pytest.fixture
def server(app: Starlette) -> Iterator[TestClient]:
    """Runs the app's start-up and shut-down around the test."""
    with TestClient(app, base_url=ORIGIN) as client:
        yield client


@pytest.fixture
def browsers(app: Starlette, server: TestClient) -> Iterator[Any]:
    opened: list[Browser] = []

    def open_browser() -> Browser:
        browser = Browser(app, server)
        opened.append(browser)
        return browser

    yield open_browser
    for browser in opened:
        browser.http.close()
