"""The worker pool: admission, pacing and crash handling, with real worker processes."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal

import pytest

from dialer.outcomes import Outcome
from dialer.sip import protocol as p
from dialer.sip.config import NodeConfig
from dialer.sip.node import NoCapacityError, SipNode
from tests.dialer.sip.conftest import Carrier, sim_trunk
from tests.dialer.sip.test_calls import HUMAN, HUMAN_HANGS_UP

pytestmark = [pytest.mark.sip, pytest.mark.asyncio(loop_scope="module")]


async def started(carrier: Carrier, capacity: int, worker_cps: float = 10.0) -> SipNode:
    node = SipNode(
        NodeConfig(
            trunks=(sim_trunk(carrier.port),), capacity=capacity, ring_timeout_s=15, worker_cps=worker_cps
        )
    )
    await node.start()
    return node


async def test_admission_keeps_room_for_agent_legs_and_never_overcommits(carrier: Carrier) -> None:
    node = await started(carrier, capacity=4)
    try:
        assert len(node.workers) == 1
        first = await node.originate(p.Originate("sim", HUMAN, "admit-1", amd=False))
        second = await node.originate(p.Originate("sim", HUMAN, "admit-2", amd=False))
        assert node.free_slots() == 0  # two calls, each with a slot held for its agent leg
        with pytest.raises(NoCapacityError):
            await node.originate(p.Originate("sim", HUMAN, "admit-3", amd=False), timeout_s=1.0)
        for call in (first, second):
            await node.wait_for(call, p.ANSWERED, 10)
        node.hangup(first)
        third = await node.originate(p.Originate("sim", HUMAN, "admit-3", amd=False), timeout_s=5.0)
        await node.wait_for(third, p.ANSWERED, 10)
        for call in (second, third):
            node.hangup(call)
            summary = await node.finished(call, 10)
            assert summary.hangup.detail["sip_code"] == 200
    finally:
        await node.stop()


@pytest.mark.slow
async def test_call_setups_are_spaced_per_worker(carrier: Carrier) -> None:
    node = await started(carrier, capacity=4, worker_cps=5.0)
    try:
        calls = [
            await node.originate(
                p.Originate("sim", HUMAN_HANGS_UP, f"pace-{i}", amd=False), reserve_agent=False
            )
            for i in range(3)
        ]
        trying = [(await node.wait_for(call, p.TRYING, 5)).at for call in calls]
        gaps = [later - earlier for earlier, later in itertools.pairwise(trying)]
        assert min(gaps) >= 0.18, gaps
        for call in calls:
            summary = await node.finished(call, 15)
            assert summary.outcome is Outcome.ANSWERED_NO_CONVERSATION  # never a self-inflicted 486
    finally:
        await node.stop()


@pytest.mark.slow
async def test_killed_worker_loses_only_its_own_calls_and_is_restarted(carrier: Carrier) -> None:
    node = await started(carrier, capacity=8)
    try:
        calls = [await node.originate(p.Originate("sim", HUMAN, f"crash-{i}", amd=False)) for i in range(4)]
        for call in calls:
            await node.wait_for(call, p.ANSWERED, 10)
        victim = node.workers[0]
        doomed = [call for call in calls if node.calls[call].worker == victim.index]
        survivors = [call for call in calls if call not in doomed]
        assert doomed
        assert survivors
        old_pid = victim.pid
        os.kill(old_pid, signal.SIGKILL)
        for call in doomed:
            summary = await node.finished(call, 10)
            assert summary.hangup.detail["hung_up_by"] == "worker_lost"
            assert summary.hangup.detail["reason"] == "worker_lost"
            assert summary.outcome is Outcome.ABANDONED  # a live answer we dropped
        async with asyncio.timeout(15):
            while not (victim.ready and victim.pid != old_pid):
                await asyncio.sleep(0.05)
        assert node.restarts == 1
        assert all(call in node.calls for call in survivors)
        for call in survivors:
            node.hangup(call)
            summary = await node.finished(call, 10)
            assert summary.hangup.detail["hung_up_by"] == "dialer"
        again = await node.originate(p.Originate("sim", HUMAN_HANGS_UP, "after-crash", amd=False))
        assert node.calls[again].worker == victim.index  # the restarted worker is the emptiest
        summary = await node.finished(again, 15)
        assert summary.outcome is Outcome.ANSWERED_NO_CONVERSATION
    finally:
        await node.stop()


@pytest.mark.slow
async def test_a_setup_waiting_its_turn_when_the_worker_dies_is_never_sent(carrier: Carrier) -> None:
    node = await started(carrier, capacity=4, worker_cps=0.5)  # one call setup every 2 s
    try:
        await node.originate(p.Originate("sim", HUMAN, "queued-1", amd=False), reserve_agent=False)
        queued = asyncio.create_task(
            node.originate(p.Originate("sim", HUMAN, "queued-2", amd=False), reserve_agent=False)
        )
        async with asyncio.timeout(5):
            while len(node.calls) < 2:  # the second setup is admitted and waits for its turn
                await asyncio.sleep(0.01)
        waiting = next(
            call for call, record in node.calls.items() if record.command.args["attempt_id"] == "queued-2"
        )
        victim = node.workers[node.calls[waiting].worker]
        old_pid = victim.pid
        os.kill(old_pid, signal.SIGKILL)
        summary = await node.finished(waiting, 10)
        assert summary.hangup.detail["reason"] == "worker_lost"
        assert await asyncio.wait_for(queued, 10) == waiting
        async with asyncio.timeout(15):
            while not (victim.ready and victim.pid != old_pid):
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # time for a stray INVITE to reach the carrier
        assert [invite for invite in carrier.invites if invite["attempt"] == "queued-2"] == []
    finally:
        await node.stop()
