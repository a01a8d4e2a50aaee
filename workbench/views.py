"""The start page of each role, and the client-scoped campaign list they share."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from campaigns.models import Campaign
from infra.models import Client
from workbench.agent_state import AGENT_PAUSE_CODES
from workbench.auth import LANDING_PAGES
from workbench.services import services_of
from workbench.viewer import Viewer, visible_clients


async def home(request: Request, viewer: Viewer) -> Response:
    return RedirectResponse(LANDING_PAGES[viewer.role], status_code=303)


async def agent_home(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    clients = await services.run_db(lambda db: visible_clients(db, viewer.scope))
    record = await services.agents.get(viewer.user_id)
    return services.pages.page(
        request, "agent.html", viewer=viewer, clients=clients, record=record, pause_codes=AGENT_PAUSE_CODES
    )


async def client_campaigns(request: Request, viewer: Viewer) -> Response:
    """Campaigns of one client; the route's guard has already checked the viewer's client scope."""
    services = services_of(request)
    client_id: int = request.path_params["client_id"]

    def load(db: Session) -> tuple[Client | None, list[Campaign]]:
        campaigns = db.scalars(
            sa.select(Campaign).where(Campaign.client_id == client_id).order_by(Campaign.name)
        ).all()
        return db.get(Client, client_id), list(campaigns)

    client, campaigns = await services.run_db(load)
    if client is None:
        return services.pages.page(
            request, "refused.html", status_code=404, viewer=viewer, message="No such client."
        )
    if request.headers.get("hx-request") == "true":
        html = services.pages.render("fragments/campaigns.html", client=client, campaigns=campaigns)
        return Response(html, media_type="text/html")
    return services.pages.page(
        request, "client_campaigns.html", viewer=viewer, client=client, campaigns=campaigns
    )
