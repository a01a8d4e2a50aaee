"""A PostgreSQL cluster of one test's own, on a port of its own, that the test may stop and start.

The cluster lives in a fresh directory and is removed afterwards. PostgreSQL refuses to run as
root, so under root (as in CI) its commands run as the `postgres` system user. Missing binaries
or user make the test fail with the reason; it is never skipped.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from infra.db import upgrade
from tests.conftest import _free_port

PG_BIN = Path(os.environ.get("TEST_ARREARS_PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE = "arrears"
START_TIMEOUT_S = 60


class PrivatePostgres:
    """One cluster: `start` and `stop` it at will; `url` names its migrated database."""

    def __init__(self, base: Path, port: int, run_as: list[str]) -> None:
        self.base = base
        self.data = base / "data"
        self.log = base / "postgres.log"
        self.port = port
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/{DATABASE}"
        self._admin_dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self._run_as = run_as

    def _run(self, *command: str) -> None:
        done = subprocess.run(
            [*self._run_as, *command], cwd=self.base, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            pytest.fail(f"{' '.join(command)} failed: {done.stdout}{done.stderr}\n{log}")

    def create(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", str(START_TIMEOUT_S), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session and rolls back open transactions; `immediate` is a crash."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def migrate(self) -> None:
        with psycopg.connect(self._admin_dsn, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{DATABASE}"'.encode())
        upgrade(self.url)

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def _run_as_postgres(base: Path) -> list[str]:
    """The command prefix that runs PostgreSQL's programs as a user they accept."""
    if os.geteuid() != 0:
        return []
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root, a private PostgreSQL needs the `postgres` system user")
    os.chown(base, user.pw_uid, user.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running, migrated cluster only this test uses; stopped and removed afterwards."""
    for program in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / program).exists():
            pytest.fail(f"{PG_BIN / program} is required to run a private PostgreSQL and is not there")
    # Not under pytest's tmp_path: that is private to root, and the server may run as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="arrears-pg-"))
    cluster = PrivatePostgres(base, _free_port(), _run_as_postgres(base))
    try:
        cluster.create()
        cluster.start()
        cluster.migrate()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
