"""`arrears audit`: verify the audit chain and read its latest events."""

from __future__ import annotations

import json

import click
import sqlalchemy as sa

from compliance.audit import AuditAnchor, verify
from compliance.models import AuditEvent
from infra.db import make_engine
from infra.settings import get_settings


def _parse_anchor(_ctx: click.Context, _param: click.Parameter, value: str | None) -> AuditAnchor | None:
    if value is None:
        return None
    try:
        return AuditAnchor.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


@click.group()
def audit() -> None:
    """The tamper-evident audit chain."""


@audit.command("verify")
@click.option(
    "--anchor",
    callback=_parse_anchor,
    metavar="SEQ:HASH",
    help="A head printed by an earlier verification and kept elsewhere; the chain must still contain it.",
)
@click.pass_context
def verify_command(ctx: click.Context, anchor: AuditAnchor | None) -> None:
    """Check every link of the chain; exit 1 at the first broken one."""
    engine = make_engine(get_settings().effective_database_url)
    try:
        result = verify(engine, anchor=anchor)
    finally:
        engine.dispose()
    click.echo(result.summary())
    if not result.intact:
        ctx.exit(1)
    click.echo(f"anchor (keep it elsewhere, check later with --anchor): {result.head}")


@audit.command("tail")
@click.option("-n", "--count", default=20, show_default=True, type=click.IntRange(min=1))
def tail_command(count: int) -> None:
    """Print the latest events, oldest first, one JSON object per line (payload as stored)."""
    engine = make_engine(get_settings().effective_database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(AuditEvent.__table__).order_by(AuditEvent.seq.desc()).limit(count)
            ).all()
    finally:
        engine.dispose()
    for row in reversed(rows):
        event = row._asdict()
        event["occurred_at"] = row.occurred_at.isoformat()
        click.echo(json.dumps(event, ensure_ascii=False))
