"""`/metrics` for a process that serves no web app (an engine, a SIP node).

What such a process keeps exists only inside it (the pacer's decisions, its SIP workers' health),
so every engine and SIP node serves its own scrape target, behind the same bearer token as the
web app's. The ledger's figures are left to the web processes: they are the same wherever read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infra.metrics import CONTENT_TYPE, exposition, scrape_refusal


class MetricsConfigError(ValueError):
    pass


def process_metrics_app(token: str) -> Starlette:
    if not token:
        raise MetricsConfigError("a metrics port needs the metrics_token setting (ARREARS_METRICS_TOKEN)")

    async def scrape(request: Request) -> Response:
        refusal = scrape_refusal(token, request.headers.get("authorization"))
        if refusal is not None:
            return refusal
        body = await asyncio.to_thread(exposition, [])
        return Response(body, media_type=CONTENT_TYPE)

    return Starlette(routes=[Route("/metrics", scrape)])


class _QuietServer(uvicorn.Server):
    """A server beside the process's own work: SIGTERM stays with the process, which drains its
    calls first, instead of stopping the scrape target."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_process_metrics(host: str, port: int, token: str) -> None:
    """Serve this process's metrics on host:port until cancelled."""
    config = uvicorn.Config(
        process_metrics_app(token), host=host, port=port, log_level="warning", lifespan="off"
    )
    await _QuietServer(config).serve()
