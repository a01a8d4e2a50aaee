"""Every route of the compliance console, open to compliance officers."""

from __future__ import annotations

from starlette.routing import BaseRoute

from infra.models import Role
from workbench import compliance_console, compliance_console_audit, compliance_console_holds
from workbench.compliance_console_reports import reports_page
from workbench.security import route

COMPLIANCE_ROLES = frozenset({Role.COMPLIANCE})


def compliance_routes() -> list[BaseRoute]:
    holds = compliance_console_holds
    return [
        route(
            "/compliance", compliance_console.overview_page, roles=COMPLIANCE_ROLES, name="compliance_home"
        ),
        route("/compliance/attempts", compliance_console.attempts_page, roles=COMPLIANCE_ROLES),
        route(
            "/compliance/attempts/{attempt_id:int}", compliance_console.attempt_page, roles=COMPLIANCE_ROLES
        ),
        route("/compliance/reports", reports_page, roles=COMPLIANCE_ROLES),
        route("/compliance/holds", holds.holds_page, roles=COMPLIANCE_ROLES),
        route("/compliance/persons/{person_id:int}", holds.person_page, roles=COMPLIANCE_ROLES),
        route(
            "/compliance/persons/{person_id:int}/records",
            holds.change_records,
            roles=COMPLIANCE_ROLES,
            methods=("POST",),
        ),
        route("/compliance/audit", compliance_console_audit.audit_page, roles=COMPLIANCE_ROLES),
        route(
            "/compliance/audit/verify",
            compliance_console_audit.verify_action,
            roles=COMPLIANCE_ROLES,
            methods=("POST",),
        ),
    ]
