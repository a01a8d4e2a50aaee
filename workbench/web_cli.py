"""`arrears web`: serve the web app with uvicorn."""

from __future__ import annotations

import click

from infra.settings import get_settings


@click.command("web")
@click.option("--host", default=None, help="Address to listen on (default: the web_host setting).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: the web_port setting).")
def web(host: str | None, port: int | None) -> None:
    """Serve the agent workbench and the consoles over HTTP and WebSocket."""
    import uvicorn

    from infra.logging import logging_config
    from workbench.app import create_app

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.web_host,
        port=port or settings.web_port,
        log_level=settings.log_level,
        log_config=logging_config(settings),
        # One process: the embedded live store and bus live in it. Scale out with more
        # `arrears web` processes on Redis, not with uvicorn workers.
        workers=1,
    )
