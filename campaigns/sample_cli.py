"""`arrears sample portfolio`: write a synthetic placement file and the manifest of its dirty rows.
`arrears sample campaign`: an active predictive campaign with agents, to try a scale-out install
against the carrier simulator."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import click

from campaigns.engine.demo import TRUNK, demo_settings, prepare_demo
from campaigns.sample import manifest_path, write_portfolio
from compliance.users_cli import audit_change
from infra.db import make_engine, make_sessionmaker
from infra.models import Client, User
from infra.settings import get_settings
from infra.users import set_password


@click.group("sample")
def sample() -> None:
    """Synthetic data for trying Arrears out and for benchmarks."""


@sample.command("portfolio")
@click.option("--people", type=click.IntRange(min=1), required=True, help="How many debtors.")
@click.option("--seed", type=int, required=True, help="The same seed always gives the same file.")
@click.option(
    "--dirty-rate",
    type=click.FloatRange(0, 1),
    default=0.02,
    show_default=True,
    help="Share of rows spoiled.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV to write (default: DATA_DIR/samples/portfolio-PEOPLE-SEED.csv).",
)
def portfolio(*, people: int, seed: int, dirty_rate: float, out: Path | None) -> None:
    """A call-list CSV of PEOPLE debtors; FILE.manifest.json lists its dirty rows and why."""
    out = out or get_settings().data_dir / "samples" / f"portfolio-{people}-{seed}.csv"
    started = time.perf_counter()
    manifest = write_portfolio(out, people=people, seed=seed, dirty_rate=dirty_rate)
    manifest_path(out).write_text(manifest.to_json(), encoding="utf-8")
    seconds = time.perf_counter() - started
    click.echo(
        f"{out}: {manifest.rows} rows for {people} people, {len(manifest.dirty)} dirty ({seconds:.1f} s)"
    )
    click.echo(f"manifest: {manifest_path(out)}")


@sample.command("campaign")
@click.option("--people", type=click.IntRange(min=1), default=500, show_default=True, help="People to call.")
@click.option("--agents", type=click.IntRange(min=0), default=2, show_default=True, help="Agent users.")
@click.option(
    "--carrier-port",
    type=click.IntRange(1, 65535),
    default=5080,
    show_default=True,
    help="Port of `arrears sim carrier`, where the agents' simulated phones answer.",
)
@click.option("--seed", type=int, default=1, show_default=True)
def campaign(*, people: int, agents: int, carrier_port: int, seed: int) -> None:
    """A new client with PEOPLE callable debtors (numbers the carrier simulator answers, in a time
    zone inside calling hours now), its list, an ACTIVE predictive campaign on trunk `sim`, and
    AGENTS agent users whose phones are the simulator's; their passwords go to a 0600 file."""
    engine = make_engine(get_settings().effective_database_url)
    sessions = make_sessionmaker(engine)
    try:
        created = prepare_demo(
            sessions,
            people=people,
            agents=agents,
            carrier_port=carrier_port,
            settings=demo_settings(talk_mean_s=30.0, wrap_mean_s=8.0),
            seed=seed,
        )
    except RuntimeError as error:  # no sample place is inside calling hours right now
        raise click.ClickException(str(error)) from error
    credentials: list[str] = []
    with sessions.begin() as session:
        client_code = session.get_one(Client, created.client_id).code
        for user_id, _uri in created.agents:
            username = session.get_one(User, user_id).username
            password = secrets.token_urlsafe(12)
            set_password(session, username, password, on_change=audit_change)
            credentials.append(f"{username} {password}\n")
    engine.dispose()
    out = get_settings().data_dir / "samples" / f"campaign-{created.campaign_id}-agents.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600)
    out.write_text("".join(credentials))
    click.echo(
        f"campaign {created.campaign_id} (client {client_code}, trunk {TRUNK}): "
        f"{people} people in {created.place.city}, {agents} agents"
    )
    click.echo(f"agent sign-ins: {out}")
    trunk = f"{TRUNK}=sip:{{number}}@127.0.0.1:{carrier_port}"
    click.echo(f"dial it with an engine's own SIP node: arrears engine run --trunk '{trunk}'")
    click.echo(
        f"or through SIP nodes: arrears sipnode --name sip1 --trunk '{trunk}' "
        f"and arrears engine run --sip-nodes redis --trunk {TRUNK}"
    )
