"""Every command the CLI lists exists, and listing does not import the commands."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from infra.cli import BENCHMARKS, COMMANDS, _load, cli

ENTRIES = sorted(
    {
        **{f"arrears {k}": v for k, v in COMMANDS.items()},
        **{f"bench {k}": v for k, v in BENCHMARKS.items()},
    }.items()
)


@pytest.mark.parametrize(("name", "entry"), ENTRIES, ids=[name for name, _ in ENTRIES])
def test_every_listed_command_loads(name: str, entry: tuple[str, str]) -> None:
    target, help_text = entry
    assert isinstance(_load(target), click.Command), name
    assert help_text.endswith(".")


def test_help_lists_commands_without_importing_them() -> None:
    code = (
        "import sys; from infra.cli import main; sys.argv = ['arrears', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pjsua2', 'numpy', 'starlette', 'campaigns', 'dialer') if m in sys.modules]\n"
        "print('imported:', heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "bench" in result.stdout
    assert "imported: []" in result.stdout


def test_unknown_command_is_an_error() -> None:
    result = CliRunner().invoke(cli, ["dial-everyone"])
    assert result.exit_code == 2
    assert "No such command" in result.output
