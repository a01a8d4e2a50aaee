"""Interop with an independent SIP stack: baresip as the debtor's phone and as the agent's phone.

Each baresip runs headless with its own config directory, loopback only, random ports, auto-answer,
a WAV file as its microphone (aufile) and the sndfile filter dumping what it hears to WAV.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialer.carrier.audio import carrier_audio
from dialer.sip import protocol as p
from dialer.sip.config import NodeConfig, Trunk
from dialer.sip.node import SipNode
from tests.dialer.sip.audio_checks import voiced_seconds

pytestmark = [pytest.mark.sip, pytest.mark.asyncio(loop_scope="module")]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Phone:
    user: str
    port: int
    folder: Path
    process: asyncio.subprocess.Process
    output: list[str]

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@127.0.0.1:{self.port}"

    def heard(self) -> Path:
        return next(self.folder.glob("dump-*-dec.wav"))


async def _follow(process: asyncio.subprocess.Process, output: list[str]) -> None:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        output.append(line.decode(errors="replace"))


@asynccontextmanager
async def baresip(user: str, microphone: Path, folder: Path) -> AsyncIterator[Phone]:
    folder.mkdir()
    port = free_udp_port()
    rtp = random.randrange(20000, 60000, 200)
    (folder / "config").write_text(
        "\n".join(
            [
                "poll_method epoll",
                f"sip_listen 127.0.0.1:{port}",
                "call_max_calls 4",
                "audio_player aubridge,sink",
                f"audio_source aufile,{microphone}",
                "audio_alert aubridge,alert",
                f"rtp_ports {rtp}-{rtp + 100}",
                "rtp_stats yes",
                "module_path /usr/lib/baresip/modules",
                "module g711.so",
                "module aufile.so",
                "module aubridge.so",
                "module sndfile.so",
                f"snd_path {folder}",
                "module_tmp account.so",
                "module_app menu.so",
                "",
            ]
        )
    )
    (folder / "accounts").write_text(
        f"<sip:{user}@127.0.0.1:{port}>;regint=0;answermode=auto;audio_codecs=PCMU\n"
    )
    process = await asyncio.create_subprocess_exec(
        "baresip", "-4", "-f", str(folder),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output: list[str] = []
    follower = asyncio.create_task(_follow(process, output))
    phone = Phone(user, port, folder, process, output)
    try:
        async with asyncio.timeout(10):
            while not any("baresip is ready" in line for line in output):
                await asyncio.sleep(0.05)
        yield phone
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
        await follower


async def wait_for_line(phone: Phone, text: str, timeout_s: float) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            while not any(text in line for line in phone.output):
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{phone.user} never printed {text!r}:\n{''.join(phone.output)}") from None


@pytest.mark.slow
async def test_dialer_bridges_two_baresip_phones_with_audio_both_ways(tmp_path: Path) -> None:
    audio = carrier_audio()
    async with (
        baresip("debtor", audio.greeting, tmp_path / "debtor") as debtor,
        baresip("agent", audio.agent, tmp_path / "agent") as agent_phone,
    ):
        trunk = Trunk("phone", f"sip:{{number}}@127.0.0.1:{debtor.port}", "sip:+15550100@127.0.0.1")
        node = SipNode(NodeConfig(trunks=(trunk,), capacity=4, ring_timeout_s=15))
        await node.start()
        try:
            call = await node.originate(p.Originate("phone", "debtor", "interop-1", amd=True))
            await node.wait_for(call, p.ANSWERED, 5)
            agent = await node.open_agent_leg(call, agent_phone.uri)
            await node.wait_for(agent, p.ANSWERED, 5)
            node.bridge(call, agent)
            await node.wait_for(call, p.BRIDGED, 5)
            await asyncio.sleep(3)
            for leg in (call, agent):
                node.request_stats(leg)
                stats = await node.wait_for(leg, p.STATS_REPORT)
                assert int(stats.detail["rx_packets"] or 0) > 75, stats  # 150 in 3 s at 20 ms
                assert int(stats.detail["tx_packets"] or 0) > 75, stats
            node.hangup(call)
            summary = await node.finished(call, 10)
            agent_summary = await node.finished(agent, 10)
        finally:
            await node.stop()
        assert summary.hangup.detail["hung_up_by"] == "dialer"
        assert agent_summary.hangup.detail["cause"] == "partner_hangup"
        for phone in (debtor, agent_phone):
            await wait_for_line(phone, "terminated", 10)  # both phones saw their leg end
    # Each phone heard the other one through the bridge (the files are complete once baresip exits).
    assert voiced_seconds(debtor.heard()) > 1.5
    assert voiced_seconds(agent_phone.heard()) > 1.5
