"""The `arrears` command line root.

Subcommands live in the package that owns them and are loaded only when invoked, so that
`infra` never imports the packages above it at import time and a slow import (pjsua2, numpy)
costs only the commands that need it.
"""

from __future__ import annotations

import importlib
import sys

import click

# name -> ("module:attribute" of a click command or group, one-line help shown by --help).
COMMANDS: dict[str, tuple[str, str]] = {
    "db": ("infra.db_cli:db", "Database schema: upgrade, downgrade, current revision."),
    "users": ("compliance.users_cli:users", "Add, list and disable users; set passwords."),
    "import": ("campaigns.import_cli:import_group", "Import placement files (call lists)."),
    "sample": ("campaigns.sample_cli:sample", "Write synthetic sample data."),
    "audit": ("compliance.audit_cli:audit", "Verify the tamper-evident audit chain."),
    "compliance": ("compliance.cli:compliance", "Compliance checks and reports."),
    "engine": (
        "campaigns.engine_cli:engine",
        "Run campaigns: the pacing engine, with browser or simulated agents.",
    ),
    "sim": ("dialer.sim_cli:sim", "Simulators: the SIP carrier and agent phones."),
    "sipnode": ("dialer.sipnode_cli:sipnode", "A SIP node serving engines over Redis (scale-out)."),
    "web": ("workbench.web_cli:web", "Serve the workbench and consoles (HTTP and WebSocket)."),
    "demo": ("workbench.demo:demo", "Start the whole system on embedded defaults with sample data."),
}

# `arrears bench NAME`: one benchmark per component, owned by that component's package.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "import": ("campaigns.import_bench:bench_import", "Call-list import rows/s on PostgreSQL and SQLite."),
    "pacing": ("dialer.pacing.bench:bench_pacing", "Pacers against the baselines in the simulator."),
    "amd": ("dialer.amd.bench:bench_amd", "Answering-machine detection accuracy and decision time."),
    "sip": ("dialer.sip.bench:bench_sip", "Concurrent bridged calls over loopback SIP."),
    "engine": (
        "campaigns.engine.comparison:bench_engine",
        "A live predictive campaign against the simulator's prediction.",
    ),
    "gate": ("campaigns.gate_bench:bench_gate", "Dial-gate decisions per second on PostgreSQL."),
    "ws": ("workbench.bench.ws:bench_ws", "Screen-pop latency to 1,000 agent WebSockets on one web worker."),
    "load": ("workbench.bench.load:bench_load", "Agents sustained end to end: 2 web workers, 2 engines."),
}

# The engine's browser agent pools ("module:attribute"), composed here because the engine's package
# may not import the workbench's.
BROWSER_AGENT_POOLS = "workbench.engine_agents:browser_agent_pools"


def _load(target: str) -> click.Command:
    module_name, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args: object, lazy: dict[str, tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            return _load(self._lazy[cmd_name][0])
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing must not import every subcommand's module (pjsua2, numpy, ...).
        rows = [(name, help_text) for name, (_, help_text) in self._lazy.items()]
        for name in super().list_commands(ctx):
            command = super().get_command(ctx, name)
            if command is not None and name not in self._lazy:
                rows.append((name, command.get_short_help_str()))
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group(cls=LazyGroup, lazy=COMMANDS)
@click.version_option(package_name="arrears")
def cli() -> None:
    """Arrears: outbound collections dialer and agent workbench."""


@cli.group(cls=LazyGroup, lazy=BENCHMARKS)
def bench() -> None:
    """Benchmarks that print figures against a baseline measured in the same run."""


def main() -> None:
    sys.exit(cli.main(prog_name="arrears", standalone_mode=True))
