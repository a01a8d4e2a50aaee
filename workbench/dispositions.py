"""The disposition dock: the agent's code for the call, with the fields the code requires.

Submitting completes the attempt in the ledger with the code's outcome, creates the hold of a
code that has one and the restriction of a do-not-call code, records a required payment or
note, audits each write in the same transaction, and moves the agent to wrap-up.

Resubmission is harmless: the attempt can be completed once, so the same form sent again (a
double key press, a retry after a lost response) finds the call already dispositioned with the
same code and changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from campaigns.events import HangUp, campaign_channel
from campaigns.models import Debt, Note, Payment
from compliance.attempts import CallResult, complete
from compliance.models import (
    ContactAttempt,
    ContactRestriction,
    DispositionCode,
    Notice,
    NoticeType,
    Outcome,
    RestrictionKind,
)
from infra.money import to_minor
from workbench.agent_calls import (
    CallNotFoundError,
    attempt_debt_ids,
    callbacks_of,
    is_open,
    live_promises_of,
    load_attempt,
    load_steps,
)
from workbench.agent_state import EndCall
from workbench.agent_workspace import NOTE_LIMIT, fragment, needs_conversation, no_such_call, render_workspace
from workbench.agent_writes import audit_call_write
from workbench.services import services_of
from workbench.viewer import Viewer

# Holds about particular debts cover the debts of the call; the others cover the person.
DEBT_SCOPED_HOLDS = frozenset(
    {NoticeType.DISPUTE, NoticeType.ORIGINAL_CREDITOR_REQUEST, NoticeType.REFUSAL_TO_PAY}
)
PAYMENT_METHODS = ("card", "ach", "check")
FIELD_NAMES = {
    "promise": "a promise",
    "payment": "a payment",
    "callback": "a callback",
    "note": "a note",
    "restriction": "the do-not-call scope",
}


class DispositionRefusedError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class PaymentEntry:
    debt: Debt
    amount_minor: int
    method: str
    reference: str


def _payment(db: Session, attempt: ContactAttempt, form: dict[str, str]) -> PaymentEntry | None:
    debt_ids = attempt_debt_ids(db, attempt)
    try:
        debt = db.get(Debt, int(form.get("payment_debt", "") or (debt_ids[0] if debt_ids else 0)))
    except ValueError:
        return None
    if debt is None or debt.person_id != attempt.person_id:
        return None
    try:
        amount = to_minor(form.get("payment_amount", ""), debt.currency)
    except ValueError:
        return None
    method, reference = form.get("payment_method", ""), form.get("payment_reference", "").strip()
    if amount <= 0 or method not in PAYMENT_METHODS or not reference or len(reference) > 100:
        return None
    return PaymentEntry(debt, amount, method, reference)


def _missing(
    db: Session, attempt: ContactAttempt, code: DispositionCode, form: dict[str, str]
) -> tuple[list[str], PaymentEntry | None]:
    """What the code requires and the form or the call lacks, each naming the field."""
    problems = []
    payment = None
    name = f"“{code.label}” ({code.code})"
    for field in code.required_fields:
        if field == "promise" and not live_promises_of(db, attempt):
            problems.append(f"{name} needs a promise: save one in the promise builder first.")
        elif field == "callback" and not callbacks_of(db, attempt):
            problems.append(f"{name} needs a callback: schedule one first.")
        elif field == "note" and not form.get("note", "").strip():
            problems.append(f"{name} needs a note: write what the person said.")
        elif field == "restriction" and form.get("restriction_scope") not in {"number", "all"}:
            problems.append(f"{name} needs the do-not-call scope: this number or all calls.")
        elif field == "payment":
            payment = _payment(db, attempt, form)
            if payment is None:
                problems.append(f"{name} needs a payment: amount, method and the processor's reference.")
    return problems, payment


def _party(code: DispositionCode) -> str | None:
    if code.outcome is Outcome.THIRD_PARTY_CONVERSATION:
        return "third_party"
    return "consumer" if code.is_right_party_contact else None


def _record(
    db: Session, viewer: Viewer, attempt_uuid: str, form: dict[str, str], now: dt.datetime
) -> int | None:
    """Disposition the call; returns its campaign (None: a manual call). Raises
    DispositionRefusedError with every problem."""
    attempt = load_attempt(db, viewer, attempt_uuid, for_update=True)
    code = db.scalar(
        sa.select(DispositionCode).where(
            DispositionCode.code == form.get("code", ""),
            DispositionCode.active.is_(True),
            DispositionCode.agent_selectable.is_(True),
        )
    )
    if code is None:
        raise DispositionRefusedError(["Choose a disposition."])
    if not is_open(attempt):
        if attempt.disposition_code == code.code:
            return attempt.campaign_id  # the same submission again: already done
        raise DispositionRefusedError([f"This call was already dispositioned as {attempt.disposition_code}."])
    if needs_conversation(code) and not load_steps(db, attempt).unlocked:
        raise DispositionRefusedError(
            [f"“{code.label}” needs the right party verified and the disclosure given first."]
        )
    problems, payment = _missing(db, attempt, code, form)
    note_text = form.get("note", "").strip()
    if len(note_text) > NOTE_LIMIT:
        problems.append(f"A note holds at most {NOTE_LIMIT} characters.")
    if problems:
        raise DispositionRefusedError(problems)
    complete(
        db,
        attempt.uuid,
        CallResult(
            outcome=code.outcome,
            ended_at=now,
            answered_at=attempt.answered_at,
            connected_at=attempt.connected_at,
            party=_party(code),
            agent_id=viewer.user_id,
            disposition_code=code.code,
            sip_code=attempt.sip_code,
            sip_reason=attempt.sip_reason,
            q850_cause=attempt.q850_cause,
        ),
    )
    written: dict[str, object] = {}
    if note_text:
        note = Note(
            person_id=attempt.person_id, attempt_id=attempt.id, author_id=viewer.user_id, body=note_text
        )
        db.add(note)
        db.flush()
        written["note_id"] = note.id
    if code.creates_hold is not None:
        debts = attempt_debt_ids(db, attempt) if code.creates_hold in DEBT_SCOPED_HOLDS else []
        notice = Notice(
            person_id=attempt.person_id,
            type=code.creates_hold,
            received_at=now,
            debt_ids=debts,
            details=note_text or code.label,
            created_by=viewer.user_id,
            created_at=now,
        )
        db.add(notice)
        db.flush()
        written["hold_id"] = notice.id
        audit_call_write(
            db,
            viewer,
            attempt,
            action="hold.created",
            entity_type="notice",
            entity_id=str(notice.id),
            payload={"type": code.creates_hold, "debt_ids": debts},
        )
    if "restriction" in code.required_fields:
        whole = form.get("restriction_scope") == "all"
        restriction = ContactRestriction(
            person_id=attempt.person_id,
            kind=RestrictionKind.NO_CALLS if whole else RestrictionKind.NUMBER,
            number=None if whole else attempt.number,
            requested_at=now,
            reason=note_text or code.label,
            created_by=viewer.user_id,
            created_at=now,
        )
        db.add(restriction)
        db.flush()
        written["restriction_id"] = restriction.id
        audit_call_write(
            db,
            viewer,
            attempt,
            action="restriction.created",
            entity_type="contact_restriction",
            entity_id=str(restriction.id),
            payload={"kind": restriction.kind, "number": restriction.number},
        )
    if payment is not None:
        row = Payment(
            debt_id=payment.debt.id,
            amount_minor=payment.amount_minor,
            currency=payment.debt.currency,
            paid_at=now,
            method=payment.method,
            reference=payment.reference,
            status="posted",
            recorded_by=viewer.user_id,
            created_at=now,
        )
        db.add(row)
        db.flush()
        written["payment_id"] = row.id
        audit_call_write(
            db,
            viewer,
            attempt,
            action="payment.recorded",
            entity_type="payment",
            entity_id=str(row.id),
            payload={
                "debt_id": payment.debt.id,
                "amount_minor": payment.amount_minor,
                "method": payment.method,
            },
        )
    audit_call_write(
        db,
        viewer,
        attempt,
        action="call.dispositioned",
        entity_type="contact_attempt",
        entity_id=attempt.uuid,
        payload={"code": code.code, "outcome": code.outcome, "party": _party(code), **written},
    )
    return attempt.campaign_id


async def submit(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    attempt_uuid = request.path_params["attempt_uuid"]
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    try:
        campaign_id = await services.run_db(
            lambda db: _record(db, viewer, attempt_uuid, form, services.clock())
        )
    except DispositionRefusedError as refusal:
        html = services.pages.render("agent/dock_error.html", problems=refusal.problems)
        return fragment(html, 422, retarget="#dock-error")
    except CallNotFoundError:
        return no_such_call(services)
    if campaign_id is not None:  # the call ends with its disposition, if it is still up
        await services.bus.publish(
            campaign_channel(campaign_id), HangUp(attempt_uuid, viewer.user_id).to_json()
        )
    # Already in wrap-up after a resubmission: the state machine keeps the running timer.
    await services.agents.apply(viewer, EndCall(attempt_uuid))
    return fragment(await render_workspace(services, viewer, attempt_uuid))
