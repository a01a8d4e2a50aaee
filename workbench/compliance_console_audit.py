"""Audit-chain verification from the console: walk the chain, show the result and the head to
keep outside the database as an anchor, and check against an anchor kept earlier."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from compliance import audit
from workbench.manager_http import form_text, page
from workbench.services import services_of
from workbench.viewer import Viewer


async def audit_page(request: Request, viewer: Viewer) -> Response:
    return page(request, viewer, "compliance/audit.html", result=None, anchor_text="", error="")


async def verify_action(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    form = await request.form()
    anchor_text = form_text(form, "anchor", limit=200)
    anchor = None
    if anchor_text:
        try:
            anchor = audit.AuditAnchor.parse(anchor_text)
        except ValueError as error:
            return page(
                request,
                viewer,
                "compliance/audit.html",
                status_code=422,
                result=None,
                anchor_text=anchor_text,
                error=str(error),
            )
    result = await run_in_threadpool(audit.verify, services.engine, anchor=anchor)
    return page(request, viewer, "compliance/audit.html", result=result, anchor_text=anchor_text, error="")
