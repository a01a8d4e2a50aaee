"""`arrears db`: schema migrations of the configured database."""

from __future__ import annotations

import click

from infra.db import current_revision, downgrade, make_engine, upgrade
from infra.settings import get_settings


@click.group()
def db() -> None:
    """Database schema: upgrade, downgrade, current revision."""


@db.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    url = get_settings().effective_database_url
    upgrade(url, revision)
    click.echo(f"database at revision {_revision(url)}")


@db.command("downgrade")
@click.argument("revision")
def downgrade_command(revision: str) -> None:
    """Migrate the database back to REVISION ("base" removes every table)."""
    url = get_settings().effective_database_url
    downgrade(url, revision)
    click.echo(f"database at revision {_revision(url)}")


@db.command("current")
def current_command() -> None:
    """Print the database's schema revision."""
    click.echo(_revision(get_settings().effective_database_url))


def _revision(url: str) -> str:
    engine = make_engine(url)
    try:
        return current_revision(engine) or "none (empty database)"
    finally:
        engine.dispose()
