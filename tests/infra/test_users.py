"""Users, passwords and client scope on both databases."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from infra.db import transaction
from infra.models import Client, Role, User
from infra.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordPolicyError,
    check_password,
    check_policy,
    hash_password,
)
from infra.users import (
    DuplicateUserError,
    UnknownClientError,
    UnknownUserError,
    UserChange,
    UserError,
    authenticate,
    client_scope,
    create_user,
    list_users,
    normalise_username,
    set_active,
    set_client_scope,
    set_password,
)
from tests.conftest import Database

# Real argon2id, with the smallest cost the algorithm allows, so the tests stay quick.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
DEARER = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
PASSWORD = "correct horse battery"


class Changes(list[UserChange]):
    """An on_change hook that keeps what it is told."""

    def __call__(self, _session: Session, change: UserChange) -> None:
        self.append(change)


@pytest.fixture
def clients(db: Database) -> dict[str, int]:
    with transaction(db.sessions) as session:
        rows = [Client(code=code, name=code.title()) for code in ("ACME", "GLOBEX")]
        session.add_all(rows)
        session.flush()
        return {row.code: row.id for row in rows}


def add(db: Database, changes: Changes, username: str = "alice", **options: object) -> User:
    arguments: dict[str, object] = {"password": PASSWORD, "role": Role.AGENT, **options}
    with transaction(db.sessions) as session:
        return create_user(session, username=username, on_change=changes, hasher=CHEAP, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("x" * (MIN_PASSWORD_LENGTH - 1), False),
        ("x" * MIN_PASSWORD_LENGTH, True),
        ("passphrase with spaces", True),
        ("ünïcödé " * 3, True),
        ("x" * MAX_PASSWORD_LENGTH, True),
        ("x" * (MAX_PASSWORD_LENGTH + 1), False),
    ],
)
def test_password_policy(password: str, accepted: bool) -> None:
    if accepted:
        check_policy(password)
    else:
        with pytest.raises(PasswordPolicyError):
            check_policy(password)


def test_passwords_are_argon2id_and_check_both_ways() -> None:
    stored = hash_password(PASSWORD, hasher=CHEAP)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert check_password(stored, PASSWORD, hasher=CHEAP).matches
    assert not check_password(stored, PASSWORD + "!", hasher=CHEAP).matches
    assert not check_password("not a hash", PASSWORD, hasher=CHEAP).matches
    assert check_password(stored, PASSWORD, hasher=CHEAP).rehashed is None
    rehashed = check_password(stored, PASSWORD, hasher=DEARER).rehashed
    assert rehashed is not None
    assert ",t=2," in rehashed


@pytest.mark.parametrize(
    ("given", "stored"), [(" Alice.Smith ", "alice.smith"), ("bob_2", "bob_2"), ("c-d", "c-d")]
)
def test_usernames_are_normalised(given: str, stored: str) -> None:
    assert normalise_username(given) == stored


@pytest.mark.parametrize("bad", ["", "a", "1abc", "has space", "x" * 65, "semi;colon", "émile", "_lead"])
def test_bad_usernames_are_refused(bad: str) -> None:
    with pytest.raises(UserError, match="username"):
        normalise_username(bad)


def test_create_user_reports_the_change_without_secrets(db: Database, clients: dict[str, int]) -> None:
    changes = Changes()
    user = add(db, changes, "Alice", display_name="Alice Smith", client_codes=["GLOBEX", "ACME"])

    assert user.username == "alice"
    assert user.password_hash.startswith("$argon2id$")
    assert changes == [
        UserChange(
            "user.created",
            user.id,
            "alice",
            {
                "role": "agent",
                "display_name": "Alice Smith",
                "client_codes": ["ACME", "GLOBEX"],
                "sip_uri": None,
            },
        )
    ]
    assert PASSWORD not in repr(changes)
    assert user.password_hash not in repr(changes)
    with db.sessions() as session:
        assert client_scope(session, user) == frozenset(clients.values())


def test_a_duplicate_user_is_refused_clearly(db: Database) -> None:
    changes = Changes()
    add(db, changes, "alice")
    with pytest.raises(DuplicateUserError, match="'alice' already exists"):
        add(db, changes, "ALICE")
    assert len(changes) == 1


def test_a_refused_password_creates_nothing(db: Database) -> None:
    changes = Changes()
    with pytest.raises(PasswordPolicyError):
        add(db, changes, password="short")
    assert changes == []
    with db.sessions() as session:
        assert list_users(session) == []


def test_a_failing_audit_hook_undoes_the_change(db: Database) -> None:
    def refuse(_session: Session, _change: UserChange) -> None:
        raise RuntimeError("audit unavailable")

    with pytest.raises(RuntimeError), transaction(db.sessions) as session:
        create_user(
            session, username="alice", password=PASSWORD, role=Role.AGENT, on_change=refuse, hasher=CHEAP
        )
    with db.sessions() as session:
        assert list_users(session) == []


def test_client_scope(db: Database, clients: dict[str, int]) -> None:
    changes = Changes()
    limited = add(db, changes, "alice", client_codes=["ACME"])
    unlimited = add(db, changes, "bob")
    admin = add(db, changes, "root", role=Role.ADMIN)
    with db.sessions() as session:
        assert client_scope(session, limited) == frozenset({clients["ACME"]})
        assert client_scope(session, unlimited) is None
        assert client_scope(session, admin) is None

    with pytest.raises(UserError, match="admins work on every client"):
        add(db, changes, "root2", role=Role.ADMIN, client_codes=["ACME"])
    with pytest.raises(UnknownClientError, match="'NOPE'"):
        add(db, changes, "carol", client_codes=["ACME", "NOPE"])

    with transaction(db.sessions) as session:
        set_client_scope(session, "alice", ["GLOBEX"], on_change=changes)
    assert changes[-1].details == {"client_codes": ["GLOBEX"], "previous": ["ACME"]}
    with transaction(db.sessions) as session:
        set_client_scope(session, "alice", [], on_change=changes)
        assert client_scope(session, limited) is None
    with db.sessions() as session:
        summaries = {summary.username: summary.client_codes for summary in list_users(session)}
    assert summaries == {"alice": None, "bob": None, "root": None}


def test_authenticate(db: Database) -> None:
    changes = Changes()
    add(db, changes, "alice")
    add(db, changes, "bob")
    with transaction(db.sessions) as session:
        set_active(session, "bob", False, on_change=changes)
    changes.clear()

    def login(name: str, password: str) -> User | None:
        return authenticate(db.sessions, name, password, on_change=changes, hasher=CHEAP)

    user = login(" Alice ", PASSWORD)
    assert user is not None
    assert user.username == "alice"
    assert login("alice", PASSWORD + "x") is None
    assert login("nobody", PASSWORD) is None
    assert login("not a name", PASSWORD) is None
    assert login("bob", PASSWORD) is None  # disabled
    assert changes == []


def test_a_login_rehashes_a_password_stored_with_old_parameters(db: Database) -> None:
    changes = Changes()
    created = add(db, changes, "alice")
    changes.clear()

    user = authenticate(db.sessions, "alice", PASSWORD, on_change=changes, hasher=DEARER)

    assert user is not None
    assert [change.action for change in changes] == ["user.password_rehashed"]
    with db.sessions() as session:
        stored = session.get_one(User, created.id).password_hash
    assert stored != created.password_hash
    assert ",t=2," in stored
    assert authenticate(db.sessions, "alice", PASSWORD, on_change=changes, hasher=DEARER) is not None
    assert len(changes) == 1  # nothing left to rehash


def test_set_password_replaces_the_old_one(db: Database) -> None:
    changes = Changes()
    add(db, changes, "alice")
    with transaction(db.sessions) as session:
        set_password(session, "alice", "a brand new passphrase", on_change=changes, hasher=CHEAP)
    assert changes[-1].action == "user.password_set"
    assert authenticate(db.sessions, "alice", PASSWORD, on_change=changes, hasher=CHEAP) is None
    assert (
        authenticate(db.sessions, "alice", "a brand new passphrase", on_change=changes, hasher=CHEAP)
        is not None
    )
    with pytest.raises(UnknownUserError), transaction(db.sessions) as session:
        set_password(session, "nobody", "a brand new passphrase", on_change=changes, hasher=CHEAP)


def test_disabling_and_enabling_report_only_real_changes(db: Database) -> None:
    changes = Changes()
    add(db, changes, "alice")
    changes.clear()
    for active in (False, False, True, True):
        with transaction(db.sessions) as session:
            set_active(session, "alice", active, on_change=changes)
    assert [change.action for change in changes] == ["user.disabled", "user.enabled"]
    with db.sessions() as session:
        assert [summary.active for summary in list_users(session)] == [True]
