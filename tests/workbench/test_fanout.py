"""Two web workers sharing PostgreSQL and Redis, as in the scale-out deployment."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from infra.models import Role
from infra.settings import Settings
from tests.conftest import Database
from tests.workbench.conftest import CHEAP_HASHER, ORIGIN, Browser, add_user
from workbench.app import create_app


@pytest.mark.redis
def test_changes_made_on_one_worker_reach_tabs_on_another(
    pg_database: Database, redis_url: str, redis_namespace: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=pg_database.url, redis_url=redis_url, secret_key="shared-" + "s" * 32
    )
    add_user(pg_database, "agnes", Role.AGENT)
    add_user(pg_database, "mona", Role.MANAGER)
    first_app = create_app(settings, redis_prefix=redis_namespace, password_hasher=CHEAP_HASHER)
    second_app = create_app(settings, redis_prefix=redis_namespace, password_hasher=CHEAP_HASHER)
    with TestClient(first_app, base_url=ORIGIN) as first, TestClient(second_app, base_url=ORIGIN) as second:
        agent, manager = Browser(first_app, first), Browser(second_app, second)
        agent.sign_in("agnes")
        manager.sign_in("mona")
        # The session made on the first worker is valid on the second.
        agent_elsewhere = Browser(second_app, second)
        agent_elsewhere.http.cookies.update(dict(agent.http.cookies))
        assert agent_elsewhere.http.get("/agent").status_code == 200
        with manager.socket() as monitor, agent.socket() as tab, agent_elsewhere.socket() as other_tab:
            assert "Agnes" in monitor.receive_text()
            for socket in (tab, other_tab):
                assert "Paused: Signed in" in socket.receive_text()
                socket.receive_text()  # cleared notice
            agent.send(tab, "ready")
            assert 'data-state="ready"' in tab.receive_text()
            assert 'data-state="ready"' in other_tab.receive_text()  # the agent's tab on worker two
            update = monitor.receive_text()
            assert "Agnes" in update
            assert "Ready" in update
            # Signing out on worker one closes the agent's tab held by worker two.
            assert agent.http.post("/logout", data={"csrf_token": agent.csrf}).status_code == 303
            assert "No agents signed in." in monitor.receive_text()
        for browser in (agent, manager, agent_elsewhere):
            browser.http.close()
