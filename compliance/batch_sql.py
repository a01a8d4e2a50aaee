"""Set-based statements for the dial gate's batches, with texts that do not grow with the batch.

On PostgreSQL a list of ids travels as one array parameter (`= ANY(...)`) instead of an
`IN (...)` list of one parameter each: the statement text stays the same for every batch, so the
driver converts it once and the server can keep it prepared. SQLite gets the `IN` list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import QueryableAttribute, Session

from infra.db import Base


def among(session: Session, column: QueryableAttribute[int], ids: Sequence[int]) -> sa.ColumnElement[bool]:
    """`column` is one of `ids`."""
    if session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.literal(list(ids), postgresql.ARRAY(sa.BigInteger())))
    return column.in_(ids)


def table_of(entity: type[Base]) -> sa.Table:
    table = entity.__table__
    assert isinstance(table, sa.Table)
    return table


def insert_returning_ids(
    session: Session, entity: type[Base], rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Inserts the rows with multi-row statements, bypassing the unit of work; their ids in order."""
    if not rows:
        return []
    table = table_of(entity)
    statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.scalars(statement, rows))
