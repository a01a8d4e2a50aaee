"""An agent's call: who may open it and how far the right-party steps have gone. Database reads
only; every write lives with its route.

An attempt is the agent's to open only when the dialer assigned it to them (`agent_id`) and its
client is in their scope; anything else is "no such call", so an agent cannot probe other calls.

The right-party steps (verification, disclosure) are recorded as system notes on the attempt
(no author: the agent is named in the text and, as actor, in the audit event), so they appear in
the account history and survive restarts. Agents' own notes always carry their author, so an
agent cannot forge a step by typing a note.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.models import Callback, Note, Person, Promise, PromiseStatus
from compliance.models import AttemptDebt, AttemptStatus, ContactAttempt
from workbench.viewer import Viewer

# After this many failed verifications the agent follows the third-party script.
MAX_VERIFICATION_FAILURES = 3
VERIFIED_MARK = "Right party verified"
NOT_VERIFIED_MARK = "Right-party verification failed"
DISCLOSED_MARK = "Debt-collector disclosure given"
# Promises that still stand: what a disposition needing a promise looks for on the call.
LIVE_PROMISE_STATUSES = (PromiseStatus.ACTIVE, PromiseStatus.PENDING_APPROVAL)


class CallNotFoundError(LookupError):
    """No attempt with that id is assigned to this agent in their clients."""


def load_attempt(
    db: Session, viewer: Viewer, attempt_uuid: str, *, for_update: bool = False
) -> ContactAttempt:
    query = sa.select(ContactAttempt).where(ContactAttempt.uuid == attempt_uuid)
    attempt = db.scalars(query.with_for_update() if for_update else query).first()
    if attempt is None or attempt.agent_id != viewer.user_id or not viewer.scope.allows(attempt.client_id):
        raise CallNotFoundError(attempt_uuid)
    return attempt


def is_open(attempt: ContactAttempt) -> bool:
    return attempt.status in {AttemptStatus.RESERVED, AttemptStatus.DIALING}


@dataclasses.dataclass(frozen=True)
class CallSteps:
    verified: bool
    failed_verifications: int
    disclosed_at: dt.datetime | None

    @property
    def unlocked(self) -> bool:
        """Account details may be shown: the right party is verified and was told who calls."""
        return self.verified and self.disclosed_at is not None

    @property
    def third_party(self) -> bool:
        return not self.verified and self.failed_verifications >= MAX_VERIFICATION_FAILURES


def load_steps(db: Session, attempt: ContactAttempt) -> CallSteps:
    bodies = db.execute(
        sa.select(Note.body, Note.created_at)
        .where(
            Note.person_id == attempt.person_id,
            Note.attempt_id == attempt.id,
            Note.author_id.is_(None),
        )
        .order_by(Note.id)
    ).all()
    verified = any(body.startswith(VERIFIED_MARK + ":") for body, _ in bodies)
    failures = sum(body.startswith(NOT_VERIFIED_MARK + ":") for body, _ in bodies)
    disclosed = next((at for body, at in bodies if body.startswith(DISCLOSED_MARK + ":")), None)
    return CallSteps(verified, failures, disclosed)


def person_of(db: Session, attempt: ContactAttempt) -> Person:
    person = db.get(Person, attempt.person_id)
    if person is None or person.client_id != attempt.client_id:
        raise CallNotFoundError(attempt.uuid)
    return person


def attempt_debt_ids(db: Session, attempt: ContactAttempt) -> list[int]:
    return list(
        db.scalars(
            sa.select(AttemptDebt.debt_id)
            .where(AttemptDebt.attempt_id == attempt.id)
            .order_by(AttemptDebt.debt_id)
        )
    )


def live_promises_of(db: Session, attempt: ContactAttempt) -> list[Promise]:
    """Promises recorded on this call that still stand (active or waiting for approval)."""
    return list(
        db.scalars(
            sa.select(Promise).where(
                Promise.attempt_id == attempt.id,
                Promise.status.in_(LIVE_PROMISE_STATUSES),
            )
        )
    )


def callbacks_of(db: Session, attempt: ContactAttempt) -> list[Callback]:
    return list(db.scalars(sa.select(Callback).where(Callback.attempt_id == attempt.id)))
