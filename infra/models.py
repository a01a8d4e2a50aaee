"""Tenancy and identity: the clients (creditors) we collect for and the people who use Arrears."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, BigId, utcnow


class Role(enum.StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


def str_enum(enum_class: type[enum.StrEnum], name: str) -> sa.Enum:
    """A string column limited to the enum's values by a CHECK constraint on every database."""
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    # The agent's SIP phone, dialled for the agent leg when a call is bridged to them.
    sip_uri: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UserClientScope(Base):
    """The clients a user may work on. Admins and users without any row are not limited."""

    __tablename__ = "user_client_scopes"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("clients.id"), primary_key=True)


class SubmittedForm(Base):
    """The idempotency key of each write form a user submitted, stored in the write's own
    transaction: a retry of a write whose commit went through but whose answer was lost finds its
    key here and stores nothing twice. Keys older than a day are dropped as new ones come."""

    __tablename__ = "submitted_forms"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    submitted_at: Mapped[dt.datetime]
