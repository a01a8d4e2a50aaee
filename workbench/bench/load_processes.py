"""The processes of `arrears bench load`, started in one place: a private Redis, the carrier
simulator, the web workers and the engines (each with its embedded SIP node).

Every component runs as `arrears ...` in a process group of its own, so that its children (an
engine's SIP workers, the carrier's pjsua2 back ends) can be told apart when CPU is counted and
stopped with it. Output goes to one log file per component under the run's directory; the carrier's
banner and the engines' JSON events are read back from there (a pipe nobody drains would block
the carrier, which prints a line per INVITE).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import redis

START_TIMEOUT_S = 120.0
STOP_GRACE_S = 10.0


class ComponentError(RuntimeError):
    """A component did not start, or stopped on its own."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclasses.dataclass
class Component:
    name: str
    group: str  # the CPU group it is counted in
    process: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def events(self) -> list[dict[str, Any]]:
        """The JSON objects among its output lines (an engine's events)."""
        found = []
        for line in self.lines():
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(line)
                if isinstance(value, dict):
                    found.append(value)
        return found

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            tail = "\n".join(self.lines()[-15:])
            raise ComponentError(f"{self.name} exited with code {self.process.returncode}:\n{tail}")


def _arrears() -> str:
    return str(Path(sys.executable).with_name("arrears"))


class Launcher:
    """Starts components and stops every one of them (by process group) when closed."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.components: list[Component] = []

    def start(self, name: str, group: str, command: list[str]) -> Component:
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        component = Component(name, group, process, log)
        self.components.append(component)
        return component

    def stop(self, component: Component, *, graceful: bool = True) -> None:
        """SIGTERM and a grace period (or SIGKILL at once) to the component's own process group."""
        if component in self.components:
            self.components.remove(component)
        if component.process.poll() is not None:
            return
        group = component.process.pid  # a session leader's pid is its process group id
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM if graceful else signal.SIGKILL)
        try:
            component.process.wait(STOP_GRACE_S if graceful else 30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            component.process.wait(30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # children that outlived their leader

    def close(self) -> None:
        for component in reversed(list(self.components)):
            self.stop(component)


def start_redis(launcher: Launcher) -> tuple[Component, str]:
    """A redis-server of the run's own: the web app's key prefix is fixed, so the run needs a
    Redis nobody else writes to."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ComponentError("redis-server is required on the PATH and is not there")
    port = free_port()
    component = launcher.start(
        "redis",
        "redis",
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 15
    try:
        while True:
            try:
                client.ping()
                return component, url
            except redis.ConnectionError:
                component.check_alive()
                if time.monotonic() > deadline:
                    raise ComponentError("the private redis-server did not answer") from None
                time.sleep(0.05)
    finally:
        client.close()


def start_carrier(launcher: Launcher, backends: int, seed: int) -> tuple[Component, int]:
    command = [_arrears(), "sim", "carrier", "--port", "0", "--seed", str(seed), "--backends", str(backends)]
    component = launcher.start("carrier", "carrier", command)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        component.check_alive()
        for line in component.lines():
            if line.startswith("carrier listening on"):
                return component, int(line.split()[3].rsplit(":", 1)[1])
        time.sleep(0.2)
    raise ComponentError("the carrier simulator printed no banner")


def start_web(launcher: Launcher, index: int) -> tuple[Component, str]:
    port = free_port()
    component = launcher.start(f"web-{index}", "web", [_arrears(), "web", "--port", str(port)])
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        component.check_alive()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/login", timeout=2.0, trust_env=False).status_code == 200:
                return component, base_url
        time.sleep(0.2)
    raise ComponentError(f"web worker {index} did not answer on {base_url}")


def engine_command(trunk: str, carrier_port: int, capacity: int, seed: int) -> list[str]:
    """One engine with its embedded SIP node, dialling the campaigns on `trunk` (one per engine,
    so that each paces its own share of the agents; leases alone would let the first engine up
    take every campaign). A separate SIP node process would be started here."""
    return [
        _arrears(),
        "engine",
        "run",
        "--trunk",
        f"{trunk}=sip:{{number}}@127.0.0.1:{carrier_port}",
        "--capacity",
        str(capacity),
        "--seed",
        str(seed),
    ]


def start_engines(
    launcher: Launcher, carrier_port: int, plan: list[tuple[str, int]], level: int
) -> list[Component]:
    """One engine per (trunk, capacity) of `plan`, started and reporting `started`."""
    engines = [
        launcher.start(
            f"engine-{level}-{index}", "engine", engine_command(trunk, carrier_port, capacity, index)
        )
        for index, (trunk, capacity) in enumerate(plan)
    ]
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for engine in engines:
            engine.check_alive()
        if all(any(event.get("event") == "started" for event in engine.events()) for engine in engines):
            return engines
        time.sleep(0.2)
    raise ComponentError("the engines did not report `started`")


def acquired_by(engines: list[Component], campaign_id: int) -> list[str]:
    """Names of the engines that have taken the campaign's lease (one, normally)."""
    return [
        engine.name
        for engine in engines
        if any(e.get("event") == "acquired" and e.get("campaign") == campaign_id for e in engine.events())
    ]
