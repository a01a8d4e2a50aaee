"""The pure core of remote SIP nodes: node choice, lost calls, the wire messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.outcomes import Outcome
from dialer.sip import protocol as p
from dialer.sip import remote_core as core


def node(name: str, free: int, trunks: tuple[str, ...] = ("sim",), capacity: int = 8) -> core.NodeView:
    return core.NodeView(name, f"boot-{name}", capacity, free, trunks, beat=1)


@pytest.mark.parametrize(
    ("nodes", "pending", "need", "trunk", "chosen"),
    [
        ([], {}, 2, "sim", None),
        ([node("a", 4), node("b", 6)], {}, 2, "sim", "b"),  # the most free legs
        ([node("a", 4), node("b", 6)], {"boot-b": 4}, 2, "sim", "a"),  # less what we just asked of b
        ([node("a", 5), node("b", 5)], {}, 2, "sim", "a"),  # ties go by name
        ([node("a", 1), node("b", 1)], {}, 2, "sim", None),  # room for the call but not its agent leg
        ([node("a", 1), node("b", 1)], {}, 1, "sim", "a"),  # no agent leg wanted
        ([node("a", 8, ("other",)), node("b", 2)], {}, 2, "sim", "b"),  # only nodes with the trunk
        ([node("a", 8, ("other",))], {}, 2, "sim", None),
        ([node("a", 3)], {"boot-a": 9}, 1, "sim", None),  # never below zero
    ],
)
def test_choose_node(
    nodes: list[core.NodeView], pending: dict[str, int], need: int, trunk: str, chosen: str | None
) -> None:
    picked = core.choose_node(nodes, pending, need, trunk)
    assert (picked.name if picked is not None else None) == chosen


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=6), st.integers(1, 2))
def test_calls_go_to_nodes_until_none_has_room_for_one_more(frees: list[int], need: int) -> None:
    nodes = [node(f"n{index}", free) for index, free in enumerate(frees)]
    pending: dict[str, int] = {}
    while (picked := core.choose_node(nodes, pending, need, "sim")) is not None:
        pending[picked.boot] = pending.get(picked.boot, 0) + need
    left = [core.free_after(view, pending) for view in nodes]
    assert all(free < need for free in left)  # every leg that could be used was


@pytest.mark.parametrize(
    ("call_boots", "live", "lost"),
    [
        ([], [], set()),
        (["boot-a", "boot-b"], [node("a", 1), node("b", 1)], set()),
        (["boot-a", "boot-b", "boot-b"], [node("a", 1)], {"boot-b"}),
        (["boot-a"], [node("b", 1)], {"boot-a"}),
    ],
)
def test_lost_boots(call_boots: list[str], live: list[core.NodeView], lost: set[str]) -> None:
    assert core.lost_boots(call_boots, live) == lost


def event(kind: str, **detail: p.Scalar) -> p.Event:
    return p.Event(kind, "c1", 1.0, dict(detail))


@pytest.mark.parametrize(
    ("role", "events", "bridged", "outcome", "answered", "rang"),
    [
        ("customer", [], False, Outcome.NETWORK_FAILURE, False, False),
        ("customer", [event(p.RINGING)], False, Outcome.NETWORK_FAILURE, False, True),
        ("customer", [event(p.RINGING), event(p.ANSWERED)], False, Outcome.ABANDONED, True, True),
        ("customer", [event(p.ANSWERED)], True, Outcome.CONVERSATION, True, False),
        (
            "customer",
            [event(p.ANSWERED), event(p.AMD, verdict="machine")],
            False,
            Outcome.MACHINE,
            True,
            False,
        ),
        (
            "customer",
            [event(p.ANSWERED), event(p.PROMPT_DONE, purpose="voicemail", completed=True)],
            False,
            Outcome.VOICEMAIL_MESSAGE_LEFT,
            True,
            False,
        ),
        ("agent", [event(p.ANSWERED)], True, None, True, False),
    ],
)
def test_lost_hangup_reads_like_a_lost_worker(  # noqa: PLR0917 (one parameter per table column)
    role: str, events: list[p.Event], bridged: bool, outcome: Outcome | None, answered: bool, rang: bool
) -> None:
    hangup = core.lost_hangup("c1", core.CallTrace(role, events, bridged), at=5.0)
    assert (hangup.kind, hangup.call, hangup.at) == (p.HANGUP_EVENT, "c1", 5.0)
    assert hangup.detail["hung_up_by"] == "worker_lost"
    assert hangup.detail["cause"] == core.NODE_LOST
    assert (hangup.detail["answered"], hangup.detail["rang"]) == (answered, rang)
    assert hangup.detail.get("outcome") == (None if outcome is None else str(outcome))


def test_a_bridge_marks_both_legs() -> None:
    traces = {"c1": core.CallTrace("customer"), "a1": core.CallTrace("agent")}
    core.note_event(traces, p.Event(p.BRIDGED, "a1", 1.0, {"with_call": "c1"}))
    core.note_event(traces, p.Event(p.ANSWERED, "unknown", 1.0))
    assert traces["c1"].bridged
    assert traces["a1"].bridged
    assert [e.kind for e in traces["a1"].events] == [p.BRIDGED]
    assert traces["c1"].events == []


def test_messages_survive_the_wire() -> None:
    originate = p.Originate("sim", "+15005550001", "attempt-1", amd=False)
    command = p.Command(p.ORIGINATE, "", core.originate_args(originate, reserve_agent=True))
    request = core.Request(command, "events-stream", "r1", 12.5)
    assert core.Request.decode(request.encode()) == request
    for envelope in (
        core.Envelope(reply=core.Reply("r1", "call-1")),
        core.Envelope(reply=core.Reply("r2", error=core.NO_CAPACITY)),
        core.Envelope(event=p.Event(p.HANGUP_EVENT, "call-1", 3.0, {"sip_code": 200, "outcome": "busy"})),
    ):
        assert core.Envelope.decode(envelope.encode()) == envelope
    view = node("a", 3, ("sim", "other"))
    assert core.decode_node(view.encode()) == view
    assert core.decode_node(view.encode().encode()) == view


@pytest.mark.parametrize("raw", ["", "{", "[]", '{"name": "a"}', '{"name":"a","boot":"b","capacity":"x"}'])
def test_unreadable_heartbeats_are_ignored(raw: str) -> None:
    assert core.decode_node(raw) is None
    assert core.live_nodes([raw, None]) == []


def test_keys_are_namespaced_and_heartbeats_alone_match_the_pattern() -> None:
    import fnmatch

    pattern = core.heartbeat_pattern("ns")
    assert fnmatch.fnmatchcase(core.heartbeat_key("ns", "node-1"), pattern)
    for other in (core.commands_key("ns", "b"), core.events_key("ns", "e"), core.heartbeat_key("nx", "n")):
        assert not fnmatch.fnmatchcase(other, pattern)
