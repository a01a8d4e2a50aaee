"""One typed, frozen settings object.

Sources, later ones winning: built-in defaults (the embedded single-machine setup), an optional
TOML file (`ARREARS_CONFIG`, else `./arrears.toml` when present), then `ARREARS_*` environment
variables. Unknown keys are rejected so that a misspelt setting cannot silently fall back to a
default.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "ARREARS_"


class SettingsError(ValueError):
    """A setting is unknown or has a value of the wrong kind."""


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file under data_dir
    redis_url: str = ""  # empty: in-process event bus
    secret_key: str = ""  # empty: generated once and kept in data_dir
    policy: str = "us-federal"
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    log_level: str = "info"
    log_format: str = "text"  # text | json (one JSON object a line, for log collectors)
    metrics_token: str = ""  # empty: no /metrics; else the bearer token a scraper must send

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'arrears.db').resolve()}"

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)

    @property
    def effective_secret_key(self) -> str:
        """The installation secret (session signing, identifier peppering), created on first use."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # Written whole under a temporary name, then linked into place only if no process got
            # there first: processes starting at once all end up reading the one key that won.
            candidate = self.data_dir / f".secret.key.{os.getpid()}.{secrets.token_hex(4)}"
            candidate.write_text(secrets.token_hex(32))
            candidate.chmod(0o600)
            with contextlib.suppress(FileExistsError):
                os.link(candidate, path)
            candidate.unlink()
        return path.read_text().strip()


_FIELDS = {field.name: field for field in dataclasses.fields(Settings)}


def _coerce(name: str, raw: Any) -> Any:
    kind = _FIELDS[name].type
    try:
        if kind == "Path":
            return Path(str(raw))
        if kind == "int":
            return int(raw)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[
                str(raw).lower()
            ]
    except (KeyError, ValueError) as error:
        raise SettingsError(f"setting {name!r}: cannot read {raw!r} as {kind}") from error
    return str(raw)


def load_settings(environ: Mapping[str, str] | None = None, config_file: Path | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or Path(environ.get(f"{ENV_PREFIX}CONFIG", "arrears.toml"))
    if path.exists():
        with path.open("rb") as handle:
            for key, raw in tomllib.load(handle).items():
                if key not in _FIELDS:
                    raise SettingsError(f"{path}: unknown setting {key!r}")
                values[key] = _coerce(key, raw)
    elif config_file is not None or f"{ENV_PREFIX}CONFIG" in environ:
        raise SettingsError(f"settings file {path} does not exist")
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key == f"{ENV_PREFIX}CONFIG":
            continue
        name = key.removeprefix(ENV_PREFIX).lower()
        if name not in _FIELDS:
            raise SettingsError(f"unknown environment setting {key}")
        values[name] = _coerce(name, raw)
    return Settings(**values)


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
