"""Who is asking: the signed-in user as the web app sees them on one request or message."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from infra.models import Client, Role, User
from infra.users import client_scope
from workbench.sessions import WebSession


@dataclasses.dataclass(frozen=True)
class ClientScope:
    """The clients a user may work on; `None` means every client (admins, and users without any
    scope rows, as the data model defines)."""

    client_ids: frozenset[int] | None

    def allows(self, client_id: int) -> bool:
        return self.client_ids is None or client_id in self.client_ids

    def overlaps(self, other: ClientScope) -> bool:
        if self.client_ids is None or other.client_ids is None:
            return True
        return bool(self.client_ids & other.client_ids)

    def filter(self, column: InstrumentedAttribute[int]) -> sa.ColumnElement[bool]:
        """A WHERE clause limiting `column` (a client id) to this scope."""
        return sa.true() if self.client_ids is None else column.in_(sorted(self.client_ids))


@dataclasses.dataclass(frozen=True)
class Viewer:
    user_id: int
    username: str
    display_name: str
    role: Role
    scope: ClientScope
    session: WebSession

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}"


def load_viewer(db: Session, session: WebSession) -> Viewer | None:
    """None when the user no longer exists or has been disabled: their sessions die with them."""
    user = db.get(User, session.user_id)
    if user is None or not user.active:
        return None
    return Viewer(
        user.id, user.username, user.display_name, user.role, ClientScope(client_scope(db, user)), session
    )


def visible_clients(db: Session, scope: ClientScope) -> list[Client]:
    return list(db.scalars(sa.select(Client).where(scope.filter(Client.id)).order_by(Client.name)).all())
