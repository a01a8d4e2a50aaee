"""What every agent write shares: one idempotency key per submitted form, and the audit record
written in the same transaction as the change it describes."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import ContactAttempt
from workbench.services import Services
from workbench.viewer import Viewer

IDEMPOTENCY_FIELD = "idempotency_key"
# A form resubmitted later than this is treated as new; a day covers any retry or double click.
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
_KEY = re.compile(r"[A-Za-z0-9-]{8,64}")


class DuplicateSubmissionError(Exception):
    """The form with this key was already handled (or is being handled right now)."""


class MissingKeyError(ValueError):
    pass


def form_key(form: dict[str, str]) -> str:
    key = form.get(IDEMPOTENCY_FIELD, "")
    if not _KEY.fullmatch(key):
        raise MissingKeyError("The form was out of date. Reload the page and try again.")
    return key


@contextlib.asynccontextmanager
async def once(services: Services, viewer: Viewer, key: str) -> AsyncIterator[None]:
    """Run the block once per (user, key); a repeat raises DuplicateSubmissionError. If the block
    fails, the key is released so that the agent's retry is handled."""
    claim = f"idempotency:{viewer.user_id}:{key}"
    if await services.store.increment(claim, IDEMPOTENCY_TTL_SECONDS) != 1:
        raise DuplicateSubmissionError(key)
    try:
        yield
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
