"""The deployment examples name only settings that exist: unknown settings stop every process."""

from __future__ import annotations

import re
from pathlib import Path

from infra.settings import load_settings

DEPLOY = Path(__file__).parents[2] / "infra" / "deploy"
SETTING_NAME = re.compile(r"^\s*(ARREARS_[A-Z_]+)\s*[:=]", re.MULTILINE)


def test_the_example_settings_file_loads_as_a_scale_out_install() -> None:
    settings = load_settings(environ={}, config_file=DEPLOY / "arrears.toml")
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.uses_redis
    assert settings.log_format == "json"


def test_environment_settings_of_the_compose_file_and_units_are_known() -> None:
    sources = [DEPLOY / "compose.yaml", DEPLOY / "arrears.env.example", DEPLOY / "engine.env.example"]
    sources += sorted((DEPLOY / "systemd").glob("*.service"))
    named = {name for source in sources for name in SETTING_NAME.findall(source.read_text())}
    assert "ARREARS_SECRET_KEY" in named
    load_settings(environ=dict.fromkeys(named - {"ARREARS_CONFIG"}, "1"), config_file=DEPLOY / "arrears.toml")
