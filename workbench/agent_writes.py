"""What every agent write shares: one idempotency key per submitted form, the audit record
written in the same transaction as the change it describes, and the answer when the database
cannot be reached.

While PostgreSQL is down (or restarting) a write fails before or at its commit, so nothing of it
is stored and `once` releases its claim; the answer is a 503 marked with `RETRY_HEADER`, on which
the agent's browser keeps the form pending and sends it again with the same key. The key is also
stored in the write's own transaction (`SubmittedForm`): a write whose commit went through but
whose acknowledgement was lost with the connection had its claim released like any failed one,
and its retry finds the stored key, stores nothing and is answered with the saved state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response

from compliance import audit
from compliance.models import ContactAttempt
from infra.models import SubmittedForm
from workbench.services import Services
from workbench.viewer import Viewer

IDEMPOTENCY_FIELD = "idempotency_key"
# A form resubmitted later than this is treated as new; a day covers any retry or double click.
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
_KEY = re.compile(r"[A-Za-z0-9-]{8,64}")
# The marker the browser retries on (static/pending.js): only an outage sets it, never a refusal.
RETRY_HEADER = "X-Arrears-Retry"
RETRY_AFTER_SECONDS = 1
# A refused or lost connection, a connection dropped mid-transaction (OperationalError or
# InterfaceError from the driver), a ping that failed, or no pooled connection in time.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)
UNAVAILABLE_TEXT = "The database is unavailable: nothing was saved yet. Your browser retries the change."

log = logging.getLogger(__name__)
T = TypeVar("T")


class DuplicateSubmissionError(Exception):
    """The form with this key was already handled (or is being handled right now)."""


class MissingKeyError(ValueError):
    pass


def form_key(form: dict[str, str]) -> str:
    key = form.get(IDEMPOTENCY_FIELD, "")
    if not _KEY.fullmatch(key):
        raise MissingKeyError("The form was out of date. Reload the page and try again.")
    return key


def record_form(db: Session, user_id: int, key: str, now: dt.datetime) -> None:
    """Store the form's key in the write's transaction; a key already stored (or being stored by a
    transaction still open) raises DuplicateSubmissionError, which rolls the write back."""
    try:
        db.execute(sa.insert(SubmittedForm).values(user_id=user_id, key=key, submitted_at=now))
    except sa_exc.IntegrityError as error:
        raise DuplicateSubmissionError(key) from error
    expired = now - dt.timedelta(seconds=IDEMPOTENCY_TTL_SECONDS)
    db.execute(
        sa.delete(SubmittedForm).where(SubmittedForm.user_id == user_id, SubmittedForm.submitted_at < expired)
    )


@dataclasses.dataclass(frozen=True)
class KeyedWrite:
    """The database work of one submitted form, run with its key stored in the same transaction."""

    services: Services
    user_id: int
    key: str

    async def run_db(self, work: Callable[[Session], T]) -> T:
        def keyed(db: Session) -> T:
            record_form(db, self.user_id, self.key, self.services.clock())
            return work(db)

        return await self.services.run_db(keyed)


@contextlib.asynccontextmanager
async def once(services: Services, viewer: Viewer, key: str) -> AsyncIterator[KeyedWrite]:
    """Run the block once per (user, key); a repeat raises DuplicateSubmissionError. The claim in
    the live store turns away a double click at once; the key stored by `KeyedWrite.run_db` is what
    makes a retry after a lost acknowledgement safe. If the block fails, the claim is released so
    that the agent's retry is handled."""
    claim = f"idempotency:{viewer.user_id}:{key}"
    if await services.store.increment(claim, IDEMPOTENCY_TTL_SECONDS) != 1:
        raise DuplicateSubmissionError(key)
    try:
        yield KeyedWrite(services, viewer.user_id, key)
    except BaseException:
        await services.store.delete(claim)
        raise


def audit_call_write(
    db: Session,
    viewer: Viewer,
    attempt: ContactAttempt,
    *,
    action: str,
    entity_type: str,
    entity_id: str,
    payload: dict[str, Any],
) -> None:
    audit.record(
        db,
        actor=viewer.actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        payload={"attempt": attempt.uuid, "person_id": attempt.person_id, **payload},
        client_id=attempt.client_id,
    )


async def database_unavailable(connection: HTTPConnection, error: Exception) -> Response:
    """The app's answer to a request that could not reach the database: a 503 the browser retries.
    A WebSocket has no such answer: its error goes on to the socket's own handling."""
    if not isinstance(connection, Request):
        raise error
    log.warning("database unavailable for %s %s: %s", connection.method, connection.url.path, error)
    return PlainTextResponse(
        UNAVAILABLE_TEXT,
        status_code=503,
        headers={RETRY_HEADER: "1", "Retry-After": str(RETRY_AFTER_SECONDS)},
    )
