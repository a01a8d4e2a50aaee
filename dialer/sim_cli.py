"""`arrears sim ...`: simulators for demos, tests and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click


@click.group()
def sim() -> None:
    """Simulated peers (a SIP carrier with scripted callees and agent phones)."""


@sim.command()
@click.option("--port", default=5080, show_default=True, help="UDP port of the carrier's SIP front (0: any).")
@click.option("--seed", default=1, show_default=True, help="Seed that picks each number's profile.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--backends", default=4, show_default=True, help="pjsua2 processes behind the front.")
def carrier(port: int, seed: int, host: str, backends: int) -> None:
    """Answer calls like a carrier: humans, machines, busy, no answer, not in service, failures.

    Fixed test numbers force a profile (see dialer.carrier.profiles.TEST_NUMBERS); user parts
    starting with `agent` are agent phones that answer at once.
    """
    from dialer.carrier.front import serve

    async def run() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve(host, port, seed, backends)

    asyncio.run(run())
