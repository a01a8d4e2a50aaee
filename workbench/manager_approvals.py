"""The approval queue: promises an agent took over their authority, waiting for a manager.

Approving makes the promise active; rejecting cancels its instalments. Either needs a reason,
writes an account note for the agents who open the account next, and is audited in the same
transaction. A promise already decided (by another manager, a moment earlier) is left alone.
"""

from __future__ import annotations

import dataclasses
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from campaigns.models import Debt, InstalmentStatus, Note, Person, Promise, PromiseInstalment, PromiseStatus
from compliance import audit
from infra.db import utcnow
from infra.models import User
from workbench.manager_http import form_text, page
from workbench.services import services_of
from workbench.viewer import ClientScope, Viewer


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclasses.dataclass(frozen=True)
class PendingPromise:
    promise: Promise
    debt: Debt
    person: Person
    instalments: tuple[PromiseInstalment, ...]
    agent_name: str

    @property
    def share_of_balance(self) -> float | None:
        balance = self.debt.placed_balance_minor
        return self.promise.total_minor / balance if balance else None


def pending_promises(db: Session, scope: ClientScope, promise_id: int | None = None) -> list[PendingPromise]:
    query = (
        sa.select(Promise, Debt, Person, User.display_name)
        .join(Debt, Debt.id == Promise.debt_id)
        .join(Person, Person.id == Promise.person_id)
        .outerjoin(User, User.id == Promise.created_by)
        .where(Promise.status == PromiseStatus.PENDING_APPROVAL, scope.filter(Debt.client_id))
        .order_by(Promise.created_at, Promise.id)
    )
    if promise_id is not None:
        query = query.where(Promise.id == promise_id).with_for_update(of=Promise)
    rows = db.execute(query).all()
    schedules: dict[int, list[PromiseInstalment]] = {}
    for instalment in db.scalars(
        sa.select(PromiseInstalment)
        .where(PromiseInstalment.promise_id.in_([row[0].id for row in rows]))
        .order_by(PromiseInstalment.seq)
    ):
        schedules.setdefault(instalment.promise_id, []).append(instalment)
    return [
        PendingPromise(promise, debt, person, tuple(schedules.get(promise.id, ())), agent or "unknown")
        for promise, debt, person, agent in rows
    ]


def decide(db: Session, viewer: Viewer, promise_id: int, decision: Decision, reason: str) -> str | None:
    """None when done, else why not."""
    found = pending_promises(db, viewer.scope, promise_id)
    if not found:
        return "This promise is no longer waiting for approval."
    item = found[0]
    promise = item.promise
    promise.status = PromiseStatus.ACTIVE if decision is Decision.APPROVE else PromiseStatus.REJECTED
    promise.approved_by = viewer.user_id if decision is Decision.APPROVE else None
    promise.decided_at = utcnow()
    if decision is Decision.REJECT:
        for instalment in item.instalments:
            instalment.status = InstalmentStatus.CANCELLED
    verb = "approved" if decision is Decision.APPROVE else "rejected"
    db.add(
        Note(
            person_id=promise.person_id,
            debt_id=promise.debt_id,
            author_id=viewer.user_id,
            body=f"Promise #{promise.id} {verb} by {viewer.display_name}: {reason}",
        )
    )
    audit.record(
        db,
        actor=viewer.actor,
        action=f"promise.{decision.value}",
        entity_type="promise",
        entity_id=str(promise.id),
        payload={
            "reason": reason,
            "debt_id": promise.debt_id,
            "total_minor": promise.total_minor,
            "currency": promise.currency,
            "instalments": len(item.instalments),
        },
        client_id=item.debt.client_id,
    )
    return None


async def approvals_page(
    request: Request, viewer: Viewer, *, notice: str = "", error: str = "", status_code: int = 200
) -> Response:
    items = await services_of(request).run_db(lambda db: pending_promises(db, viewer.scope))
    return page(
        request,
        viewer,
        "manager/approvals.html",
        status_code=status_code,
        items=items,
        notice=notice,
        error=error,
    )


async def approvals_index(request: Request, viewer: Viewer) -> Response:
    return await approvals_page(request, viewer)


async def decide_action(request: Request, viewer: Viewer) -> Response:
    form = await request.form()
    promise_id: int = request.path_params["promise_id"]
    reason = form_text(form, "reason", limit=500)
    try:
        decision = Decision(form_text(form, "decision"))
    except ValueError:
        return await approvals_page(request, viewer, error="Choose approve or reject.", status_code=422)
    if not reason:
        return await approvals_page(
            request,
            viewer,
            error=f"Give a reason to {decision.value} promise #{promise_id}.",
            status_code=422,
        )
    refusal = await services_of(request).run_db(lambda db: decide(db, viewer, promise_id, decision, reason))
    if refusal is not None:
        return await approvals_page(request, viewer, error=refusal, status_code=409)
    verb = "approved" if decision is Decision.APPROVE else "rejected"
    return await approvals_page(request, viewer, notice=f"Promise #{promise_id} {verb}.")
