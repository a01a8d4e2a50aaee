"""What the campaign engine uses of a SIP node, whether it runs in the engine's process
(`dialer.sip.node.SipNode`) or serves it over Redis (`dialer.sip.remote.RemoteSipNode`)."""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from typing import Protocol

from dialer.sip import protocol as p
from dialer.sip.node import CallSummary


class CallNode(Protocol):
    """The part of a SIP node the campaign engine uses; `SipNode` and `RemoteSipNode` both have it."""

    @property
    def calls(self) -> Container[str]: ...

    @property
    def recent(self) -> Mapping[str, CallSummary]: ...

    def listen(self, listener: Callable[[p.Event], None]) -> None: ...

    def unlisten(self, listener: Callable[[p.Event], None]) -> None: ...

    async def originate(
        self, request: p.Originate, reserve_agent: bool = True, timeout_s: float = 30.0
    ) -> str: ...

    async def open_agent_leg(self, customer_call: str, agent_uri: str) -> str: ...

    def bridge(self, call_id: str, other: str, after_amd: bool = False) -> None: ...

    def unbridge(self, call_id: str, other: str) -> None: ...

    def play(self, call_id: str, path: str, purpose: str = "other") -> None: ...

    def hangup(self, call_id: str, cause: str = "command") -> None: ...

    def free_slots(self) -> int: ...
