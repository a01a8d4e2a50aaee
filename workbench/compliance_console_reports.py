"""Reg F frequency, calling-hours and abandon-rate reports, on screen and as CSV, limited to the
viewer's clients. The rows come from `compliance.reports`."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from campaigns.models import Campaign, Person
from compliance.reports import abandon_rows, hours_rows, load_debt_calls, regf_rows, write_csv
from workbench.manager_http import page
from workbench.manager_reports import report_range
from workbench.services import services_of
from workbench.viewer import ClientScope, Viewer

REPORTS = {
    "regf": "Reg F call frequency",
    "hours": "Calling hours",
    "abandon": "Abandon rate",
}
SCREEN_ROWS = 500


def _people_in_scope(db: Session, scope: ClientScope, person_ids: set[int]) -> set[int]:
    if scope.client_ids is None:
        return person_ids
    return set(
        db.scalars(sa.select(Person.id).where(Person.id.in_(person_ids), scope.filter(Person.client_id)))
    )


def report_rows(
    db: Session, scope: ClientScope, report: str, first: dt.date, last: dt.date
) -> list[dict[str, object]]:
    start = dt.datetime.combine(first, dt.time(), dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)
    rows: Iterator[dict[str, object]]
    if report == "regf":
        calls = load_debt_calls(db, start, end)
        allowed = _people_in_scope(db, scope, {item.person_id for item in calls})
        rows = regf_rows(item for item in calls if item.person_id in allowed)
    elif report == "hours":
        found = list(hours_rows(db, start, end))
        allowed = _people_in_scope(db, scope, {int(str(row["person_id"])) for row in found})
        rows = (row for row in found if row["person_id"] in allowed)
    else:
        campaigns: list[int | None] = list(
            db.scalars(sa.select(Campaign.id).where(scope.filter(Campaign.client_id)).order_by(Campaign.id))
        )
        if scope.client_ids is None:
            campaigns.insert(0, None)  # every campaign together, and calls outside campaigns
        rows = abandon_rows(db, campaigns, first, last, ZoneInfo("UTC"))
    return list(rows)


async def reports_page(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    today = services.clock().astimezone(dt.UTC).date()
    report = request.query_params.get("report", "regf")
    if report not in REPORTS:
        report = "regf"
    first, last, error = report_range(
        request.query_params.get("from", ""), request.query_params.get("to", ""), today
    )
    rows = await services.run_db(lambda db: report_rows(db, viewer.scope, report, first, last))
    if request.query_params.get("format") == "csv" and not error:
        out = io.StringIO()
        write_csv(rows, out)
        name = f"{report}-{first.isoformat()}-{last.isoformat()}.csv"
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return page(
        request,
        viewer,
        "compliance/reports.html",
        status_code=422 if error else 200,
        reports=REPORTS,
        report=report,
        first=first,
        last=last,
        error=error,
        columns=list(rows[0]) if rows else [],
        rows=rows[:SCREEN_ROWS],
        total=len(rows),
        flagged=sum(bool(row.get("presumed_violation") or row.get("over_3_percent")) for row in rows),
    )
