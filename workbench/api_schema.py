"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json.

Kept next to the routes it describes; a test checks that every API route is described here and
that nothing described is missing from the app.
"""

from __future__ import annotations

from typing import Any

from campaigns.campaign_settings import RETRYABLE_OUTCOMES, MachineAction
from campaigns.models import CampaignStatus, DialMode
from compliance.models import Outcome

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(description: str, schema: dict[str, Any], status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {JSON: {"schema": schema}}}}


def _errors(*codes: str) -> dict[str, Any]:
    texts = {
        "401": "Not signed in.",
        "403": "Role, client scope or CSRF token refused.",
        "404": "Not found among the caller's clients.",
        "409": "Not allowed in the resource's present state.",
        "422": "Invalid input: each problem names the field by its path.",
    }
    schemas = {"422": _ref("Problems")}
    return {
        code: {"description": texts[code], "content": {JSON: {"schema": schemas.get(code, _ref("Error"))}}}
        for code in codes
    }


def _operation(
    summary: str,
    roles: str,
    responses: dict[str, Any],
    *,
    body: dict[str, Any] | None = None,
    parameters: list[Any] | None = None,
    write: bool = False,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": f"Roles: {roles}. Results are limited to the caller's clients.",
        "responses": {**responses, **_errors("401", "403")},
        "security": [{"session": [], "csrf": []}] if write else [{"session": []}],
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


def _schemas() -> dict[str, Any]:
    retry_rule = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "retry_after_minutes": {"type": "integer", "minimum": 1, "maximum": 43200},
            "max_attempts": {"type": "integer", "minimum": 0, "maximum": 20},
        },
    }
    settings = {
        "type": "object",
        "additionalProperties": False,
        "description": "Every field is optional; missing ones take their defaults.",
        "properties": {
            "schedule": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "days": {
                        "type": "array",
                        "items": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
                    },
                    "start": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
                    "end": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
                },
            },
            "retry_rules": {
                "type": "object",
                "additionalProperties": False,
                "properties": {outcome.value: retry_rule for outcome in RETRYABLE_OUTCOMES},
            },
            "wrap_up_seconds": {"type": "integer", "minimum": 0, "maximum": 900},
            "pacing": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "abandon_target_percent": {"type": "number", "minimum": 0, "maximum": 3},
                    "max_dial_ratio": {"type": "number", "minimum": 1, "maximum": 5},
                    "ring_timeout_seconds": {"type": "integer", "minimum": 15, "maximum": 60},
                },
            },
            "machine_action": {"enum": [action.value for action in MachineAction]},
            "machine_message": _nullable("string"),
        },
    }
    campaign_fields = {
        "name": {"type": "string", "maxLength": 200},
        "dial_mode": {"enum": [mode.value for mode in DialMode]},
        "caller_id": {"type": ["string", "null"], "pattern": "^\\+[1-9][0-9]{6,14}$"},
        "trunk": _nullable("string"),
        "list_ids": {"type": "array", "items": {"type": "integer"}},
        "settings": settings,
    }
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "Problems": {
            "type": "object",
            "required": ["error", "problems"],
            "properties": {
                "error": {"type": "string"},
                "problems": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["path", "message"],
                        "properties": {
                            "path": {
                                "type": "string",
                                "examples": ["settings.pacing.abandon_target_percent"],
                            },
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
        "Me": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "username": {"type": "string"},
                "display_name": {"type": "string"},
                "role": {"enum": ["agent", "manager", "compliance", "admin"]},
                "client_ids": {"type": ["array", "null"], "items": {"type": "integer"}},
                "csrf_token": {"type": "string", "description": "Send as X-CSRF-Token on every write."},
            },
        },
        "CampaignInput": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "client_id": {"type": "integer", "description": "Required to create."},
                **campaign_fields,
            },
        },
        "Campaign": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "client_id": {"type": "integer"},
                "client_code": {"type": "string"},
                "status": {"enum": [status.value for status in CampaignStatus]},
                **campaign_fields,
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
            },
        },
        "CallList": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "client_id": {"type": "integer"},
                "name": {"type": "string"},
                "accounts": {"type": "integer"},
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "ImportRun": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "client_id": {"type": "integer"},
                "list_id": _nullable("integer"),
                "file_name": {"type": "string"},
                "file_sha256": {"type": "string"},
                "status": {"type": "string"},
                **{
                    name: {"type": "integer"}
                    for name in (
                        "rows_read",
                        "debts_created",
                        "debts_updated",
                        "debts_unchanged",
                        "rows_rejected",
                        "people_merged",
                    )
                },
                "started_at": {"type": "string", "format": "date-time"},
                "finished_at": {"type": ["string", "null"], "format": "date-time"},
                "rejects": {
                    "type": "array",
                    "description": "Only on a single import: every rejected row.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "line": {"type": "integer"},
                            "column": {"type": "string"},
                            "code": {"type": "string"},
                            "reason": {"type": "string"},
                        },
                    },
                },
            },
        },
        "GateDecision": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "decided_at": {"type": "string", "format": "date-time"},
                "allowed": {"type": "boolean"},
                "rule": _nullable("string"),
                "reason": _nullable("string"),
                "policy_name": {"type": "string"},
                "policy_version": {"type": "string"},
                "inputs_digest": {"type": "string"},
                "next_allowed_at": {"type": ["string", "null"], "format": "date-time"},
                "verdict": _ref("Verdict"),
            },
        },
        "Attempt": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "uuid": {"type": "string"},
                "client_id": {"type": "integer"},
                "campaign_id": _nullable("integer"),
                "campaign": _nullable("string"),
                "person_id": {"type": "integer"},
                "person_ref": {"type": "string"},
                "account_refs": {"type": "array", "items": {"type": "string"}},
                "number": {"type": "string"},
                "direction": {"enum": ["outbound", "inbound"]},
                "mode": {"enum": ["manual", "preview", "progressive", "predictive", "prerecorded"]},
                "status": {"enum": ["reserved", "dialing", "completed", "cancelled"]},
                "outcome": {"enum": [*(outcome.value for outcome in Outcome), None]},
                "disposition_code": _nullable("string"),
                "agent_id": _nullable("integer"),
                "agent": _nullable("string"),
                **{
                    name: {"type": ["string", "null"], "format": "date-time"}
                    for name in ("reserved_at", "dialed_at", "answered_at", "connected_at", "ended_at")
                },
                "local_times": {
                    "type": "object",
                    "description": "When the call was placed, in each zone the person may be in.",
                    "additionalProperties": {"type": "string", "format": "date-time"},
                },
                "gate_decision": {"oneOf": [_ref("GateDecision"), {"type": "null"}]},
            },
        },
        "Debt": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "client_id": {"type": "integer"},
                "person_id": {"type": "integer"},
                "account_ref": {"type": "string"},
                "original_creditor": _nullable("string"),
                "kind": {"type": "string"},
                "status": {"type": "string"},
                "currency": {"type": "string"},
                **{
                    name: {"type": "integer", "description": "Minor units of the currency."}
                    for name in ("principal_minor", "interest_minor", "fees_minor", "balance_minor")
                },
                "placed_on": {"type": ["string", "null"], "format": "date"},
            },
        },
        "Person": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "client_id": {"type": "integer"},
                "person_ref": {"type": "string"},
                "first_name": {"type": "string"},
                "last_name": {"type": "string"},
                "debts": {"type": "array", "items": _ref("Debt")},
                "phones": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "number": {"type": "string"},
                            "type": {"type": "string"},
                            "status": {"type": "string"},
                            "autodial_consent": {"type": "boolean"},
                        },
                    },
                },
            },
        },
        "Case": {
            "type": "object",
            "description": "The case of the compliance-check contract; unknown fields are rejected.",
            "required": ["person", "debts", "phones", "call"],
            "properties": {
                "policy": {"type": "string"},
                "person": {"type": "object"},
                "debts": {"type": "array", "items": {"type": "object"}},
                "phones": {"type": "array", "items": {"type": "object"}},
                "consents": {"type": "array", "items": {"type": "object"}},
                "history": {"type": "array", "items": {"type": "object"}},
                "call": {"type": "object"},
            },
            "additionalProperties": False,
        },
        "Verdict": {
            "type": "object",
            "required": ["allowed", "rule", "citation", "reason", "next_allowed_at", "evaluated"],
            "properties": {
                "allowed": {"type": "boolean"},
                "rule": _nullable("string"),
                "citation": _nullable("string"),
                "reason": _nullable("string"),
                "next_allowed_at": {"type": ["string", "null"], "format": "date-time"},
                "evaluated": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "rule": {"type": "string"},
                            "passed": {"type": "boolean"},
                            "detail": {"type": "string"},
                        },
                    },
                },
            },
        },
    }


def _paths() -> dict[str, Any]:
    managers, readers = "manager, admin", "manager, admin, compliance"
    campaign_id, attempt_id = _path_id("campaign_id"), _path_id("attempt_id")
    attempt_filters = [
        _query("account", "Account reference of a debt the attempt was about."),
        _query("person", "The client's person reference."),
        _query("phone", "The number called; E.164 or 10 US digits."),
        _query("agent", "Agent user id.", {"type": "integer"}),
        _query("campaign", "Campaign id.", {"type": "integer"}),
        _query("outcome", "Outcome.", {"enum": [outcome.value for outcome in Outcome]}),
        _query("from", "Start of the range, ISO 8601 date-time."),
        _query("to", "End of the range, ISO 8601 date-time."),
        _query(
            "zone",
            "utc (default) or local: read the range in the person's local time.",
            {"enum": ["utc", "local"]},
        ),
    ]
    return {
        "/api/openapi.json": {
            "get": _operation(
                "This document.", "any signed-in user", _ok("The OpenAPI document.", {"type": "object"})
            )
        },
        "/api/me": {
            "get": _operation(
                "The signed-in user and the session's CSRF token.", "any", _ok("The user.", _ref("Me"))
            )
        },
        "/api/campaigns": {
            "get": _operation(
                "Campaigns of the caller's clients.",
                readers,
                _ok(
                    "Campaigns.",
                    {
                        "type": "object",
                        "properties": {"campaigns": {"type": "array", "items": _ref("Campaign")}},
                    },
                ),
            ),
            "post": _operation(
                "Create a campaign (as a draft).",
                managers,
                {**_ok("Created.", _ref("Campaign"), "201"), **_errors("422")},
                body=_ref("CampaignInput"),
                write=True,
            ),
        },
        "/api/campaigns/{campaign_id}": {
            "get": _operation(
                "One campaign.",
                readers,
                {**_ok("The campaign.", _ref("Campaign")), **_errors("404")},
                parameters=[campaign_id],
            ),
            "put": _operation(
                "Replace a campaign's settings, lists and name.",
                managers,
                {**_ok("Updated.", _ref("Campaign")), **_errors("404", "409", "422")},
                body=_ref("CampaignInput"),
                parameters=[campaign_id],
                write=True,
            ),
        },
        "/api/campaigns/{campaign_id}/{action}": {
            "post": _operation(
                "Start, pause or stop a campaign (draft → active ⇄ paused → stopped).",
                managers,
                {**_ok("The campaign in its new status.", _ref("Campaign")), **_errors("404", "409")},
                parameters=[
                    campaign_id,
                    {
                        "name": "action",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": ["start", "pause", "stop"]},
                    },
                ],
                write=True,
            )
        },
        "/api/lists": {
            "get": _operation(
                "Call lists.",
                managers,
                _ok(
                    "Lists.",
                    {"type": "object", "properties": {"lists": {"type": "array", "items": _ref("CallList")}}},
                ),
            )
        },
        "/api/imports": {
            "get": _operation(
                "The latest imports.",
                managers,
                _ok(
                    "Imports.",
                    {
                        "type": "object",
                        "properties": {"imports": {"type": "array", "items": _ref("ImportRun")}},
                    },
                ),
            )
        },
        "/api/imports/{run_id}": {
            "get": _operation(
                "One import with its rejected rows.",
                managers,
                {**_ok("The import.", _ref("ImportRun")), **_errors("404")},
                parameters=[_path_id("run_id")],
            )
        },
        "/api/attempts": {
            "get": _operation(
                "Search attempts, newest first (at most 200).",
                readers,
                {
                    **_ok(
                        "Attempts.",
                        {
                            "type": "object",
                            "properties": {"attempts": {"type": "array", "items": _ref("Attempt")}},
                        },
                    ),
                    **_errors("422"),
                },
                parameters=attempt_filters,
            )
        },
        "/api/attempts/{attempt_id}": {
            "get": _operation(
                "One attempt with its gate decision.",
                readers,
                {**_ok("The attempt.", _ref("Attempt")), **_errors("404")},
                parameters=[attempt_id],
            )
        },
        "/api/persons": {
            "get": _operation(
                "Find persons by person reference, account reference or phone number.",
                readers,
                {
                    **_ok(
                        "Persons.",
                        {
                            "type": "object",
                            "properties": {"persons": {"type": "array", "items": _ref("Person")}},
                        },
                    ),
                    **_errors("422"),
                },
                parameters=[_query("find", "Person reference, account reference or phone number.")],
            )
        },
        "/api/persons/{person_id}": {
            "get": _operation(
                "One person with debts and phones.",
                readers,
                {**_ok("The person.", _ref("Person")), **_errors("404")},
                parameters=[_path_id("person_id")],
            )
        },
        "/api/debts/{debt_id}": {
            "get": _operation(
                "One debt.",
                readers,
                {**_ok("The debt.", _ref("Debt")), **_errors("404")},
                parameters=[_path_id("debt_id")],
            )
        },
        "/api/compliance/check": {
            "post": _operation(
                "May this number be called now, for these debts, for this person? Stores nothing.",
                "compliance, manager",
                {**_ok("The verdict, allowed or not.", _ref("Verdict")), **_errors("422")},
                body=_ref("Case"),
                write=True,
            )
        },
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Arrears API",
            "version": "1",
            "description": (
                "Campaigns, call lists and imports, attempts with their gate decisions, persons and "
                "debts, and the compliance check. Amounts are integers in the currency's minor units; "
                "times are ISO 8601."
            ),
        },
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "arrears_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }
