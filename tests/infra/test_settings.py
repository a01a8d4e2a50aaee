from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.settings import Settings, SettingsError, load_settings


def test_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    settings = load_settings(environ={}, config_file=None)
    assert settings.database_url == ""
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("var/arrears.db")
    assert not settings.uses_redis


def test_environment_overrides_file(tmp_path: Path) -> None:
    config = tmp_path / "arrears.toml"
    config.write_text('web_port = 9000\nredis_url = "redis://file"\n')
    settings = load_settings(environ={"ARREARS_REDIS_URL": "redis://env:6379/1"}, config_file=config)
    assert settings.web_port == 9000
    assert settings.redis_url == "redis://env:6379/1"
    assert settings.uses_redis


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ARREARS_DATABSE_URL": "x"}, "unknown environment setting ARREARS_DATABSE_URL"),
        ({"ARREARS_WEB_PORT": "eighty"}, "setting 'web_port': cannot read 'eighty'"),
        ({"ARREARS_CONFIG": "/nonexistent/arrears.toml"}, "does not exist"),
    ],
)
def test_bad_settings_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=environ)


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "arrears.toml"
    config.write_text("polcy = 'us-federal'\n")
    with pytest.raises(SettingsError, match="unknown setting 'polcy'"):
        load_settings(environ={}, config_file=config)


def test_secret_key_is_created_once(tmp_path: Path) -> None:
    settings = load_settings(environ={"ARREARS_DATA_DIR": str(tmp_path)})
    first = settings.effective_secret_key
    assert len(first) == 64
    assert settings.effective_secret_key == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


def test_processes_creating_the_secret_key_at_once_all_read_the_winners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process writes its key between our check and our write: ours is dropped."""
    settings = Settings(data_dir=tmp_path)
    real_link = os.link

    def another_process_first(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        Path(target).write_text("the-other-process-key")
        real_link(source, target)

    monkeypatch.setattr(os, "link", another_process_first)
    assert settings.effective_secret_key == "the-other-process-key"
    assert [path.name for path in tmp_path.iterdir()] == ["secret.key"]  # no candidate left behind
