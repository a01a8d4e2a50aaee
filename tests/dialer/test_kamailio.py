"""Kamailio as the front SIP proxy: a SIP node calls the carrier simulator through it.

Runs the Debian `kamailio` binary with infra/deploy/kamailio/kamailio.cfg on a free port, its
dispatcher list naming the carrier simulator. The carrier redirects answered calls to a backend;
the proxy follows the redirect itself, so every dialog is record-routed through it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import pytest_asyncio

from dialer.carrier.front import response
from dialer.outcomes import Outcome
from dialer.sip import protocol as p
from dialer.sip.config import NodeConfig, Trunk
from dialer.sip.node import SipNode
from dialer.sip.sipmsg import parse

pytestmark = [pytest.mark.sip, pytest.mark.asyncio(loop_scope="module")]

ARREARS = str(Path(sys.executable).with_name("arrears"))
CONFIG = Path(__file__).resolve().parents[2] / "infra" / "deploy" / "kamailio" / "kamailio.cfg"
HUMAN = "+15005550001"
BUSY = "+15005550003"
NETWORK_FAILURE = "+15005550007"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(method: str, uri: str, port: int) -> bytes:
    """A minimal out-of-dialog request from a UDP client on `port`."""
    call_id = uuid.uuid4().hex
    return (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call_id[:16]}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:probe@127.0.0.1:{port}>;tag={call_id[:8]}\r\n"
        f"To: <{uri}>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: 1 {method}\r\n"
        f"Contact: <sip:probe@127.0.0.1:{port}>\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def final_status(proxy_port: int, method: str, uri: str, timeout_s: float = 1.0) -> int:
    """Send one request to the proxy and return the status code of its first final response."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.bind(("127.0.0.1", 0))
        client.settimeout(timeout_s)
        client.sendto(request(method, uri, client.getsockname()[1]), ("127.0.0.1", proxy_port))
        while True:
            code = int(client.recv(65535).split(b" ", 2)[1])
            if code >= 200:
                return code


@dataclass
class Proxy:
    port: int
    log: Path

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port}"

    def log_lines(self, text: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if text in line]


@asynccontextmanager
async def kamailio(folder: Path, gateways: list[str], node_net: str) -> AsyncIterator[Proxy]:
    """Kamailio with our config on a free port; ready once it answers an OPTIONS (with any code)."""
    binary = shutil.which("kamailio")
    if binary is None:
        pytest.fail("kamailio is required on the PATH (Debian package `kamailio`) and is not there")
    folder.mkdir()
    dispatcher_list = folder / "dispatcher.list"
    dispatcher_list.write_text("".join(f"1 sip:{gateway}\n" for gateway in gateways))
    proxy = Proxy(free_udp_port(), folder / "kamailio.log")
    with proxy.log.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            binary, "-f", str(CONFIG), "-DD", "-E", "-m", "32", "-M", "4", "-Y", str(folder),
            "-A", f"LISTEN=udp:127.0.0.1:{proxy.port}", "-A", f"NODE_NET={node_net}",
            "-A", f'DISPATCHER_LIST="{dispatcher_list}"',
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        async with asyncio.timeout(10):
            while True:
                if process.returncode is not None:
                    pytest.fail(f"kamailio exited with {process.returncode}:\n{proxy.log.read_text()}")
                try:
                    await asyncio.to_thread(final_status, proxy.port, "OPTIONS", proxy.uri)
                    break
                except (TimeoutError, ConnectionRefusedError):
                    await asyncio.sleep(0.1)
        yield proxy
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


class FailingGateway(asyncio.DatagramProtocol):
    """A carrier gateway that refuses every INVITE with 503, counting them."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.invites = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        message = parse(data.decode())
        if message.method == "INVITE" and self.transport is not None:
            self.invites += 1
            self.transport.sendto(response(message, 503, "Service Unavailable", []), addr)


@dataclass
class Carrier:
    port: int
    invites: list[dict[str, str]]


async def _collect(process: asyncio.subprocess.Process, invites: list[dict[str, str]]) -> None:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        kind, _, payload = line.decode().partition(" ")
        if kind == "invite":
            invites.append(json.loads(payload))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def carrier() -> AsyncIterator[Carrier]:
    process = await asyncio.create_subprocess_exec(
        ARREARS, "sim", "carrier", "--port", "0", "--seed", "7", "--backends", "2",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    banner = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    assert banner.startswith("carrier listening on"), banner
    invites: list[dict[str, str]] = []
    collector = asyncio.create_task(_collect(process, invites))
    yield Carrier(int(banner.split()[3].rsplit(":", 1)[1]), invites)
    process.terminate()
    await asyncio.wait_for(process.wait(), 15)
    await collector


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def proxy(carrier: Carrier, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Proxy]:
    folder = tmp_path_factory.mktemp("kamailio") / "run"
    async with kamailio(folder, [f"127.0.0.1:{carrier.port}"], "127.0.0.0/8") as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(proxy: Proxy) -> AsyncIterator[SipNode]:
    trunk = Trunk(
        name="proxy",
        uri_template=f"sip:{{number}}@127.0.0.1:{proxy.port}",
        caller_id="sip:+15550100@127.0.0.1",
        max_cps=20,
    )
    sip_node = SipNode(NodeConfig(trunks=(trunk,), capacity=4, ring_timeout_s=15))
    await sip_node.start()
    yield sip_node
    await sip_node.stop()


async def test_answered_call_is_bridged_and_hung_up_through_the_proxy(
    node: SipNode, carrier: Carrier, proxy: Proxy
) -> None:
    call = await node.originate(p.Originate("proxy", HUMAN, "kamailio-human", amd=False))
    await node.wait_for(call, p.ANSWERED, 15)
    agent = await node.open_agent_leg(call, f"sip:agent-1@127.0.0.1:{carrier.port}")
    await node.wait_for(agent, p.ANSWERED, 10)
    node.bridge(call, agent)
    await node.wait_for(call, p.BRIDGED, 5)
    await asyncio.sleep(1)
    node.hangup(call)
    summary = await node.finished(call, 10)
    assert summary.outcome is Outcome.CONVERSATION
    assert summary.hangup.detail["hung_up_by"] == "dialer"
    assert (await node.finished(agent, 10)).hangup.detail["cause"] == "partner_hangup"
    # The carrier saw one INVITE for the number, sent on by the proxy from the node's request.
    assert [invite["user"] for invite in carrier.invites if invite["attempt"] == "kamailio-human"] == [HUMAN]
    assert proxy.log_lines(f"for {HUMAN} relayed to gateway sip:{HUMAN}@127.0.0.1:{carrier.port}")
    assert proxy.log_lines("redirected by the gateway")
    async with asyncio.timeout(5):  # the BYE's 200 may still be on its way back
        while not proxy.log_lines("reply 200 OK for BYE"):
            await asyncio.sleep(0.05)
    assert proxy.log_lines("in-dialog ACK")
    assert proxy.log_lines("in-dialog BYE")


async def test_busy_number_comes_back_busy_through_the_proxy(node: SipNode, proxy: Proxy) -> None:
    call = await node.originate(p.Originate("proxy", BUSY, "kamailio-busy", amd=False))
    summary = await node.finished(call, 15)
    assert summary.hangup.detail["sip_code"] == 486
    assert summary.hangup.detail["q850"] == 17
    assert summary.outcome is Outcome.BUSY
    assert proxy.log_lines(f"for {BUSY} relayed to gateway")
    assert proxy.log_lines("reply 486 Busy Here for INVITE")


async def test_carrier_503_reaches_the_node_as_500_with_its_q850_cause(node: SipNode) -> None:
    call = await node.originate(p.Originate("proxy", NETWORK_FAILURE, "kamailio-503", amd=False))
    summary = await node.finished(call, 15)
    assert summary.hangup.detail["sip_code"] == 500  # a proxy must not pass a 503 on (RFC 3261 16.7)
    assert summary.hangup.detail["q850"] == 38
    assert summary.outcome is Outcome.NETWORK_FAILURE


async def test_proxy_answers_options_from_nodes_and_gateways(proxy: Proxy) -> None:
    assert await asyncio.to_thread(final_status, proxy.port, "OPTIONS", proxy.uri) == 200


async def test_requests_from_neither_nodes_nor_gateways_are_refused(tmp_path: Path) -> None:
    async with kamailio(tmp_path / "closed", ["192.0.2.1:5060"], "192.0.2.0/24") as closed:
        for method, uri in (("OPTIONS", closed.uri), ("INVITE", f"sip:{HUMAN}@127.0.0.1")):
            assert await asyncio.to_thread(final_status, closed.port, method, uri) == 403, method
        assert closed.log_lines("rejected INVITE from 127.0.0.1")


async def test_a_gateway_answering_503_fails_over_to_the_next_one(carrier: Carrier, tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    transport, failing = await loop.create_datagram_endpoint(FailingGateway, local_addr=("127.0.0.1", 0))
    try:
        gateways = [f"127.0.0.1:{port}" for port in (transport.get_extra_info("sockname")[1], carrier.port)]
        async with kamailio(tmp_path / "failover", gateways, "127.0.0.0/8") as proxy:
            for _ in gateways:  # round-robin: one of the two INVITEs goes to the failing gateway first
                code = await asyncio.to_thread(final_status, proxy.port, "INVITE", f"sip:{BUSY}@127.0.0.1")
                assert code == 486
            assert failing.invites == 1
            assert proxy.log_lines(f"failed over to gateway sip:{BUSY}@127.0.0.1:{carrier.port}")
    finally:
        transport.close()
