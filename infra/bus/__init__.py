"""The event bus: durable streams with consumer groups, and fan-out channels.

`make_bus(settings)` gives the in-process bus when no Redis URL is set (the embedded install) and
the Redis bus otherwise; both honour the same contract (`infra.bus.base.Bus`). Create one bus per
process and share it: two in-process buses know nothing of each other.
"""

from __future__ import annotations

from infra.bus.base import (
    Bus,
    BusClosedError,
    BusError,
    Delivery,
    JSONObject,
    Message,
    Subscription,
    UnknownGroupError,
)
from infra.bus.local import LocalBus
from infra.settings import Settings

__all__ = [
    "Bus",
    "BusClosedError",
    "BusError",
    "Delivery",
    "JSONObject",
    "LocalBus",
    "Message",
    "Subscription",
    "UnknownGroupError",
    "make_bus",
]


def make_bus(settings: Settings, *, prefix: str = "arrears") -> Bus:
    """The bus the settings ask for; `prefix` namespaces Redis keys and channels."""
    if not settings.uses_redis:
        return LocalBus()
    # Imported here so that the embedded install never loads the Redis client.
    from infra.bus.redis_bus import RedisBus

    return RedisBus.from_url(settings.redis_url, prefix=prefix)
