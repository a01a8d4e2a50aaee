"""`arrears compliance ...`: the compliance officer's commands.

Subcommands defined elsewhere in the package register here as "module:attribute" and load on
first use, like the root CLI's own subcommands.
"""

from __future__ import annotations

import json
from typing import TextIO

import click

from compliance.policy import DEFAULT_POLICY, CaseError, UnknownPolicyError, evaluate, load_policy, parse_case
from infra.cli import LazyGroup
from infra.settings import get_settings

# Subcommands kept in other modules: name -> ("module:attribute", one-line help).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "abandon-rate": (
        "compliance.report_cli:abandon_rate",
        "Abandoned / live-answered calls, daily and 30-day.",
    ),
    "report": ("compliance.report_cli:report", "Compliance reports as CSV."),
}

MALFORMED_CASE = 2


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS)
def compliance() -> None:
    """Contact-policy checks and compliance reports."""


def _reject(problems: list[tuple[str, str]]) -> None:
    click.echo("malformed case:", err=True)
    for path, message in problems:
        click.echo(f"  {path}: {message}", err=True)
    raise click.exceptions.Exit(MALFORMED_CASE)


@compliance.command()
@click.argument("case_file", type=click.File("r", encoding="utf-8"), metavar="CASE.json")
@click.option(
    "--default-policy",
    default=None,
    help=f"Policy for cases that do not name one (default: the `policy` setting, else {DEFAULT_POLICY}).",
)
def check(case_file: TextIO, default_policy: str | None) -> None:
    """May this number be called now, for these debts, for this person?

    Prints the verdict as JSON; exits 0 whether or not the call is allowed, 2 on a malformed case.
    """
    try:
        document = json.loads(case_file.read())
    except json.JSONDecodeError as error:
        _reject([("$", f"not valid JSON: {error}")])
    try:
        case = parse_case(document)
    except CaseError as error:
        _reject(error.problems)
    try:
        policy = load_policy(case.policy or default_policy or get_settings().policy or DEFAULT_POLICY)
    except UnknownPolicyError as error:
        _reject([("policy", str(error))])
    click.echo(json.dumps(evaluate(case, policy).to_json(), indent=2, ensure_ascii=False))
