"""Shared fixtures: real databases and Redis.

Each test that asks for `db` runs once on SQLite and once on PostgreSQL, on a database of its own:
a copy of a migrated SQLite file, or a PostgreSQL database cloned from a migrated template.
Missing servers make these tests fail with the reason; they are never skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from infra.db import make_engine, make_sessionmaker, upgrade

PG_ADMIN_DSN = os.environ.get("TEST_ARREARS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_ARREARS_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class Database:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def _pg_admin(sql: str) -> None:
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.encode())
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_DSN} and is not reachable: {error}")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database that per-test databases are cloned from."""
    name = f"arrears_tmpl_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    upgrade(_pg_url(name))
    make_engine(_pg_url(name)).dispose()
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "arrears.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def pg_database(pg_template: str) -> Iterator[Database]:
    name = f"arrears_test_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    engine = make_engine(_pg_url(name))
    yield Database(_pg_url(name), engine, make_sessionmaker(engine))
    engine.dispose()
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "arrears.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    yield Database(url, engine, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Database:
    """The same test on both supported databases."""
    fixture = "sqlite_database" if request.param == "sqlite" else "pg_database"
    database: Database = request.getfixturevalue(fixture)
    return database


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is required at {REDIS_URL} and is not reachable: {error}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_namespace(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    namespace = f"arrears-test:{uuid.uuid4().hex[:10]}"
    yield namespace
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{namespace}*", count=500):
        client.delete(key)
    client.close()


class PrivateRedis:
    """A redis-server of one test's own, on a port of its own, that the test may stop and restart.

    Without persistence: a restarted server has forgotten every key, as after a crash.
    """

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self._process is None, "already running"
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is required on the PATH to run a private Redis and is not there")
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if self._process.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"the private redis-server on port {self.port} did not start")
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        """Gone at once, as in a crash: every client connection drops."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        self._process = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A running redis-server only this test uses; stopped afterwards if still running."""
    server = PrivateRedis(tmp_path, _free_port())
    server.start()
    yield server
    server.kill()
