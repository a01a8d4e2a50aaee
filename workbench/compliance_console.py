"""The compliance console's overview, attempt search and attempt record pages."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from campaigns.models import Campaign, Person
from compliance import audit
from compliance.models import (
    AuditChainHead,
    AuditEvent,
    ContactAttempt,
    ContactRestriction,
    GateDecision,
    Notice,
)
from infra.models import Role, User, UserClientScope
from workbench.compliance_console_attempts import (
    OUTCOME_CHOICES,
    AttemptQuery,
    AttemptRow,
    QueryError,
    attempt_row,
    parse_query,
    search_attempts,
)
from workbench.manager_http import not_found, page
from workbench.services import services_of
from workbench.viewer import ClientScope, Viewer


@dataclasses.dataclass(frozen=True)
class Overview:
    attempts_today: int
    blocked_today: int
    open_holds: int
    live_restrictions: int
    audit_events: int
    last_event_at: dt.datetime | None


def overview(db: Session, scope: ClientScope, now: dt.datetime) -> Overview:
    day_start = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
    people = sa.select(Person.id).where(scope.filter(Person.client_id))
    head = db.get(AuditChainHead, audit.HEAD_ID)
    events = head.seq if head is not None else 0
    return Overview(
        attempts_today=db.scalar(
            sa.select(sa.func.count()).where(
                scope.filter(ContactAttempt.client_id), ContactAttempt.reserved_at >= day_start
            )
        )
        or 0,
        blocked_today=db.scalar(
            sa.select(sa.func.count()).where(
                GateDecision.person_id.in_(people),
                GateDecision.allowed.is_(False),
                GateDecision.decided_at >= day_start,
            )
        )
        or 0,
        open_holds=db.scalar(
            sa.select(sa.func.count()).where(Notice.person_id.in_(people), Notice.resolved_at.is_(None))
        )
        or 0,
        live_restrictions=db.scalar(
            sa.select(sa.func.count()).where(
                ContactRestriction.person_id.in_(people), ContactRestriction.withdrawn_at.is_(None)
            )
        )
        or 0,
        audit_events=events,
        last_event_at=(
            db.scalar(sa.select(AuditEvent.occurred_at).where(AuditEvent.seq == events)) if events else None
        ),
    )


async def overview_page(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    now = services.clock()
    figures = await services.run_db(lambda db: overview(db, viewer.scope, now))
    return page(request, viewer, "compliance/overview.html", figures=figures)


def search_choices(db: Session, scope: ClientScope) -> tuple[list[Campaign], list[User]]:
    campaigns = list(
        db.scalars(sa.select(Campaign).where(scope.filter(Campaign.client_id)).order_by(Campaign.name))
    )
    agents = sa.select(User).where(User.role == Role.AGENT).order_by(User.display_name)
    if scope.client_ids is not None:
        agents = agents.where(
            User.id.in_(
                sa.select(UserClientScope.user_id).where(
                    UserClientScope.client_id.in_(sorted(scope.client_ids))
                )
            )
        )
    return campaigns, list(db.scalars(agents))


async def attempts_page(request: Request, viewer: Viewer) -> Response:
    params = dict(request.query_params)
    problems: list[tuple[str, str]] = []
    try:
        query = parse_query(params)
    except QueryError as error:
        problems, query = error.problems, AttemptQuery()
    searched = bool(params) and not problems

    def load(db: Session) -> tuple[list[Campaign], list[User], list[AttemptRow]]:
        campaigns, agents = search_choices(db, viewer.scope)
        rows = search_attempts(db, viewer.scope, query) if searched else []
        return campaigns, agents, rows

    campaigns, agents, rows = await services_of(request).run_db(load)
    return page(
        request,
        viewer,
        "compliance/attempts.html",
        status_code=422 if problems else 200,
        params=params,
        problems=problems,
        rows=rows,
        searched=searched,
        local_time=query.local_time,
        campaigns=campaigns,
        agents=agents,
        outcomes=OUTCOME_CHOICES,
    )


async def attempt_page(request: Request, viewer: Viewer) -> Response:
    attempt_id: int = request.path_params["attempt_id"]
    row = await services_of(request).run_db(lambda db: attempt_row(db, viewer.scope, attempt_id))
    if row is None:
        return not_found(request, viewer, "attempt")
    return page(request, viewer, "compliance/attempt.html", row=row)
