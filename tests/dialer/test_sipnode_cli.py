"""The trunk options shared by `arrears sipnode` and `arrears engine run`: fields and errors."""

from __future__ import annotations

import os

import click
import pytest
from click.testing import CliRunner

from campaigns.engine_cli import run
from dialer.sip.config import NodeConfig
from dialer.sipnode_cli import node_config, sipnode
from infra.settings import ENV_PREFIX, get_settings


def build(trunks: tuple[str, ...], username: str) -> NodeConfig:
    return node_config(
        trunks,
        caller_id="sip:+15550100@127.0.0.1",
        max_cps=5.0,
        asserted_identity="<sip:+15550100@carrier.example>",
        username=username,
        realm="carrier.example",
        bind_host="10.0.0.5",
        capacity=8,
        credentials_env="TEST_TRUNK_PASSWORD",
    )


def test_every_trunk_option_reaches_the_node_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_TRUNK_PASSWORD", "s3cret")
    config = build(("sim=sip:{number}@127.0.0.1:5080",), "dialer")
    [trunk] = config.trunks
    assert (trunk.name, trunk.uri_template, trunk.max_cps) == ("sim", "sip:{number}@127.0.0.1:5080", 5.0)
    assert trunk.asserted_identity == "<sip:+15550100@carrier.example>"
    assert (trunk.username, trunk.password, trunk.realm) == ("dialer", "s3cret", "carrier.example")
    assert (config.bind_host, config.capacity) == ("10.0.0.5", 8)


@pytest.mark.parametrize(
    ("trunks", "username", "names"),
    [
        (("sim",), "", "--trunk"),
        (("sim=sip:127.0.0.1",), "", "--trunk"),  # no {number}
        (("sim=sip:{number}@h", "sim=sip:{number}@h"), "", "--trunk"),  # names must be unique
        (("sim=sip:{number}@h",), "dialer", "--username"),  # no password in the environment
    ],
)
def test_bad_options_name_the_option(
    monkeypatch: pytest.MonkeyPatch, trunks: tuple[str, ...], username: str, names: str
) -> None:
    monkeypatch.delenv("TEST_TRUNK_PASSWORD", raising=False)
    with pytest.raises(click.BadParameter) as raised:
        build(trunks, username)
    assert names in raised.value.format_message()


def test_engine_with_remote_nodes_takes_trunk_names_only() -> None:
    result = CliRunner().invoke(run, ["--sip-nodes", "redis", "--trunk", "sim=sip:{number}@h"])
    assert result.exit_code == 2
    assert "--trunk" in result.output
    assert "NAME only" in result.output


def test_options_come_from_their_environment_variables() -> None:
    """As the systemd units pass them: ENGINE_<OPTION>, an empty one leaving the default."""
    env = {"ENGINE_SIP_NODES": "redis", "ENGINE_TRUNK": "sim=sip:{number}@h", "ENGINE_CAPACITY": ""}
    result = CliRunner().invoke(run, [], env=env)
    assert result.exit_code == 2
    assert "NAME only" in result.output


def test_a_metrics_port_needs_the_metrics_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv(f"{ENV_PREFIX}REDIS_URL", "redis://127.0.0.1:6379/0")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            sipnode, ["--name", "n1", "--trunk", "sim=sip:{number}@h", "--metrics-port", "9464"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "--metrics-port" in result.output
    assert "metrics_token" in result.output
