"""Log records carry the ids bound around the code that logs them, as JSON lines or text."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from infra.logging import ContextFilter, JsonFormatter, TextFormatter, bind_log_context, logging_config
from infra.settings import Settings, SettingsError


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("arrears.test-logging")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_bound_ids_and_bindings_nest(
    logged: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = logged
    logger.info("before")
    with bind_log_context(campaign_id=7, attempt_id="a-1"):
        logger.info("placing %s", "+13125550142")
        with bind_log_context(call_id="c-1", agent_id=42, attempt_id=None):
            logger.warning("bridged")
        logger.info("after the call")
    logger.info("outside")

    before, placing, bridged, after, outside = lines(stream)
    ids = ("call_id", "attempt_id", "agent_id", "campaign_id")
    assert [{key: line[key] for key in ids if key in line} for line in lines(stream)] == [
        {},
        {"attempt_id": "a-1", "campaign_id": 7},
        {"call_id": "c-1", "attempt_id": "a-1", "agent_id": 42, "campaign_id": 7},
        {"attempt_id": "a-1", "campaign_id": 7},
        {},
    ]
    assert placing["message"] == "placing +13125550142"
    assert placing["logger"] == "arrears.test-logging"
    assert (placing["level"], bridged["level"]) == ("info", "warning")
    assert placing["time"].endswith("+00:00")
    assert before["message"] == "before"
    assert after["message"] == "after the call"
    assert outside["message"] == "outside"


def test_tasks_started_inside_a_binding_keep_it(
    logged: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = logged

    async def call() -> None:
        await asyncio.sleep(0)
        logger.info("in the call's task")

    async def main() -> None:
        with bind_log_context(attempt_id="a-2"):
            task = asyncio.get_running_loop().create_task(call())
        logger.info("the engine goes on")
        await task

    asyncio.run(main())
    engine, in_task = lines(stream)
    assert "attempt_id" not in engine
    assert in_task["attempt_id"] == "a-2"


def test_exceptions_are_kept_in_the_json_line(
    logged: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = logged
    try:
        raise RuntimeError("worker lost")
    except RuntimeError:
        logger.exception("call failed")
    [line] = lines(stream)
    assert line["level"] == "error"
    assert "RuntimeError: worker lost" in line["exception"]


def test_text_lines_end_with_the_bound_ids(
    logged: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, handler = logged
    handler.setFormatter(TextFormatter())
    with bind_log_context(call_id="c-3", agent_id=5):
        logger.info("ringing")
    logger.info("idle")
    ringing, idle = stream.getvalue().splitlines()
    assert ringing.endswith("INFO arrears.test-logging: ringing [call_id=c-3 agent_id=5]")
    assert idle.endswith("INFO arrears.test-logging: idle")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (Settings(log_format="yaml"), "setting 'log_format': 'yaml' is not one of text, json"),
        (Settings(log_level="loud"), "setting 'log_level': 'loud' is not a logging level"),
    ],
)
def test_bad_logging_settings_are_named(settings: Settings, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        logging_config(settings)


def test_the_json_setting_turns_every_logger_of_a_process_into_json_lines() -> None:
    program = (
        "import logging, logging.config\n"
        "from infra.logging import bind_log_context, logging_config\n"
        "from infra.settings import load_settings\n"
        "logging.config.dictConfig(logging_config(load_settings()))\n"
        "with bind_log_context(campaign_id=3):\n"
        "    logging.getLogger('campaigns.engine.loop').warning('paused')\n"
        "logging.getLogger('uvicorn.error').debug('hidden below the level')\n"
    )
    environment = {"ARREARS_LOG_FORMAT": "json", "ARREARS_LOG_LEVEL": "info", "ARREARS_CONFIG": "/dev/null"}
    run = subprocess.run(
        [sys.executable, "-c", program],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    [line] = [json.loads(text) for text in run.stderr.splitlines()]
    assert line["message"] == "paused"
    assert line["logger"] == "campaigns.engine.loop"
    assert line["campaign_id"] == 3
