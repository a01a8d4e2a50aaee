"""What every workspace of a call shows, locked or not, read once per build: the person, the
right-party steps, promises and callbacks (the disposition dock needs those on the call), the
disposition codes and the compliance facts.

One set-based query per table whatever the number of promises or callbacks, so a screen pop
costs a fixed handful of statements. The compliance facts come from the dial gate's own loaders,
read once and shared by every case the strip asks the rules engine about. The account itself
(`agent_account`) is read only once it may be shown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.account_facts import load_account_facts
from campaigns.models import Callback, Person, Promise
from compliance.gate import AccountFacts, ComplianceRecords, load_compliance_records
from compliance.models import ContactAttempt, DispositionCode
from workbench.agent_calls import LIVE_PROMISE_STATUSES, CallSteps, load_steps, person_of


@dataclasses.dataclass(frozen=True)
class CallFacts:
    attempt: ContactAttempt
    person: Person
    steps: CallSteps
    promises: list[Promise]  # every promise of the person, newest first
    callbacks: list[Callback]  # every callback of the person
    codes: list[DispositionCode]  # every disposition code, in display order
    gate_account: AccountFacts  # what the dial gate reads of the account
    gate_records: ComplianceRecords  # what the dial gate reads of holds, consents and attempts

    @property
    def live_promises_on_call(self) -> list[Promise]:
        """Promises recorded on this call that still stand (active or waiting for approval)."""
        return sorted(
            (
                promise
                for promise in self.promises
                if promise.attempt_id == self.attempt.id and promise.status in LIVE_PROMISE_STATUSES
            ),
            key=lambda promise: promise.id,
        )

    @property
    def callbacks_on_call(self) -> list[Callback]:
        return sorted(
            (callback for callback in self.callbacks if callback.attempt_id == self.attempt.id),
            key=lambda callback: callback.id,
        )


def load_call_facts(db: Session, attempt: ContactAttempt, now: dt.datetime) -> CallFacts:
    """The call's facts; the attempt must already be checked as the viewer's (`load_attempt`)."""
    person = person_of(db, attempt)
    return CallFacts(
        attempt=attempt,
        person=person,
        steps=load_steps(db, attempt),
        promises=list(
            db.scalars(
                sa.select(Promise)
                .where(Promise.person_id == person.id)
                .order_by(Promise.created_at.desc(), Promise.id.desc())
            )
        ),
        callbacks=list(db.scalars(sa.select(Callback).where(Callback.person_id == person.id))),
        codes=list(
            db.scalars(sa.select(DispositionCode).order_by(DispositionCode.sort_order, DispositionCode.code))
        ),
        gate_account=load_account_facts(db, [person.id])[person.id],
        gate_records=load_compliance_records(db, [person.id], now)[person.id],
    )
