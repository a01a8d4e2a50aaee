"""An engine's or SIP node's own scrape target: what the process keeps, behind the bearer token."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from infra.metrics import record_pacer_decision
from infra.metrics_server import MetricsConfigError, process_metrics_app, serve_process_metrics

TOKEN = "s3cret-scrape-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_metrics_port_without_a_token_is_refused_at_start() -> None:
    with pytest.raises(MetricsConfigError, match="metrics_token"):
        process_metrics_app("")


async def test_serves_this_process_figures_to_the_token_holder_only() -> None:
    port = _free_port()
    server = asyncio.create_task(serve_process_metrics("127.0.0.1", port, TOKEN))
    record_pacer_decision(90_001, wanted=3, launched=2)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):  # until the server listens
                try:
                    refused = await client.get(url)
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            scraped = await client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
            wrong = await client.get(url, headers={"Authorization": "Bearer nope"})
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server
    assert refused.status_code == 401
    assert wrong.status_code == 401
    assert scraped.status_code == 200
    assert 'arrears_pacer_calls_launched_total{campaign_id="90001"} 2.0' in scraped.text
