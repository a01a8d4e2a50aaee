"""`arrears compliance abandon-rate` and `arrears compliance report` (CSV)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import IO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import sqlalchemy as sa

from compliance.models import ContactAttempt
from compliance.reports import abandon_rows, hours_rows, load_debt_calls, regf_rows, write_csv
from infra.db import make_engine, make_sessionmaker
from infra.settings import get_settings


def _zone(_ctx: click.Context, _param: click.Parameter, value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{value!r} is not an IANA time zone") from None


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.command("abandon-rate")
@click.option("--campaign", "campaign_id", type=int, help="One campaign's id (default: every campaign).")
@click.option("--day", callback=_day, help="The day (YYYY-MM-DD, default: today in --tz).")
@click.option("--tz", "zone", default="UTC", callback=_zone, help="Time zone the days are counted in.")
def abandon_rate(campaign_id: int | None, day: dt.date | None, zone: ZoneInfo) -> None:
    """Abandoned ÷ live-answered calls on one day and over the rolling 30 days ending that day."""
    day = day or dt.datetime.now(zone).date()
    engine = make_engine(get_settings().effective_database_url)
    with make_sessionmaker(engine)() as session:
        [row] = list(abandon_rows(session, [campaign_id], day, day, zone))
    engine.dispose()
    for key, value in row.items():
        click.echo(f"{key:28} {value}")


@click.command("report")
@click.argument("kind", type=click.Choice(["regf", "hours", "abandon"]))
@click.option("--from", "first_day", required=True, callback=_day, help="First day (YYYY-MM-DD), inclusive.")
@click.option("--to", "last_day", required=True, callback=_day, help="Last day (YYYY-MM-DD), inclusive.")
@click.option("--tz", "zone", default="UTC", callback=_zone, help="Time zone of the days (abandon report).")
@click.option("--out", type=click.File("w"), default="-", help="CSV file (default: standard output).")
def report(kind: str, first_day: dt.date, last_day: dt.date, zone: ZoneInfo, out: IO[str]) -> None:
    """Write a compliance report as CSV: Reg F frequency, calling hours, or abandon rate."""
    if last_day < first_day:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    start = dt.datetime.combine(first_day, dt.time(), dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), dt.UTC)
    engine = make_engine(get_settings().effective_database_url)
    with make_sessionmaker(engine)() as session:
        if kind == "regf":
            rows = list(regf_rows(load_debt_calls(session, start, end)))
        elif kind == "hours":
            rows = list(hours_rows(session, start, end))
        else:
            campaigns = session.scalars(sa.select(ContactAttempt.campaign_id).distinct()).all()
            rows = list(
                abandon_rows(
                    session, [None, *sorted(c for c in campaigns if c is not None)], first_day, last_day, zone
                )
            )
    engine.dispose()
    written = write_csv(rows, out)
    click.echo(f"{written} rows", err=True)
    if written == 0:
        sys.stderr.write("no attempts in that period\n")
