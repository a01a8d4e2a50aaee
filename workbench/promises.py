"""The promise-to-pay and instalment-plan builder: a live schedule preview and the save.

The schedule and the authority decision come from the pure `campaigns.promises`. An offer over
the agent's authority is saved with status `pending_approval` for the manager's approval queue;
an offer nobody may agree (more than the balance, a date in the past) is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from campaigns.models import Debt, Payment, Promise, PromiseInstalment, PromiseStatus
from campaigns.promises import (
    AuthorityCheck,
    Decision,
    Frequency,
    Instalment,
    ScheduleError,
    build_schedule,
    check_authority,
)
from infra.money import format_minor, to_minor
from workbench.agent_calls import CallNotFoundError, attempt_debt_ids, is_open, load_attempt, load_steps
from workbench.agent_workspace import fragment, no_such_call, render_workspace
from workbench.agent_writes import DuplicateSubmissionError, MissingKeyError, audit_call_write, form_key, once
from workbench.services import services_of
from workbench.viewer import Viewer


class OfferError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Offer:
    debt: Debt
    balance_minor: int
    schedule: tuple[Instalment, ...]
    authority: AuthorityCheck

    @property
    def total_minor(self) -> int:
        return sum(instalment.amount_minor for instalment in self.schedule)


def balance_of(db: Session, debt: Debt) -> int:
    paid = db.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount_minor), 0)).where(
            Payment.debt_id == debt.id, Payment.status == "posted"
        )
    )
    return debt.placed_balance_minor - int(paid or 0)


def read_offer(db: Session, viewer: Viewer, attempt_uuid: str, form: dict[str, str], today: dt.date) -> Offer:
    """The offer in the builder's form; OfferError names the field that is wrong."""
    attempt = load_attempt(db, viewer, attempt_uuid)
    if not load_steps(db, attempt).unlocked:
        raise OfferError("Verify the right party and give the disclosure first.")
    debt_ids = attempt_debt_ids(db, attempt)
    try:
        debt_id = int(form.get("promise_debt", ""))
    except ValueError:
        raise OfferError("Choose the account the promise is for.") from None
    debt = db.get(Debt, debt_id)
    if debt is None or debt.person_id != attempt.person_id or (debt_ids and debt_id not in debt_ids):
        raise OfferError("Choose the account the promise is for.")
    try:
        total = to_minor(form.get("promise_amount", ""), debt.currency)
    except ValueError:
        raise OfferError("Amount: enter an amount such as 450.00.") from None
    try:
        count = int(form.get("promise_count", ""))
    except ValueError:
        raise OfferError("Instalments: enter a whole number.") from None
    try:
        frequency = Frequency(form.get("promise_frequency", ""))
    except ValueError:
        raise OfferError("Frequency: choose one.") from None
    if count == 1:
        frequency = Frequency.ONCE
    try:
        first = dt.date.fromisoformat(form.get("promise_first_date", ""))
    except ValueError:
        raise OfferError("First payment date: choose a date.") from None
    try:
        schedule = build_schedule(total, count, frequency, first)
    except ScheduleError as error:
        raise OfferError(str(error)) from None
    balance = balance_of(db, debt)
    return Offer(debt, balance, schedule, check_authority(schedule, balance, debt.currency, today))


async def preview(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    attempt_uuid = request.path_params["attempt_uuid"]
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}

    def load(db: Session) -> Offer:
        return read_offer(db, viewer, attempt_uuid, form, services.clock().date())

    try:
        offer: Offer | None = await services.run_db(load)
        error = None
    except OfferError as problem:
        offer, error = None, str(problem)
    except CallNotFoundError:
        return no_such_call(services)
    return fragment(
        services.pages.render("agent/promise_preview.html", offer=offer, error=error, money=format_minor)
    )


def _save(db: Session, viewer: Viewer, attempt_uuid: str, form: dict[str, str], now: dt.datetime) -> Promise:
    offer = read_offer(db, viewer, attempt_uuid, form, now.date())
    attempt = load_attempt(db, viewer, attempt_uuid, for_update=True)
    if not is_open(attempt):
        raise OfferError("This call is finished; promises are recorded during the call.")
    if offer.authority.decision is Decision.REFUSED:
        raise OfferError(" ".join(offer.authority.reasons))
    status = (
        PromiseStatus.ACTIVE
        if offer.authority.decision is Decision.WITHIN
        else PromiseStatus.PENDING_APPROVAL
    )
    promise = Promise(
        person_id=attempt.person_id,
        debt_id=offer.debt.id,
        attempt_id=attempt.id,
        status=status,
        total_minor=offer.total_minor,
        currency=offer.debt.currency,
        frequency=Frequency(form["promise_frequency"]).value
        if len(offer.schedule) > 1
        else Frequency.ONCE.value,
        settlement=offer.authority.settlement,
        created_by=viewer.user_id,
        created_at=now,
    )
    db.add(promise)
    db.flush()
    db.add_all(
        PromiseInstalment(
            promise_id=promise.id,
            seq=instalment.seq,
            due_on=instalment.due_on,
            amount_minor=instalment.amount_minor,
        )
        for instalment in offer.schedule
    )
    audit_call_write(
        db,
        viewer,
        attempt,
        action="promise.created",
        entity_type="promise",
        entity_id=str(promise.id),
        payload={
            "debt_id": offer.debt.id,
            "status": status.value,
            "total_minor": offer.total_minor,
            "currency": offer.debt.currency,
            "balance_minor": offer.balance_minor,
            "settlement": offer.authority.settlement,
            "frequency": promise.frequency,
            "instalments": [
                {"seq": each.seq, "due_on": each.due_on, "amount_minor": each.amount_minor}
                for each in offer.schedule
            ],
            "authority_breaches": list(offer.authority.reasons),
        },
    )
    return promise


async def save(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    attempt_uuid = request.path_params["attempt_uuid"]
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    message = None
    try:
        async with once(services, viewer, form_key(form)) as write:
            promise = await write.run_db(lambda db: _save(db, viewer, attempt_uuid, form, services.clock()))
        if promise.status is PromiseStatus.PENDING_APPROVAL:
            message = "Saved as pending approval: the offer is over your authority and goes to a manager."
        else:
            message = "Promise saved."
    except DuplicateSubmissionError:
        message = "Promise saved."
    except (OfferError, MissingKeyError) as error:
        html = services.pages.render(
            "agent/promise_preview.html", offer=None, error=str(error), money=format_minor
        )
        return fragment(html, 422, retarget="#promise-preview")
    except CallNotFoundError:
        return no_such_call(services)
    return fragment(await render_workspace(services, viewer, attempt_uuid, promise_message=message))
