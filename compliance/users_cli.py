"""`arrears users`: manage the people who use Arrears, every change written to the audit chain.

It lives in `compliance` rather than next to `infra.users`: every change must be audited in the
same transaction, and `infra` may not import the audit chain that sits above it.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from compliance.audit import record
from infra.db import make_engine, make_sessionmaker, transaction
from infra.models import Role
from infra.passwords import PasswordPolicyError, check_policy
from infra.settings import get_settings
from infra.users import (
    UserChange,
    UserError,
    create_user,
    list_users,
    set_active,
    set_client_scope,
    set_password,
)

CLI_ACTOR = "system:cli"


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        return "unknown"


def audit_change(session: Session, change: UserChange) -> None:
    record(
        session,
        actor=CLI_ACTOR,
        action=change.action,
        entity_type="user",
        entity_id=str(change.user_id),
        payload={"username": change.username, "os_user": _operator(), **change.details},
    )


@contextmanager
def _audited_transaction() -> Iterator[Session]:
    engine = make_engine(get_settings().effective_database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            yield session
    except (UserError, PasswordPolicyError) as error:
        raise click.ClickException(str(error)) from error
    finally:
        engine.dispose()


def _read_password(from_stdin: bool) -> str:
    """Read it before any transaction starts, so no lock waits on a person typing."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
    else:
        raise click.UsageError("no terminal to ask for the password on: pipe it in with --password-stdin")
    try:
        check_policy(password)
    except PasswordPolicyError as error:
        raise click.ClickException(str(error)) from error
    return password


password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)


@click.group()
def users() -> None:
    """People who use Arrears: accounts, passwords and the clients they may work on."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--client", "clients", multiple=True, metavar="CODE", help="Limit to this client (repeatable).")
@click.option("--display-name", help="Shown in the workbench; defaults to NAME.")
@click.option("--sip-uri", help="The agent's SIP phone, dialled for the agent leg.")
@password_stdin
def add_command(
    *,
    name: str,
    role: str,
    clients: tuple[str, ...],
    display_name: str | None,
    sip_uri: str | None,
    password_stdin: bool,
) -> None:
    """Create user NAME. Without --client the user works on every client."""
    password = _read_password(password_stdin)
    with _audited_transaction() as session:
        user = create_user(
            session,
            username=name,
            password=password,
            role=Role(role),
            display_name=display_name,
            client_codes=clients,
            sip_uri=sip_uri,
            on_change=audit_change,
        )
        click.echo(f"created {user.role.value} {user.username!r} (id {user.id})")


@users.command("list")
def list_command() -> None:
    """Show every user with role, state and clients."""
    with _audited_transaction() as session:
        summaries = list_users(session)
    width = max((len(summary.username) for summary in summaries), default=8)
    for summary in summaries:
        state = "active" if summary.active else "disabled"
        clients = "all clients" if summary.client_codes is None else ", ".join(summary.client_codes)
        click.echo(f"{summary.username:<{width}}  {summary.role.value:<10}  {state:<8}  {clients}")


@users.command("set-password")
@click.argument("name")
@password_stdin
def set_password_command(name: str, password_stdin: bool) -> None:
    """Give user NAME a new password."""
    password = _read_password(password_stdin)
    with _audited_transaction() as session:
        user = set_password(session, name, password, on_change=audit_change)
        click.echo(f"password of {user.username!r} changed")


@users.command("scope")
@click.argument("name")
@click.option("--client", "clients", multiple=True, metavar="CODE", help="Limit to this client (repeatable).")
def scope_command(name: str, clients: tuple[str, ...]) -> None:
    """Set the clients user NAME may work on; without --client, every client."""
    with _audited_transaction() as session:
        user = set_client_scope(session, name, clients, on_change=audit_change)
        click.echo(f"{user.username!r} works on {', '.join(sorted(clients)) or 'every client'}")


@users.command("disable")
@click.argument("name")
def disable_command(name: str) -> None:
    """Stop user NAME from logging in (users are never deleted)."""
    with _audited_transaction() as session:
        user = set_active(session, name, False, on_change=audit_change)
        click.echo(f"{user.username!r} disabled")


@users.command("enable")
@click.argument("name")
def enable_command(name: str) -> None:
    """Let a disabled user NAME log in again."""
    with _audited_transaction() as session:
        user = set_active(session, name, True, on_change=audit_change)
        click.echo(f"{user.username!r} enabled")
