"""`arrears web` worker processes for scale-out and failure tests: each a real process on a port
of its own, configured only through ARREARS_* variables, that a test can kill and start again."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import _free_port

START_TIMEOUT_S = 30.0


class WebWorker:
    """One `arrears web` process; `start` again after `kill` serves on the same port."""

    def __init__(self, name: str, environment: dict[str, str], directory: Path) -> None:
        self.name = name
        self.port = _free_port()
        self._environment = environment
        self._directory = directory
        self._log = directory / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self._process is None, f"{self.name} is already running"
        command = [str(Path(sys.executable).with_name("arrears")), "web", "--port", str(self.port)]
        with self._log.open("ab") as log:
            # The working directory holds no arrears.toml: only the environment configures it.
            self._process = subprocess.Popen(
                command, env=self._environment, cwd=self._directory, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._serving():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not start:\n{self.log_tail()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """Gone at once, as in a crash: no shutdown code runs, every socket it held drops."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGKILL)
        self._process.wait()
        self._process = None

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    def _serving(self) -> bool:
        try:
            return httpx.get(f"{self.url}/login", timeout=1).status_code == 200
        except httpx.TransportError:
            return False


def worker_environment(
    *, database_url: str, redis_url: str, secret_key: str, data_dir: Path
) -> dict[str, str]:
    """The settings every worker of one installation shares, as the deployment passes them."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("ARREARS_")}
    return inherited | {
        "ARREARS_DATABASE_URL": database_url,
        "ARREARS_REDIS_URL": redis_url,
        "ARREARS_SECRET_KEY": secret_key,
        "ARREARS_DATA_DIR": str(data_dir),
        "ARREARS_LOG_LEVEL": "warning",
    }


@contextlib.contextmanager
def web_workers(count: int, environment: dict[str, str], directory: Path) -> Iterator[list[WebWorker]]:
    """`count` running workers of one installation, stopped afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    workers = [WebWorker(f"web-{index + 1}", environment, directory) for index in range(count)]
    try:
        for worker in workers:
            worker.start()
        yield workers
    finally:
        for worker in workers:
            worker.stop()
