"""`arrears sample portfolio`: write a synthetic placement file and the manifest of its dirty rows."""

from __future__ import annotations

import time
from pathlib import Path

import click

from campaigns.sample import manifest_path, write_portfolio
from infra.settings import get_settings


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
