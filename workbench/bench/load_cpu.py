"""CPU by process group for `arrears bench load`, read from /proc.

Groups: each component's process group (web workers, engines, the engines' SIP workers, the
carrier simulator, the private Redis), the bench's agent client processes, the PostgreSQL
backends serving the run's database, and the bench itself. Shares are of the whole machine
(100 % = every core busy), over the stretch between two samples; a process that exits in between
loses what it spent, which is why samples are taken while every component is running.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
SIP_WORKERS = "sip workers"
AGENT_CLIENTS = "agent clients"
POSTGRES = "postgresql"
BENCH = "bench"


@dataclasses.dataclass(frozen=True)
class ProcessTime:
    pid: int
    group_id: int  # the process group
    cpu_s: float  # user + system
    command: str  # /proc/PID/cmdline with NULs as spaces


@dataclasses.dataclass(frozen=True)
class Roles:
    """Which process belongs where: component process groups by id, and single pids."""

    groups: Mapping[int, str]  # process group id -> group name ("web", "engine", ...)
    engine_leaders: frozenset[int]  # an engine's own pid; the rest of its group are SIP workers
    clients: frozenset[int]
    bench: int
    database: str  # PostgreSQL backends name their database in their title


def group_of(process: ProcessTime, roles: Roles) -> str | None:
    if process.pid in roles.clients:
        return AGENT_CLIENTS
    if process.pid == roles.bench:
        return BENCH
    group = roles.groups.get(process.group_id)
    if group == "engine" and process.pid not in roles.engine_leaders:
        return SIP_WORKERS
    if group is not None:
        return group
    if process.command.startswith("postgres: ") and f" {roles.database} " in process.command:
        return POSTGRES
    return None


def cpu_by_group(processes: Iterable[ProcessTime], roles: Roles) -> dict[str, float]:
    totals: dict[str, float] = {}
    for process in processes:
        group = group_of(process, roles)
        if group is not None:
            totals[group] = totals.get(group, 0.0) + process.cpu_s
    return totals


def shares(
    before: Mapping[str, float], after: Mapping[str, float], seconds: float, cores: int
) -> dict[str, float]:
    """Percent of the machine each group used between two totals, largest first."""
    spent = {group: after[group] - before.get(group, 0.0) for group in after}
    return dict(
        sorted(
            ((group, 100 * max(0.0, cpu) / (seconds * cores)) for group, cpu in spent.items()),
            key=lambda item: -item[1],
        )
    )


def busy_fraction(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Share of all cores busy between two (busy, total) jiffy counts of /proc/stat."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


def read_processes() -> list[ProcessTime]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited meanwhile
        # After the command name: state, ppid, pgrp, ... utime (14th field) and stime (15th).
        cpu = (int(fields[11]) + int(fields[12])) / _TICK
        found.append(ProcessTime(int(entry.name), int(fields[2]), cpu, command))
    return found


def read_machine() -> tuple[int, int]:
    """Busy and total jiffies of all cores (idle and iowait count as not busy)."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # guest time is already inside user time
    return total - values[3] - values[4], total
