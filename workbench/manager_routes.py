"""Every route of the manager console, open to managers and admins."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from infra.models import Role
from workbench import manager_approvals, manager_campaign_pages, manager_dispositions, manager_lists
from workbench.manager_http import page
from workbench.manager_reports import reports_page
from workbench.manager_wallboard import ledger_figures, wallboard_view
from workbench.security import route
from workbench.services import services_of
from workbench.viewer import Viewer

MANAGER_ROLES = frozenset({Role.MANAGER, Role.ADMIN})


async def wallboard_page(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    now = services.clock()
    ledger = await services.run_db(lambda db: ledger_figures(db, viewer.scope, now))
    records = [record for record in await services.agents.all() if viewer.scope.overlaps(record.scope)]
    board = wallboard_view(ledger, records, now)
    return page(request, viewer, "manager/wallboard.html", board=board, records=records, oob=False)


def manager_routes() -> list[BaseRoute]:
    campaigns = manager_campaign_pages
    return [
        route("/manager", wallboard_page, roles=MANAGER_ROLES, name="manager_home"),
        route("/manager/campaigns", campaigns.campaigns_page, roles=MANAGER_ROLES),
        route("/manager/campaigns", campaigns.create_campaign_action, roles=MANAGER_ROLES, methods=("POST",)),
        route("/manager/campaigns/new", campaigns.new_campaign_page, roles=MANAGER_ROLES),
        route("/manager/campaigns/{campaign_id:int}", campaigns.campaign_page, roles=MANAGER_ROLES),
        route(
            "/manager/campaigns/{campaign_id:int}",
            campaigns.update_campaign_action,
            roles=MANAGER_ROLES,
            methods=("POST",),
        ),
        route(
            "/manager/campaigns/{campaign_id:int}/lifecycle",
            campaigns.campaign_lifecycle_action,
            roles=MANAGER_ROLES,
            methods=("POST",),
        ),
        route("/manager/lists", manager_lists.lists_index, roles=MANAGER_ROLES),
        route("/manager/lists/upload", manager_lists.upload_list, roles=MANAGER_ROLES, methods=("POST",)),
        route("/manager/imports/jobs/{token}", manager_lists.import_job_page, roles=MANAGER_ROLES),
        route("/manager/imports/{run_id:int}", manager_lists.import_run_page, roles=MANAGER_ROLES),
        route(
            "/manager/imports/{run_id:int}/rejects.csv", manager_lists.import_rejects_csv, roles=MANAGER_ROLES
        ),
        route("/manager/dispositions", manager_dispositions.dispositions_page, roles=MANAGER_ROLES),
        route(
            "/manager/dispositions/{code_id:int}",
            manager_dispositions.update_disposition_action,
            roles=MANAGER_ROLES,
            methods=("POST",),
        ),
        route("/manager/approvals", manager_approvals.approvals_index, roles=MANAGER_ROLES),
        route(
            "/manager/approvals/{promise_id:int}",
            manager_approvals.decide_action,
            roles=MANAGER_ROLES,
            methods=("POST",),
        ),
        route("/manager/reports", reports_page, roles=MANAGER_ROLES),
    ]
