"""Call flows over loopback with real pjsua2: the node's workers against the carrier simulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dialer.outcomes import Outcome
from dialer.sip import protocol as p
from dialer.sip.node import SipNode
from tests.dialer.sip.audio_checks import voiced_seconds
from tests.dialer.sip.conftest import Carrier, prompt

pytestmark = [pytest.mark.sip, pytest.mark.asyncio(loop_scope="module")]

HUMAN = "+15005550001"
MACHINE = "+15005550002"
BUSY = "+15005550003"
NO_ANSWER = "+15005550004"
NOT_IN_SERVICE = "+15005550005"
UNAVAILABLE_SIT = "+15005550006"
NETWORK_FAILURE = "+15005550007"
HUMAN_HANGS_UP = "+15005550008"


def kinds(node: SipNode, call: str) -> list[str]:
    record = node.calls.get(call)
    return [event.kind for event in (record.events if record else node.recent[call].events)]


async def test_originate_sends_caller_id_identity_and_attempt_header(node: SipNode, carrier: Carrier) -> None:
    heard: list[p.Event] = []
    node.listen(heard.append)
    call = await node.originate(p.Originate("sim", HUMAN_HANGS_UP, "attempt-headers", amd=True))
    summary = await node.finished(call, 20)
    assert [event for event in heard if event.call == call] == summary.events
    invite = carrier.invite_for("attempt-headers")
    assert invite["user"] == HUMAN_HANGS_UP
    assert "+15550100" in invite["from"]
    assert invite["pai"] == "<sip:+15550100@127.0.0.1>"
    assert kinds(node, call)[:4] == [p.TRYING, p.RINGING, p.ANSWERED, p.AMD]
    amd = await node.wait_for(call, p.AMD)
    assert amd.detail["verdict"] == "human"
    assert summary.hangup.detail["hung_up_by"] == "remote"
    assert summary.outcome is Outcome.ANSWERED_NO_CONVERSATION


async def test_failures_before_answer_map_to_outcomes(node: SipNode) -> None:
    expected = {
        BUSY: (486, 17, Outcome.BUSY),
        NETWORK_FAILURE: (503, 38, Outcome.NETWORK_FAILURE),
        NOT_IN_SERVICE: (404, 1, Outcome.NOT_IN_SERVICE),
        UNAVAILABLE_SIT: (480, None, Outcome.NOT_IN_SERVICE),
    }
    calls = {
        number: await node.originate(p.Originate("sim", number, f"fail-{number}")) for number in expected
    }
    for number, (code, cause, outcome) in expected.items():
        summary = await node.finished(calls[number], 15)
        assert summary.hangup.detail["sip_code"] == code, number
        assert summary.hangup.detail["q850"] == cause, number
        assert summary.outcome is outcome, number
    for number in (NOT_IN_SERVICE, UNAVAILABLE_SIT):
        detail = node.recent[calls[number]].hangup.detail
        assert detail["early_media"] is True
        assert detail["early_media_class"] == "sit_tone"
        assert p.EARLY_MEDIA in kinds(node, calls[number])


@pytest.mark.slow
async def test_machine_gets_a_voicemail_message(node: SipNode) -> None:
    message = prompt("voicemail", "This is a message for Jordan Avery. Please call us back.")
    call = await node.originate(p.Originate("sim", MACHINE, "attempt-machine", amd=True))
    amd = await node.wait_for(call, p.AMD, 15)
    assert amd.detail["verdict"] == "machine"
    node.play(call, str(message), purpose="voicemail")
    done = await node.wait_for(call, p.PROMPT_DONE, 15)
    assert done.detail["completed"] is True
    node.hangup(call)
    summary = await node.finished(call, 10)
    assert summary.hangup.detail["hung_up_by"] == "dialer"
    assert summary.outcome is Outcome.VOICEMAIL_MESSAGE_LEFT


@pytest.mark.slow
async def test_live_answer_without_agent_hears_safe_harbour_and_is_abandoned(node: SipNode) -> None:
    message = prompt("safe-harbour", "Sorry we missed you. This call was from Arrears, 5 5 5 0 1 0 0.")
    call = await node.originate(p.Originate("sim", HUMAN, "attempt-abandon", amd=False))
    await node.wait_for(call, p.ANSWERED, 10)
    node.play(call, str(message), purpose="safe_harbour")
    await node.wait_for(call, p.PROMPT_DONE, 15)
    node.hangup(call)
    summary = await node.finished(call, 10)
    assert summary.outcome is Outcome.ABANDONED


async def test_bridge_record_dtmf_and_hangup_clean_up_both_legs(
    node: SipNode, carrier: Carrier, tmp_path: Path
) -> None:
    recording = tmp_path / "call.wav"
    call = await node.originate(p.Originate("sim", HUMAN, "attempt-bridge", amd=True))
    await node.wait_for(call, p.ANSWERED, 10)
    node.record(call, str(recording))
    agent = await node.open_agent_leg(call, f"sip:agent-7@127.0.0.1:{carrier.port}")
    await node.wait_for(agent, p.ANSWERED, 10)
    node.bridge(call, agent)
    bridged = await node.wait_for(call, p.BRIDGED, 5)
    assert bridged.detail["with_call"] == agent
    node.send_dtmf(call, "12#")
    sent = await node.wait_for(call, p.DTMF_SENT)
    assert sent.detail["method"] == "rfc4733"
    async with asyncio.timeout(5):  # the simulated callee echoes each digit back
        while (
            len(echoed := [e.detail["digit"] for e in node.calls[call].events if e.kind == p.DTMF_RECEIVED])
            < 3
        ):
            await asyncio.sleep(0.05)
    assert echoed == ["1", "2", "#"]
    node.pause_recording(call)
    await node.wait_for(call, p.RECORDING, where=lambda e: e.detail["state"] == "paused")
    node.resume_recording(call)
    await asyncio.sleep(2.5)  # the agent phone talks through the bridge
    for leg in (call, agent):
        node.request_stats(leg)
        stats = await node.wait_for(leg, p.STATS_REPORT)
        assert int(stats.detail["rx_packets"] or 0) > 50, stats
        assert int(stats.detail["tx_packets"] or 0) > 50, stats
    node.hangup(call)
    summary = await node.finished(call, 10)
    agent_summary = await node.finished(agent, 10)
    assert summary.outcome is Outcome.CONVERSATION
    assert agent_summary.hangup.detail["cause"] == "partner_hangup"
    assert agent_summary.outcome is None
    saved = await node.wait_for(call, p.RECORDING, where=lambda e: e.detail["state"] == "saved")
    assert saved.detail["complete"] is True
    assert voiced_seconds(recording) > 1.5


async def test_bridge_armed_before_the_verdict_follows_a_human_verdict_in_the_worker(
    node: SipNode, carrier: Carrier
) -> None:
    call = await node.originate(p.Originate("sim", HUMAN, "attempt-armed-human", amd=True))
    await node.wait_for(call, p.ANSWERED, 10)
    agent = await node.open_agent_leg(call, f"sip:agent-8@127.0.0.1:{carrier.port}")
    await node.wait_for(agent, p.ANSWERED, 10)
    node.bridge(call, agent, after_amd=True)
    bridged = await node.wait_for(call, p.BRIDGED, 10)
    amd = await node.wait_for(call, p.AMD)
    assert amd.detail["verdict"] == "human"
    assert float(amd.detail["listening_after_s"] or 0) < 1.0
    assert bridged.detail["with_call"] == agent
    assert kinds(node, call).index(p.AMD) < kinds(node, call).index(p.BRIDGED)
    node.hangup(call)
    assert (await node.finished(call, 10)).outcome is Outcome.CONVERSATION


@pytest.mark.slow
async def test_bridge_armed_before_the_verdict_keeps_a_machine_away_from_the_agent(
    node: SipNode, carrier: Carrier
) -> None:
    call = await node.originate(p.Originate("sim", MACHINE, "attempt-armed-machine", amd=True))
    await node.wait_for(call, p.ANSWERED, 10)
    agent = await node.open_agent_leg(call, f"sip:agent-9@127.0.0.1:{carrier.port}")
    await node.wait_for(agent, p.ANSWERED, 10)
    node.bridge(call, agent, after_amd=True)
    refused = await node.wait_for(call, p.COMMAND_FAILED, 15)
    assert refused.detail["op"] == p.BRIDGE
    assert (await node.wait_for(call, p.AMD)).detail["verdict"] == "machine"
    assert p.BRIDGED not in kinds(node, call)
    node.hangup(agent)
    node.hangup(call)
    assert (await node.finished(call, 10)).outcome is Outcome.MACHINE


@pytest.mark.slow
async def test_unanswered_call_is_cancelled_at_the_ring_timeout(node: SipNode) -> None:
    call = await node.originate(p.Originate("sim", NO_ANSWER, "attempt-ring"))
    ringing = await node.wait_for(call, p.RINGING, 5)
    summary = await node.finished(call, 25)
    assert summary.hangup.at - ringing.at >= 14.9
    assert summary.hangup.detail["cause"] == "ring_timeout"
    assert summary.hangup.detail["sip_code"] == 487
    assert summary.outcome is Outcome.NO_ANSWER
