"""Disposition codes as a manager maintains them: label, hotkey, active, required fields.

The flags that drive Reg F counting and holds (attempt, conversation, right-party contact,
terminal, hold) belong to compliance and are shown read-only here. Every change is audited with
its before and after values.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from compliance import audit
from compliance.models import DispositionCode
from workbench.manager_http import form_text, form_texts, page
from workbench.services import services_of
from workbench.viewer import Viewer

# What the agent may be asked to fill in before the code is accepted.
REQUIRED_FIELD_CHOICES = ("note", "promise", "callback")
HOTKEY = re.compile(r"[0-9A-Za-z]")


def _editable(code: DispositionCode) -> dict[str, Any]:
    return {
        "label": code.label,
        "hotkey": code.hotkey,
        "active": code.active,
        "required_fields": sorted(code.required_fields or []),
    }


def update_disposition(
    db: Session, viewer: Viewer, code_id: int, *, label: str, hotkey: str, active: bool, required: list[str]
) -> tuple[DispositionCode | None, dict[str, str]]:
    code = db.get(DispositionCode, code_id)
    if code is None:
        return None, {}
    errors: dict[str, str] = {}
    if not label:
        errors["label"] = "give the code a label"
    elif len(label) > 100:
        errors["label"] = "at most 100 characters"
    if hotkey and not HOTKEY.fullmatch(hotkey):
        errors["hotkey"] = "one letter or digit, or empty for none"
    elif hotkey:
        clash = db.scalar(
            sa.select(DispositionCode.code).where(
                sa.func.lower(DispositionCode.hotkey) == hotkey.lower(),
                DispositionCode.active,
                DispositionCode.id != code_id,
            )
        )
        if clash is not None and active:
            errors["hotkey"] = f"already used by {clash}"
    allowed = set(REQUIRED_FIELD_CHOICES) | set(code.required_fields or [])
    unknown = [field for field in required if field not in allowed]
    if unknown:
        errors["required_fields"] = f"unknown field {unknown[0]!r}"
    if errors:
        return code, errors
    before = _editable(code)
    code.label, code.hotkey, code.active = label, hotkey or None, active
    code.required_fields = sorted(set(required))
    after = _editable(code)
    if before != after:
        audit.record(
            db,
            actor=viewer.actor,
            action="disposition.update",
            entity_type="disposition_code",
            entity_id=code.code,
            payload={"before": before, "after": after},
        )
    return code, {}


def _codes(db: Session) -> list[DispositionCode]:
    return list(
        db.scalars(sa.select(DispositionCode).order_by(DispositionCode.sort_order, DispositionCode.code))
    )


def _choices(codes: list[DispositionCode]) -> dict[int, list[str]]:
    return {code.id: sorted(set(REQUIRED_FIELD_CHOICES) | set(code.required_fields or [])) for code in codes}


async def dispositions_page(request: Request, viewer: Viewer) -> Response:
    codes = await services_of(request).run_db(_codes)
    return page(
        request,
        viewer,
        "manager/dispositions.html",
        codes=codes,
        choices=_choices(codes),
        errors={},
        edited=None,
    )


async def update_disposition_action(request: Request, viewer: Viewer) -> Response:
    form = await request.form()
    code_id: int = request.path_params["code_id"]

    def save(db: Session) -> tuple[DispositionCode | None, dict[str, str], list[DispositionCode]]:
        code, errors = update_disposition(
            db,
            viewer,
            code_id,
            label=form_text(form, "label", limit=200),
            hotkey=form_text(form, "hotkey", limit=8),
            active=form_text(form, "active") == "yes",
            required=form_texts(form, "required_fields"),
        )
        return code, errors, _codes(db)

    code, errors, codes = await services_of(request).run_db(save)
    if code is None:
        return page(request, viewer, "refused.html", status_code=404, message="No such disposition code.")
    notice = "" if errors else f"{code.code} saved."
    return page(
        request,
        viewer,
        "manager/dispositions.html",
        status_code=422 if errors else 200,
        codes=codes,
        choices=_choices(codes),
        errors=errors,
        edited=code.id,
        notice=notice,
    )
