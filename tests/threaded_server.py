"""The real app under uvicorn on its own event loop in a thread, on a free loopback port."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Self, TypeVar

import uvicorn
from starlette.types import ASGIApp

from tests.workbench.test_browser import _free_port

T = TypeVar("T")


class ThreadedServer:
    def __init__(self, app: ASGIApp) -> None:
        self.port = _free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.server.serve(),))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the server's loop (where the app's bus and stores live)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=5)

    def __enter__(self) -> Self:
        self.thread.start()
        for _ in range(300):
            if self.server.started:
                return self
            assert self.thread.is_alive(), "uvicorn stopped during start-up"
            threading.Event().wait(0.05)
        raise AssertionError("uvicorn did not start within 15 s")

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.loop.close()
