"""`arrears demo`: the whole system on embedded defaults: sample data, demo users, the web app and a
live predictive campaign with simulated agents against the carrier simulator.

Idempotent: a second run reuses the database, the imported portfolio and the demo users (their
passwords are kept in `<data_dir>/demo/credentials.txt`, readable by the owner only).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import string
from pathlib import Path

import click
import sqlalchemy as sa
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from campaigns.engine.demo import print_result, run_demo
from campaigns.importer.run import import_accounts
from campaigns.models import ImportRun
from campaigns.sample import write_portfolio
from compliance.users_cli import audit_change
from infra.bus import Bus, make_bus
from infra.db import make_engine, make_sessionmaker, transaction, upgrade
from infra.models import Client, Role, User
from infra.settings import get_settings
from infra.users import create_user, set_password

CLIENT_CODE = "demo"
CLIENT_NAME = "Demo Credit Union"
PASSWORD_ALPHABET = string.ascii_letters + string.digits
DEMO_USERS = (("agent", Role.AGENT), ("manager", Role.MANAGER), ("compliance", Role.COMPLIANCE))


def _import_portfolio(
    sessions: sessionmaker[Session], folder: Path, people: int, seed: int, secret: str
) -> str:
    path = folder / f"portfolio-{people}-{seed}.csv"
    if not path.exists():
        write_portfolio(path, people=people, seed=seed)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with sessions() as session:
        done = session.scalar(
            sa.select(ImportRun.id)
            .join(Client, Client.id == ImportRun.client_id)
            .where(Client.code == CLIENT_CODE, ImportRun.file_sha256 == digest, ImportRun.status == "done")
        )
    if done is not None:
        return f"portfolio {path.name} already imported"
    summary = import_accounts(
        sessions, path, client_code=CLIENT_CODE, secret=secret, create_client=CLIENT_NAME
    )
    return (
        f"imported {path.name}: {summary.rows_read} rows, {summary.debts_created} debts created, "
        f"{summary.rows_rejected} rows rejected (the sample has deliberately dirty rows)"
    )


def _demo_users(sessions: sessionmaker[Session], folder: Path) -> dict[str, str]:
    """Demo users and their passwords; a user whose password is not on file gets a new one."""
    credentials_file = folder / "credentials.txt"
    known: dict[str, str] = {}
    if credentials_file.exists():
        for line in credentials_file.read_text().splitlines():
            name, _, password = line.partition(" ")
            known[name] = password
    for name, role in DEMO_USERS:
        with sessions() as session:
            exists = session.scalar(sa.select(User.id).where(User.username == name)) is not None
        if exists and name in known:
            continue
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(20))
        with transaction(sessions) as session:
            if exists:
                set_password(session, name, password, on_change=audit_change)
            else:
                scope = () if role is Role.COMPLIANCE else (CLIENT_CODE,)
                create_user(
                    session,
                    username=name,
                    password=password,
                    role=role,
                    on_change=audit_change,
                    client_codes=scope,
                )
        known[name] = password
    credentials_file.write_text("".join(f"{name} {password}\n" for name, password in known.items()))
    credentials_file.chmod(0o600)
    return known


async def _serve_with_campaign(
    app_server: uvicorn.Server, sessions: sessionmaker[Session], bus: Bus, agents: int, minutes: float
) -> None:
    """Serve the web app; meanwhile run a predictive campaign with simulated agents over real SIP."""
    web = asyncio.create_task(app_server.serve())
    campaign = None
    if minutes > 0 and agents > 0:
        click.echo(f"running a predictive campaign with {agents} simulated agents for {minutes:g} minutes")
        campaign = asyncio.create_task(
            run_demo(
                sessions,
                agents=agents,
                seconds=minutes * 60,
                talk_mean_s=30.0,
                wrap_mean_s=8.0,
                people=1000,
                report=click.echo,
                report_every_s=30.0,
                bus=bus,
            )
        )
    await asyncio.wait([task for task in (web, campaign) if task], return_when=asyncio.FIRST_COMPLETED)
    if campaign is not None and campaign.done() and not web.done():
        print_result(campaign.result(), click.echo)
        click.echo("campaign finished; the web app keeps running (Ctrl-C to stop)")
        await web
    elif campaign is not None and not campaign.done():
        campaign.cancel()  # the web server was stopped (Ctrl-C)
        with contextlib.suppress(asyncio.CancelledError):
            await campaign


@click.command("demo")
@click.option("--people", default=500, show_default=True, help="People in the sample portfolio.")
@click.option("--seed", default=1, show_default=True, help="Seed of the sample portfolio.")
@click.option(
    "--agents", default=5, show_default=True, help="Simulated agents in the live campaign (0: none)."
)
@click.option(
    "--minutes", default=30.0, show_default=True, help="How long the live campaign dials (0: none)."
)
@click.option("--host", default=None, help="Address to listen on (default: the web_host setting).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: the web_port setting).")
def demo(  # noqa: PLR0917 (one parameter per command-line option)
    people: int, seed: int, agents: int, minutes: float, host: str | None, port: int | None
) -> None:
    """Start Arrears on embedded defaults (SQLite, in-process bus): sample data, demo users, the web app,
    and a live predictive campaign with simulated agents against the carrier simulator."""
    from workbench.app import create_app

    settings = get_settings()
    folder = settings.data_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    click.echo(f"database: {url}")
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    click.echo(_import_portfolio(sessions, folder, people, seed, settings.effective_secret_key))
    credentials = _demo_users(sessions, folder)
    host, port = host or settings.web_host, port or settings.web_port
    click.echo(f"\nArrears is at http://{host}:{port}/ — sign in as:")
    for name, password in credentials.items():
        click.echo(f"  {name:<11} {password}")
    click.echo(f"(kept in {folder / 'credentials.txt'}; press Ctrl-C to stop)\n")
    bus = make_bus(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, bus=bus), host=host, port=port, log_level=settings.log_level)
    )
    try:
        asyncio.run(_serve_with_campaign(server, sessions, bus, agents, minutes))
    finally:
        engine.dispose()
