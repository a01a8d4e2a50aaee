"""Configuration of a SIP node: trunks, pool and timing. Frozen, validated at construction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Regulators and carriers expect an unanswered call to ring for at least 15 seconds (about
# four rings) before the dialer gives up; a shorter setting is a configuration error.
MIN_RING_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Trunk:
    name: str
    uri_template: str  # e.g. "sip:{number}@carrier.example:5060"
    caller_id: str  # the From URI, e.g. "sip:+15550100@dialer.example"
    asserted_identity: str = ""  # P-Asserted-Identity value; empty: none
    username: str = ""  # digest credentials; empty: no authentication
    password: str = ""
    realm: str = "*"
    max_cps: float = 10.0  # call setups per second over this trunk, summed over all workers
    attempt_header: str = "X-Arrears-Attempt"

    def __post_init__(self) -> None:
        if "{number}" not in self.uri_template:
            raise ValueError(f"trunk {self.name}: uri_template must contain {{number}}")
        if self.max_cps <= 0:
            raise ValueError(f"trunk {self.name}: max_cps must be positive")

    def uri_for(self, number: str) -> str:
        return self.uri_template.format(number=number)


@dataclass(frozen=True)
class NodeConfig:
    trunks: tuple[Trunk, ...]
    capacity: int = 8  # simultaneous call legs (customer and agent) the node must carry
    bind_host: str = "127.0.0.1"  # address of the workers' SIP and RTP sockets
    ring_timeout_s: float = 30.0
    agent_ring_timeout_s: float = 10.0
    worker_cps: float = 10.0  # call setups per second per worker (customer and agent legs)
    amd_window_s: float = 6.0  # force an AMD decision this long after answer
    drain_grace_s: float = 0.3  # a slot we hung up is reusable once pjsua's CANCEL/BYE completes
    log_level: int = 1
    agent_headers: tuple[tuple[str, str], ...] = field(
        default=(("Call-Info", "<sip:arrears>;answer-after=0"), ("Alert-Info", "auto-answer"))
    )

    def __post_init__(self) -> None:
        if self.ring_timeout_s < MIN_RING_TIMEOUT_S:
            raise ValueError(f"ring_timeout_s must be at least {MIN_RING_TIMEOUT_S} s")
        if self.capacity < 2:
            raise ValueError("capacity must allow at least one customer call and its agent leg")
        if self.worker_cps <= 0:
            raise ValueError("worker_cps must be positive")
        names = [trunk.name for trunk in self.trunks]
        if len(names) != len(set(names)):
            raise ValueError("trunk names must be unique")

    def trunk(self, name: str) -> Trunk:
        for trunk in self.trunks:
            if trunk.name == name:
                return trunk
        raise KeyError(f"no trunk named {name!r}")


def node_config_from_dict(raw: dict[str, Any]) -> NodeConfig:
    """Rebuild a NodeConfig from `dataclasses.asdict` output (as sent to worker processes)."""
    fields = dict(raw)
    fields["trunks"] = tuple(Trunk(**trunk) for trunk in raw["trunks"])
    fields["agent_headers"] = tuple((str(name), str(value)) for name, value in raw["agent_headers"])
    return NodeConfig(**fields)
