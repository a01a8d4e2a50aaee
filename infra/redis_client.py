"""Redis clients that wait for a free connection instead of failing.

redis-py's default pool refuses the 101st concurrent command outright ("Too many connections").
A web worker whose thousand sockets close at once must still run every clean-up and publish every
event, so its clients queue for a connection and fail only after a generous wait.
"""

from __future__ import annotations

import redis.asyncio as aioredis

# Connections one client (one process) holds at most.
MAX_CONNECTIONS = 64
# How long a command waits for a free connection before giving up with an error.
CONNECTION_WAIT_SECONDS = 20.0


def waiting_client(
    url: str,
    *,
    max_connections: int = MAX_CONNECTIONS,
    wait_seconds: float = CONNECTION_WAIT_SECONDS,
) -> aioredis.Redis:
    """A decoding client over a pool of at most `max_connections` that waits for a free one."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, decode_responses=True, protocol=2, max_connections=max_connections, timeout=wait_seconds
    )
    return aioredis.Redis.from_pool(pool)
