"""Real pjsua2 over loopback: a carrier simulator subprocess and a SIP node with worker processes."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest_asyncio

from dialer.carrier.audio import speak_to, var_dir
from dialer.sip.config import NodeConfig, Trunk
from dialer.sip.node import SipNode

ARREARS = str(Path(sys.executable).with_name("arrears"))


@dataclass
class Carrier:
    process: asyncio.subprocess.Process
    port: int
    invites: list[dict[str, str]] = field(default_factory=list)

    def invite_for(self, attempt: str) -> dict[str, str]:
        return next(invite for invite in self.invites if invite["attempt"] == attempt)


async def _collect(carrier: Carrier) -> None:
    assert carrier.process.stdout is not None
    while line := await carrier.process.stdout.readline():
        kind, _, payload = line.decode().partition(" ")
        if kind == "invite":
            carrier.invites.append(json.loads(payload))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def carrier() -> AsyncIterator[Carrier]:
    process = await asyncio.create_subprocess_exec(
        ARREARS, "sim", "carrier", "--port", "0", "--seed", "7", "--backends", "4",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    banner = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    assert banner.startswith("carrier listening on"), banner
    running = Carrier(process, int(banner.split()[3].rsplit(":", 1)[1]))
    collector = asyncio.create_task(_collect(running))
    yield running
    process.terminate()
    await asyncio.wait_for(process.wait(), 15)
    await collector


def sim_trunk(port: int) -> Trunk:
    return Trunk(
        name="sim",
        uri_template=f"sip:{{number}}@127.0.0.1:{port}",
        caller_id="sip:+15550100@127.0.0.1",
        asserted_identity="<sip:+15550100@127.0.0.1>",
        max_cps=20,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(carrier: Carrier) -> AsyncIterator[SipNode]:
    sip_node = SipNode(NodeConfig(trunks=(sim_trunk(carrier.port),), capacity=12, ring_timeout_s=15))
    await sip_node.start()
    yield sip_node
    await sip_node.stop()


def prompt(name: str, text: str) -> Path:
    return speak_to(text, var_dir() / "test-prompts" / f"{name}.wav")
