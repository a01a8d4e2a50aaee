"""`arrears import accounts FILE --client CODE`: load a placement file."""

from __future__ import annotations

import csv
import sqlite3
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import click
import psycopg
import sqlalchemy as sa

from campaigns.importer import ClientNotFoundError, ImportFileError, ImportSummary, import_accounts
from campaigns.importer.columns import HeaderError, parse_mapping
from campaigns.importer.run import reject_record
from infra.db import make_engine, make_sessionmaker
from infra.settings import get_settings


class _Bar:
    """A progress bar per phase, on stderr."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._update: Callable[[int], None] | None = None

    def start(self, phase: str, total: int) -> None:
        self.close()
        bar = click.progressbar(length=max(total, 1), label=f"{phase:<8}", file=sys.stderr)
        self._update = self._stack.enter_context(bar).update

    def advance(self, rows: int) -> None:
        if self._update is not None:
            self._update(rows)

    def close(self) -> None:
        self._stack.close()
        self._update = None


def _write_rejects(path: Path, summary: ImportSummary) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["line", "column", "code", "reason"])
        writer.writeheader()
        writer.writerows(reject_record(problem) for problem in summary.rejects)


@click.group("import")
def import_group() -> None:
    """Load data from files."""


@import_group.command("accounts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--client", "client_code", required=True, help="Code of the client the accounts are placed by.")
@click.option(
    "--map", "mappings", multiple=True, metavar="OLD=NEW", help="Read column OLD as contract column NEW."
)
@click.option(
    "--list", "list_name", help="Call list to put the debts on (default: the file name without suffix)."
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write rejected rows here (CSV).",
)
@click.option(
    "--create-client",
    "create_client",
    metavar="NAME",
    help="Create the client with this name if the code is new.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Processes that normalise phone numbers first (helps big files on idle cores).",
)
def accounts(
    *,
    file: Path,
    client_code: str,
    mappings: tuple[str, ...],
    list_name: str | None,
    rejects_path: Path | None,
    create_client: str | None,
    workers: int,
) -> None:
    """Import a call-list CSV (see the call-list CSV contract): one row per debt."""
    try:
        mapping = parse_mapping(mappings)
    except HeaderError as error:
        raise click.UsageError(str(error)) from None
    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    bar = _Bar()
    try:
        summary = import_accounts(
            make_sessionmaker(engine),
            file,
            client_code=client_code,
            secret=settings.effective_secret_key,
            list_name=list_name,
            mapping=mapping,
            create_client=create_client,
            actor="system:import-cli",
            workers=workers,
            progress=bar,
        )
    except (ClientNotFoundError, ImportFileError) as error:
        raise click.ClickException(str(error)) from None
    except (sa.exc.SQLAlchemyError, sqlite3.Error, psycopg.Error) as error:
        raise click.ClickException(f"the database refused the import; nothing was stored: {error}") from None
    finally:
        bar.close()
        engine.dispose()
    for name, value in summary.counts().items():
        click.echo(f"{name.replace('_', ' '):<18} {value}")
    click.echo(f"{'call list':<18} {summary.list_name}")
    click.echo(f"{'import run':<18} {summary.run_id}")
    if rejects_path is not None:
        _write_rejects(rejects_path, summary)
        click.echo(f"rejects written to {rejects_path}")
    elif summary.rejects:
        for problem in summary.rejects[:20]:
            click.echo(f"line {problem.line}: {problem.column}: {problem.reason}", err=True)
        if len(summary.rejects) > 20:
            click.echo(f"... {len(summary.rejects) - 20} more; use --rejects PATH for all", err=True)
