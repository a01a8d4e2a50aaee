"""Log records that carry the ids of the call, attempt, agent and campaign they are about.

`bind_log_context(...)` binds ids for the code run inside it; asyncio tasks and timers started
there copy the binding, so one bind where a call gets its attempt id covers everything that call
later logs. `logging_config(settings)` formats records as text (the embedded default) or as one
JSON object a line (`log_format = "json"`, for the log collectors of a scale-out install).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import logging.config
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from infra.settings import Settings, SettingsError

CONTEXT_FIELDS = ("call_id", "attempt_id", "agent_id", "campaign_id")
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

LogIds = Mapping[str, str | int]

_bound: contextvars.ContextVar[LogIds] = contextvars.ContextVar(
    "arrears_log_context", default=MappingProxyType({})
)


@contextlib.contextmanager
def bind_log_context(
    *,
    call_id: str | None = None,
    attempt_id: str | None = None,
    agent_id: int | None = None,
    campaign_id: int | None = None,
) -> Iterator[None]:
    """Add these ids (those given) to every record logged inside; outer bindings stay."""
    given = {"call_id": call_id, "attempt_id": attempt_id, "agent_id": agent_id, "campaign_id": campaign_id}
    added = {name: value for name, value in given.items() if value is not None}
    token = _bound.set(MappingProxyType({**_bound.get(), **added}))
    try:
        yield
    finally:
        _bound.reset(token)


def bound_log_context() -> LogIds:
    return _bound.get()


class ContextFilter(logging.Filter):
    """Stamps the bound ids on each record when it is logged, in the logging caller's context
    (a handler that formats later, on another thread, still sees them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "log_context"):
            record.log_context = dict(_bound.get())
        return True


def _ids(record: logging.LogRecord) -> dict[str, str | int]:
    ids: Mapping[str, str | int] = getattr(record, "log_context", None) or _bound.get()
    return {name: ids[name] for name in CONTEXT_FIELDS if name in ids}


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = _ids(record)
        if not ids:
            return text
        first, newline, rest = text.partition("\n")
        tags = " ".join(f"{name}={value}" for name, value in ids.items())
        return f"{first} [{tags}]{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, the bound ids, and the
    exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_ids(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` schema (also accepted as uvicorn's `log_config`): every
    record goes to standard error through the root logger, in the configured format."""
    if settings.log_format not in LOG_FORMATS:
        raise SettingsError(
            f"setting 'log_format': {settings.log_format!r} is not one of {', '.join(LOG_FORMATS)}"
        )
    level = settings.log_level.upper()
    if level not in logging.getLevelNamesMapping():
        raise SettingsError(f"setting 'log_level': {settings.log_level!r} is not a logging level")
    formatter = JsonFormatter if settings.log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"main": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "main",
                "filters": ["context"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }


def configure_logging(settings: Settings) -> None:
    """Send this process's records to standard error in the configured format (the engine and
    SIP node processes; the web process hands `logging_config` to uvicorn instead)."""
    logging.config.dictConfig(logging_config(settings))
