"""`arrears demo` set-up: sample data and demo users, idempotent across runs."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from campaigns.models import Debt, ImportRun
from infra.models import User
from tests.conftest import Database
from workbench.demo import _demo_users, _import_portfolio


def test_demo_set_up_runs_twice_without_changing_anything(db: Database, tmp_path: Path) -> None:
    first = _import_portfolio(db.sessions, tmp_path, 40, 3, "secret")
    credentials = _demo_users(db.sessions, tmp_path)
    with db.sessions() as session:
        debts = session.scalar(sa.select(sa.func.count()).select_from(Debt))
        hashes = dict(session.execute(sa.select(User.username, User.password_hash)).all())
    assert first.startswith("imported portfolio-40-3.csv")
    assert debts
    assert sorted(credentials) == ["agent", "compliance", "manager"]
    assert all(len(password) == 20 and password.isalnum() for password in credentials.values())

    assert (
        _import_portfolio(db.sessions, tmp_path, 40, 3, "secret")
        == "portfolio portfolio-40-3.csv already imported"
    )
    assert _demo_users(db.sessions, tmp_path) == credentials
    with db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Debt)) == debts
        assert session.scalar(sa.select(sa.func.count()).select_from(ImportRun)) == 1
        assert dict(session.execute(sa.select(User.username, User.password_hash)).all()) == hashes
    assert (tmp_path / "credentials.txt").stat().st_mode & 0o077 == 0
