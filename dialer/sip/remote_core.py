"""Pure core of remote SIP nodes: Redis key names, the wire messages, node choice, lost calls.

A sip node process (`arrears sipnode`) heartbeats a `NodeView` under a key with a TTL and reads
`Request`s from its own command stream; engines (`RemoteSipNode`) read `Reply`s and call events
from a stream of their own. No I/O here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dialer.outcomes import AmdResult, CallFacts, EarlyMedia, HungUpBy, Message, classify
from dialer.sip import protocol as p

NODE_LOST = "node_lost"

# Replies to originate and agent-leg requests: the call id, or why there is none.
NO_CAPACITY = "no_capacity"
UNKNOWN_CALL = "unknown_call"
UNKNOWN_TRUNK = "unknown_trunk"


def heartbeat_key(prefix: str, name: str) -> str:
    return f"{prefix}:sipnodes:{name}"


def heartbeat_pattern(prefix: str) -> str:
    return f"{prefix}:sipnodes:*"


def commands_key(prefix: str, boot: str) -> str:
    """One stream per process start: a restarted node never runs commands meant for its past life."""
    return f"{prefix}:sipnode-commands:{boot}"


def events_key(prefix: str, engine: str) -> str:
    return f"{prefix}:sipnode-events:{engine}"


@dataclass(frozen=True)
class NodeView:
    """What a node's heartbeat says: who it is, which trunks it has and how many legs are free."""

    name: str
    boot: str  # a new id at every start of the process
    capacity: int
    free: int
    trunks: tuple[str, ...]
    beat: int  # counts up with every heartbeat of this boot

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def decode_node(text: str | bytes) -> NodeView | None:
    """The heartbeat's view, or None for a value this version cannot read."""
    try:
        raw = json.loads(text)
        return NodeView(
            name=str(raw["name"]),
            boot=str(raw["boot"]),
            capacity=int(raw["capacity"]),
            free=int(raw["free"]),
            trunks=tuple(str(trunk) for trunk in raw["trunks"]),
            beat=int(raw["beat"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def free_after(node: NodeView, pending: Mapping[str, int]) -> int:
    """Free legs of the node, less those this engine asked for since its last heartbeat."""
    return max(0, node.free - pending.get(node.boot, 0))


def choose_node(
    nodes: Iterable[NodeView], pending: Mapping[str, int], need: int, trunk: str
) -> NodeView | None:
    """The live node with the trunk and the most free legs (at least `need`); ties go by name."""
    able = [node for node in nodes if trunk in node.trunks and free_after(node, pending) >= need]
    if not able:
        return None
    return min(able, key=lambda node: (-free_after(node, pending), node.name))


def lost_boots(call_boots: Iterable[str], live: Iterable[NodeView]) -> set[str]:
    """The nodes (by boot) that hold calls but no longer heartbeat."""
    alive = {node.boot for node in live}
    return {boot for boot in call_boots if boot not in alive}


@dataclass(frozen=True)
class Request:
    """A command for a node, with the stream its reply and the call's events go to."""

    command: p.Command
    reply_to: str
    request: str = ""  # set when the command wants a reply (originate, agent leg)
    deadline: float = 0.0  # wall-clock time after which the node must not place the call

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Request:
        raw = json.loads(text)
        command = raw["command"]
        return cls(
            p.Command(str(command["op"]), str(command.get("call", "")), dict(command.get("args", {}))),
            reply_to=str(raw["reply_to"]),
            request=str(raw.get("request", "")),
            deadline=float(raw.get("deadline", 0.0)),
        )


def originate_args(request: p.Originate, reserve_agent: bool) -> dict[str, Any]:
    """The arguments of an originate command as the node reads them."""
    return asdict(request) | {"reserve_agent": reserve_agent}


@dataclass(frozen=True)
class Reply:
    request: str
    call: str = ""
    error: str = ""  # "" when `call` was placed


@dataclass(frozen=True)
class Envelope:
    """One entry of an engine's stream: a reply or a call event."""

    reply: Reply | None = None
    event: p.Event | None = None

    def encode(self) -> str:
        body: dict[str, Any] = {}
        if self.reply is not None:
            body["reply"] = asdict(self.reply)
        if self.event is not None:
            body["event"] = asdict(self.event)
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Envelope:
        raw = json.loads(text)
        reply = raw.get("reply")
        event = raw.get("event")
        return cls(
            reply=None if reply is None else Reply(**reply),
            event=None if event is None else p.Event.decode(json.dumps(event).encode()),
        )


@dataclass
class CallTrace:
    """What an engine knows of one remote call, enough to classify it if its node is lost."""

    role: str
    events: list[p.Event] = field(default_factory=list)
    bridged: bool = False  # this leg or its partner reported a bridge


def facts_of(trace: CallTrace, hung_up_by: HungUpBy, final_code: int = 0) -> CallFacts:
    kinds = {event.kind for event in trace.events}
    amd = AmdResult.NOT_RUN
    message = Message.NONE
    for event in trace.events:
        if event.kind == p.AMD:
            amd = AmdResult(str(event.detail["verdict"]))
        elif event.kind == p.PROMPT_DONE:
            message = _message_after(message, event)
    return CallFacts(
        final_code=final_code,
        q850_cause=None,
        rang=p.RINGING in kinds,
        answered=p.ANSWERED in kinds,
        amd=amd,
        hung_up_by=hung_up_by,
        bridged=trace.bridged,
        early_media=EarlyMedia.NONE,
        message=message,
    )


def _message_after(current: Message, prompt_done: p.Event) -> Message:
    purpose = prompt_done.detail.get("purpose")
    if purpose == "voicemail":
        completed = bool(prompt_done.detail.get("completed"))
        return Message.VOICEMAIL_COMPLETED if completed else Message.VOICEMAIL_STARTED
    if purpose == "safe_harbour" and current is Message.NONE:
        return Message.SAFE_HARBOUR
    return current


def lost_hangup(call: str, trace: CallTrace, at: float) -> p.Event:
    """The end of a call whose node stopped heartbeating, as the node reports a lost worker's calls.

    `hung_up_by` is `worker_lost`, so the engine and its ledger treat it exactly like a crashed
    worker; `cause` says it was the whole node.
    """
    facts = facts_of(trace, HungUpBy.WORKER_LOST)
    detail: dict[str, p.Scalar] = {"role": trace.role, "sip_code": 0, "reason": NODE_LOST}
    detail |= {"hung_up_by": str(HungUpBy.WORKER_LOST), "cause": NODE_LOST}
    detail |= {"answered": facts.answered, "rang": facts.rang}
    if trace.role == "customer":
        detail["outcome"] = str(classify(facts))
    return p.Event(p.HANGUP_EVENT, call, at, detail)


def note_event(traces: Mapping[str, CallTrace], event: p.Event) -> None:
    """Record `event` on its call's trace; a bridge marks both legs."""
    trace = traces.get(event.call)
    if trace is None:
        return
    trace.events.append(event)
    if event.kind == p.BRIDGED:
        trace.bridged = True
        partner = traces.get(str(event.detail.get("with_call", "")))
        if partner is not None:
            partner.bridged = True


def live_nodes(values: Sequence[str | bytes | None]) -> list[NodeView]:
    """The readable heartbeats among raw key values (an expired key reads as None)."""
    views = (decode_node(value) for value in values if value is not None)
    return [view for view in views if view is not None]
