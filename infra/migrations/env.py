"""Alembic environment: runs migrations on the URL that infra.db.upgrade configured."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from infra.all_models import load_metadata
from infra.db import is_sqlite, make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
target_metadata = load_metadata()
# Several processes may migrate at once (every engine does at start): on PostgreSQL they take turns
# under this transaction-scoped advisory lock, and the later ones find the schema already current.
MIGRATION_LOCK_KEY = 0x4172726561727301


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
            render_as_batch=is_sqlite(url),
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `arrears db upgrade`")
run_migrations_online()
