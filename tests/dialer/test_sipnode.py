"""Real processes: the carrier simulator, two `arrears sipnode`s and an engine-side RemoteSipNode.

Calls spread over both nodes and are answered and bridged to agent legs on the node that placed
them; when one node is killed (SIGKILL, its workers go with it) its calls end as lost within the
heartbeat TTL, and new calls go to the survivor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from dialer.outcomes import Outcome
from dialer.sip import protocol as p
from dialer.sip.node import NoCapacityError
from dialer.sip.remote import RemoteSipNode
from infra.redis_client import waiting_client
from tests.dialer.sip.conftest import ARREARS
from tests.dialer.sip.test_calls import HUMAN

pytestmark = [
    pytest.mark.sip,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.asyncio(loop_scope="function"),
]

HEARTBEAT_TTL_S = 2.0
POLL_S = 0.2
# Under the full suite a draining node has been seen not to exit after its last call ended (not
# understood yet): the drain is bounded so the test ends, and the stop allows for a loaded machine.
DRAIN_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 60.0


@dataclass
class Process:
    process: asyncio.subprocess.Process
    lines: list[dict[str, Any]] = field(default_factory=list)


async def _first_line(process: asyncio.subprocess.Process, what: str) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 90)
    assert line, f"{what} exited with {await process.wait()} before it started"
    started: dict[str, Any] = json.loads(line)
    return started


@contextlib.asynccontextmanager
async def carrier() -> AsyncIterator[int]:
    process = await asyncio.create_subprocess_exec(
        ARREARS, "sim", "carrier", "--port", "0", "--seed", "7", "--backends", "2",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    banner = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    assert banner.startswith("carrier listening on"), banner
    try:
        yield int(banner.split()[3].rsplit(":", 1)[1])
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)


def sipnode_args(name: str, port: int, prefix: str) -> list[str]:
    return [
        ARREARS, "sipnode", "--name", name, "--trunk", f"sim=sip:{{number}}@127.0.0.1:{port}",
        "--asserted-identity", "<sip:+15550100@127.0.0.1>", "--capacity", "8",
        "--heartbeat-ttl", str(HEARTBEAT_TTL_S), "--prefix", prefix,
        "--drain-timeout", str(DRAIN_TIMEOUT_S),
    ]  # fmt: skip


@contextlib.asynccontextmanager
async def sipnode(name: str, port: int, redis_url: str, prefix: str) -> AsyncIterator[Process]:
    env = os.environ | {"ARREARS_REDIS_URL": redis_url}
    process = await asyncio.create_subprocess_exec(
        *sipnode_args(name, port, prefix), stdout=asyncio.subprocess.PIPE, env=env
    )
    started = await _first_line(process, f"sipnode {name}")
    assert started["event"] == "started", started
    try:
        yield Process(process, [started])
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            finally:
                if process.returncode is None:
                    process.kill()  # never leave a node behind the test
                    await process.wait()


@pytest_asyncio.fixture
async def remote(redis_url: str, redis_namespace: str) -> AsyncIterator[RemoteSipNode]:
    client = waiting_client(redis_url)
    node = RemoteSipNode(client, prefix=redis_namespace, poll_s=POLL_S)
    await node.start()
    yield node
    await node.stop()
    await client.aclose()


async def until(condition: Any, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.05)


async def bridged_call(remote: RemoteSipNode, port: int, index: int) -> tuple[str, str]:
    call = await remote.originate(p.Originate("sim", HUMAN, f"remote-{index}", amd=False), timeout_s=20)
    await remote.wait_for(call, p.ANSWERED, 20)
    agent = await remote.open_agent_leg(call, f"sip:agent-{index}@127.0.0.1:{port}")
    await remote.wait_for(agent, p.ANSWERED, 20)
    remote.bridge(call, agent)
    await remote.wait_for(call, p.BRIDGED, 10)
    return call, agent


async def test_calls_spread_over_nodes_and_a_killed_nodes_calls_end_as_lost(
    remote: RemoteSipNode, redis_url: str, redis_namespace: str
) -> None:
    heard: list[p.Event] = []
    remote.listen(heard.append)
    async with (
        carrier() as port,
        sipnode("node-a", port, redis_url, redis_namespace) as node_a,
        sipnode("node-b", port, redis_url, redis_namespace) as node_b,
    ):
        boots = {node_a.lines[0]["boot"]: node_a, node_b.lines[0]["boot"]: node_b}
        await until(lambda: set(remote.nodes) == set(boots), 10)
        assert remote.free_slots() == 16

        clash = await asyncio.create_subprocess_exec(
            *sipnode_args("node-a", port, redis_namespace), stderr=asyncio.subprocess.PIPE,
            env=os.environ | {"ARREARS_REDIS_URL": redis_url},
        )  # fmt: skip
        _out, error = await asyncio.wait_for(clash.communicate(), 60)
        assert clash.returncode == 1
        assert b"a live sip node named 'node-a' already heartbeats" in error

        calls = [await bridged_call(remote, port, index) for index in range(4)]
        on_node = {boot: [c for c in calls if remote.calls[c[0]].boot == boot] for boot in boots}
        assert all(len(placed) == 2 for placed in on_node.values()), on_node  # spread evenly
        assert all(remote.calls[agent].boot == remote.calls[call].boot for call, agent in calls)

        victim_boot, survivor_boot = list(boots)
        victim = boots[victim_boot].process
        killed_at = time.monotonic()
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        lost = [leg for pair in on_node[victim_boot] for leg in pair]
        await until(lambda: all(leg not in remote.calls for leg in lost), HEARTBEAT_TTL_S + 3 * POLL_S + 1)
        assert time.monotonic() - killed_at <= HEARTBEAT_TTL_S + 3 * POLL_S + 1
        for call, agent in on_node[victim_boot]:
            summary = await remote.finished(call)
            assert summary.outcome is Outcome.CONVERSATION  # bridged before the node was lost
            assert summary.hangup.detail["hung_up_by"] == "worker_lost"
            assert summary.hangup.detail["cause"] == "node_lost"
            assert (await remote.finished(agent)).outcome is None
        heard_ends = {event.call for event in heard if event.kind == p.HANGUP_EVENT}
        assert set(lost) <= heard_ends  # the listeners (the engine) heard every lost call end

        assert set(remote.nodes) == {survivor_boot}
        late = await remote.originate(p.Originate("sim", HUMAN, "remote-late", amd=False), timeout_s=20)
        assert remote.calls[late].boot == survivor_boot
        await remote.wait_for(late, p.ANSWERED, 20)

        survivors = [leg for pair in on_node[survivor_boot] for leg in pair]
        for leg in survivors:
            remote.hangup(leg)
        for call, _agent in on_node[survivor_boot]:
            summary = await remote.finished(call, 20)
            assert summary.hangup.detail["sip_code"] == 200
            assert summary.hangup.detail["hung_up_by"] != "worker_lost"

        # SIGTERM drains: no new call, the call in flight goes on until it ends, then the node exits.
        survivor = boots[survivor_boot].process
        survivor.terminate()
        await until(lambda: remote.free_slots() == 0, 5)
        await asyncio.sleep(HEARTBEAT_TTL_S + 2 * POLL_S)
        assert late in remote.calls
        assert survivor.returncode is None
        with pytest.raises(NoCapacityError):
            await remote.originate(p.Originate("sim", HUMAN, "remote-refused", amd=False), timeout_s=1)
        remote.hangup(late)
        assert (await remote.finished(late, 20)).hangup.detail["sip_code"] == 200
        # Stopping its pjsua2 workers takes seconds, more on a loaded machine.
        assert await asyncio.wait_for(survivor.wait(), STOP_TIMEOUT_S) == 0
        await until(lambda: not remote.nodes, HEARTBEAT_TTL_S)
