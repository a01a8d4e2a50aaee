"""HTML rendering: one Jinja2 environment that escapes every value, for pages and fragments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from workbench.agent_state import PAUSE_LABELS, PauseCode

TEMPLATES_DIR = Path(__file__).parent / "templates"


def _clock_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%H:%M:%S UTC")


def _pause_label(code: str | None) -> str:
    return PAUSE_LABELS[PauseCode(code)] if code else ""


class Pages:
    def __init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,  # every template, whatever its name
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["clock_time"] = _clock_time
        self.env.filters["pause_label"] = _pause_label

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)

    def page(self, request: Request, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("viewer", None)
        context.setdefault("csrf_token", context["viewer"].session.csrf_token if context["viewer"] else "")
        return HTMLResponse(self.render(name, request=request, **context), status_code=status_code)
