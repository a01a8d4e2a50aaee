"""`arrears bench ws` at small scale: the real app under uvicorn, real sockets, PostgreSQL, Redis."""

from __future__ import annotations

import pytest

from tests.conftest import Database
from workbench.bench.ws import BenchConfig, Summary, report, run_bench, summarise


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], Summary(0, 0.0, 0.0, 0.0)),
        ([7.0], Summary(1, 7.0, 7.0, 7.0)),
        ([3.0, 1.0], Summary(2, 2.0, 3.0, 3.0)),
        ([float(n) for n in range(1, 101)], Summary(100, 50.5, 99.0, 100.0)),
        ([float(n) for n in range(1, 201)], Summary(200, 100.5, 198.0, 200.0)),
        ([1.0] * 99 + [500.0], Summary(100, 1.0, 1.0, 500.0)),
        ([1.0] * 98 + [500.0, 900.0], Summary(100, 1.0, 500.0, 900.0)),
    ],
)
def test_summaries_use_the_median_and_the_nearest_rank_99th_percentile(
    values: list[float], expected: Summary
) -> None:
    assert summarise(values) == expected


@pytest.mark.redis
def test_every_agent_socket_gets_its_screen_pop_and_every_poller_its_call(
    pg_database: Database, redis_url: str, redis_namespace: str
) -> None:
    config = BenchConfig(
        pg_database.url,
        redis_url,
        agents=20,
        rate=20.0,
        client_processes=2,
        poll_agents=3,
        poll_rate=10.0,
        redis_prefix=redis_namespace,
    )
    result = run_bench(config)

    assert (result.connected, result.connect_errors) == (20, [])
    assert (result.published, result.push_ms.count, result.missing) == (20, 20, 0)
    assert result.closed_early == []
    assert 0 < result.push_ms.p50 <= result.push_ms.p99 <= result.push_ms.max
    # Each socket gets its state bar on connecting, then the workspace and the state bar of its pop.
    assert result.messages >= 3 * 20
    assert (result.poll_ms.count, result.poll_missing, result.poll_errors) == (3, 0, [])
    assert result.polls >= 3
    assert result.idle.rss_mb > 0
    lines = report(config, result)
    assert any(line.strip().startswith("WebSocket push") for line in lines)
    assert any(line.strip().startswith("HTTP poll every 1 s") for line in lines)
