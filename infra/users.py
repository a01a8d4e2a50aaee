"""The people who use Arrears: creating them, their passwords, the clients they may work on, login.

Every function that writes reports what it changed to an `on_change` hook, in the caller's
transaction, before returning. `infra` sits below the audit chain (`compliance.audit`), so the
callers that own a transaction wire the hook to it: a user change then commits together with its
audit event or not at all. The hook is a required argument so that no caller can forget it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from infra.db import transaction
from infra.models import Client, Role, User, UserClientScope
from infra.passwords import DEFAULT_HASHER, check_password, hash_password, spend_verification_time

# Lower case so that "Alice" and "alice" cannot become two accounts; login lower-cases too.
USERNAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{1,63}")


class UserError(ValueError):
    """A user operation was refused; the message says why."""


class DuplicateUserError(UserError):
    pass


class UnknownUserError(UserError):
    pass


class UnknownClientError(UserError):
    pass


@dataclasses.dataclass(frozen=True)
class UserChange:
    """What a user write changed, for the audit log. Never holds a password or a hash."""

    action: str  # "user.created", "user.password_set", "user.password_rehashed", ...
    user_id: int
    username: str
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)


ChangeHook = Callable[[Session, UserChange], object]


@dataclasses.dataclass(frozen=True)
class UserSummary:
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    client_codes: tuple[str, ...] | None  # None: every client


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.fullmatch(name):
        raise UserError(
            f"username {username!r}: use 2 to 64 letters, digits, '.', '_' or '-', starting with a letter"
        )
    return name


def _find(session: Session, username: str) -> User:
    user = session.scalar(sa.select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise UnknownUserError(f"no user {username!r}")
    return user


def _client_ids(session: Session, codes: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(codes))
    found = dict(session.execute(sa.select(Client.code, Client.id).where(Client.code.in_(wanted))).all())
    missing = [code for code in wanted if code not in found]
    if missing:
        raise UnknownClientError(f"no client with code {', '.join(map(repr, missing))}")
    return found


def _scope_codes(session: Session, user_id: int) -> list[str]:
    return sorted(
        session.scalars(
            sa.select(Client.code)
            .join(UserClientScope, UserClientScope.client_id == Client.id)
            .where(UserClientScope.user_id == user_id)
        )
    )


def _replace_scope(session: Session, user: User, client_codes: Iterable[str]) -> list[str]:
    ids = _client_ids(session, client_codes)
    if ids and user.role is Role.ADMIN:
        raise UserError("admins work on every client: give no clients for an admin")
    session.execute(sa.delete(UserClientScope).where(UserClientScope.user_id == user.id))
    session.add_all(UserClientScope(user_id=user.id, client_id=client_id) for client_id in ids.values())
    session.flush()
    return sorted(ids)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    on_change: ChangeHook,
    display_name: str | None = None,
    client_codes: Iterable[str] = (),
    sip_uri: str | None = None,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> User:
    name = normalise_username(username)
    # Hashed before touching the database: the hash takes a while and must not hold locks.
    password_hash = hash_password(password, hasher=hasher)
    if session.scalar(sa.select(User.id).where(User.username == name)) is not None:
        raise DuplicateUserError(f"user {name!r} already exists")
    user = User(
        username=name,
        display_name=display_name or name,
        password_hash=password_hash,
        role=role,
        sip_uri=sip_uri,
        active=True,
    )
    session.add(user)
    session.flush()
    codes = _replace_scope(session, user, client_codes)
    details = {
        "role": role.value,
        "display_name": user.display_name,
        "client_codes": codes,
        "sip_uri": sip_uri,
    }
    on_change(session, UserChange("user.created", user.id, name, details))
    return user


def set_password(
    session: Session,
    username: str,
    password: str,
    *,
    on_change: ChangeHook,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> User:
    password_hash = hash_password(password, hasher=hasher)  # before any lock is taken
    user = _find(session, username)
    user.password_hash = password_hash
    session.flush()
    on_change(session, UserChange("user.password_set", user.id, user.username))
    return user


def set_client_scope(
    session: Session, username: str, client_codes: Iterable[str], *, on_change: ChangeHook
) -> User:
    """Limit the user to these clients; no clients means every client."""
    user = _find(session, username)
    previous = _scope_codes(session, user.id)
    codes = _replace_scope(session, user, client_codes)
    on_change(
        session,
        UserChange("user.scope_set", user.id, user.username, {"client_codes": codes, "previous": previous}),
    )
    return user


def set_active(session: Session, username: str, active: bool, *, on_change: ChangeHook) -> User:
    """Enable or disable a user; a disabled user cannot log in. Users are never deleted: the
    audit log and the contact history keep referring to them."""
    user = _find(session, username)
    if user.active != active:
        user.active = active
        session.flush()
        on_change(session, UserChange("user.enabled" if active else "user.disabled", user.id, user.username))
    return user


def authenticate(
    sessions: sessionmaker[Session],
    username: str,
    password: str,
    *,
    on_change: ChangeHook,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> User | None:
    """The active user with this name and password, or None. Failures are not told apart, so a
    login form cannot find out which usernames exist or are disabled.

    Takes a session factory rather than a session: the check costs a good fraction of a second
    and runs outside any transaction, so that it holds no database lock meanwhile.
    """
    user = None
    try:
        name = normalise_username(username)
    except UserError:
        name = None
    if name is not None:
        with transaction(sessions) as session:
            user = session.scalar(sa.select(User).where(User.username == name))
    if user is None:
        spend_verification_time(password, hasher=hasher)
        return None
    check = check_password(user.password_hash, password, hasher=hasher)
    if not (check.matches and user.active):
        return None
    if check.rehashed is not None:
        with transaction(sessions) as session:
            # Only if the password did not change since it was read.
            result = session.execute(
                sa.update(User)
                .where(User.id == user.id, User.password_hash == user.password_hash)
                .values(password_hash=check.rehashed)
            )
            if cast(sa.CursorResult[Any], result).rowcount == 1:
                on_change(session, UserChange("user.password_rehashed", user.id, user.username))
                user.password_hash = check.rehashed
    return user


def client_scope(session: Session, user: User) -> frozenset[int] | None:
    """The ids of the clients the user may work on, or None for every client."""
    if user.role is Role.ADMIN:
        return None
    ids = frozenset(
        session.scalars(sa.select(UserClientScope.client_id).where(UserClientScope.user_id == user.id))
    )
    return ids or None


def list_users(session: Session) -> list[UserSummary]:
    scopes: dict[int, list[str]] = {}
    for user_id, code in session.execute(
        sa.select(UserClientScope.user_id, Client.code)
        .join(Client, Client.id == UserClientScope.client_id)
        .order_by(Client.code)
    ):
        scopes.setdefault(user_id, []).append(code)
    return [
        UserSummary(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            active=user.active,
            client_codes=None if user.role is Role.ADMIN or user.id not in scopes else tuple(scopes[user.id]),
        )
        for user in session.scalars(sa.select(User).order_by(User.username))
    ]
