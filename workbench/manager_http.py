"""What the manager and compliance consoles share: page rendering with their helpers, form
reading, and the way a console refuses or reports a problem."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from infra.money import format_minor
from workbench.services import services_of
from workbench.viewer import Viewer

MANAGER_NAV = (
    ("/manager", "Wallboard"),
    ("/manager/campaigns", "Campaigns"),
    ("/manager/lists", "Call lists"),
    ("/manager/approvals", "Approvals"),
    ("/manager/dispositions", "Dispositions"),
    ("/manager/reports", "Reports"),
)
COMPLIANCE_NAV = (
    ("/compliance", "Overview"),
    ("/compliance/attempts", "Attempts"),
    ("/compliance/reports", "Reports"),
    ("/compliance/holds", "Holds and consent"),
    ("/compliance/audit", "Audit chain"),
)


def money(amount_minor: int | None, currency: str = "USD") -> str:
    return "—" if amount_minor is None else format_minor(amount_minor, currency)


def when(moment: dt.datetime | None, zone: str | None = None) -> str:
    """A moment in UTC, or in `zone` with its abbreviation."""
    if moment is None:
        return "—"
    if zone:
        local = moment.astimezone(ZoneInfo(zone))
        return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or zone)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def page(
    request: Request, viewer: Viewer, template: str, *, status_code: int = 200, **context: Any
) -> Response:
    nav = COMPLIANCE_NAV if template.startswith("compliance/") else MANAGER_NAV
    return services_of(request).pages.page(
        request,
        template,
        status_code=status_code,
        viewer=viewer,
        nav=nav,
        current_path=request.url.path,
        money=money,
        when=when,
        **context,
    )


def fragment(request: Request, template: str, **context: Any) -> Response:
    html = services_of(request).pages.render(template, money=money, when=when, **context)
    return HTMLResponse(html)


def not_found(request: Request, viewer: Viewer, what: str) -> Response:
    """Things outside the viewer's clients are reported exactly like things that do not exist."""
    return services_of(request).pages.page(
        request, "refused.html", status_code=404, viewer=viewer, message=f"No such {what}."
    )


def form_text(form: FormData | Mapping[str, Any], name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def form_texts(form: FormData, name: str) -> list[str]:
    return [value for value in form.getlist(name) if isinstance(value, str)]


def form_fields(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


def parse_day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def parse_local_moment(text: str) -> dt.datetime | None:
    """A date-time from an `<input type="datetime-local">`, taken as UTC."""
    try:
        moment = dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
