"""`arrears sipnode`: a SIP node serving any number of engines over Redis.

Also the trunk options that `arrears sipnode` and `arrears engine run` share, so both build the
same `NodeConfig` from the same command line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dialer.sip.config import NodeConfig, Trunk

F = TypeVar("F", bound=Callable[..., Any])

# The environment variable holding this command's trunk password (not an ARREARS_ setting).
CREDENTIALS_ENV = "SIPNODE_TRUNK_PASSWORD"


def trunk_options(credentials_env: str) -> Callable[[F], F]:
    """The trunk and node options; the password is read from `credentials_env`, never an argument."""

    def decorate(command: F) -> F:
        options = [
            click.option(
                "--trunk",
                "trunks",
                multiple=True,
                required=True,
                help="NAME=URI_TEMPLATE, e.g. sim=sip:{number}@127.0.0.1:5080 (repeat for several).",
            ),
            click.option(
                "--caller-id", default="sip:+15550100@127.0.0.1", show_default=True, help="The From URI."
            ),
            click.option(
                "--max-cps", default=10.0, show_default=True, help="Call setups per second per trunk."
            ),
            click.option(
                "--asserted-identity", default="", help="P-Asserted-Identity header value (none if empty)."
            ),
            click.option(
                "--username",
                default="",
                help=f"Digest user name of the trunk; the password is read from ${credentials_env}.",
            ),
            click.option("--realm", default="*", show_default=True, help="Digest realm of the credentials."),
            click.option(
                "--bind-host",
                default="127.0.0.1",
                show_default=True,
                help="Address of the SIP and RTP sockets.",
            ),
            click.option(
                "--capacity", default=24, show_default=True, help="Simultaneous SIP legs of this node."
            ),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def parse_trunk(raw: str) -> tuple[str, str]:
    name, _, uri_template = raw.partition("=")
    if not name or not uri_template:
        raise click.BadParameter(f"{raw!r} is not NAME=URI_TEMPLATE", param_hint="--trunk")
    return name, uri_template


def node_config(
    trunks: tuple[str, ...],
    *,
    caller_id: str,
    max_cps: float,
    asserted_identity: str,
    username: str,
    realm: str,
    bind_host: str,
    capacity: int,
    credentials_env: str,
) -> NodeConfig:
    """The node configuration of the trunk options, with a clear error naming the bad option."""
    password = os.environ.get(credentials_env, "")
    if username and not password:
        raise click.BadParameter(
            f"--username needs the password in ${credentials_env}", param_hint="--username"
        )
    built: list[Trunk] = []
    for raw in trunks:
        name, uri_template = parse_trunk(raw)
        try:
            built.append(
                Trunk(
                    name,
                    uri_template,
                    caller_id,
                    asserted_identity=asserted_identity,
                    username=username,
                    password=password,
                    realm=realm,
                    max_cps=max_cps,
                )
            )
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--trunk/--max-cps") from error
    if not bind_host:
        raise click.BadParameter("an address is needed", param_hint="--bind-host")
    try:
        return NodeConfig(trunks=tuple(built), capacity=capacity, bind_host=bind_host, ring_timeout_s=60.0)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--trunk/--capacity") from error


def _emit(event: dict[str, Any]) -> None:
    click.echo(json.dumps(event))


async def _serve(  # noqa: PLR0917 (the command's options)
    config: NodeConfig, redis_url: str, name: str, prefix: str, ttl: float, drain_timeout: float
) -> None:
    from dialer.sip.node import SipNode
    from dialer.sip.remote_server import NameTakenError, SipNodeServer
    from infra.redis_client import waiting_client

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    node = SipNode(config)
    await node.start()
    client = waiting_client(redis_url)
    server = SipNodeServer(
        node, client, name=name, prefix=prefix, heartbeat_ttl_s=ttl, drain_timeout_s=drain_timeout
    )
    try:
        try:
            await server.start()
        except NameTakenError as error:
            raise click.ClickException(str(error)) from error
        _emit({"event": "started", "name": name, "boot": server.boot, "capacity": server.view().capacity})
        await server.serve(stop)
    finally:
        await node.stop()
        await client.aclose()
    _emit({"event": "stopped", "name": name})


@click.command("sipnode")
@click.option("--name", required=True, help="This node's name, unique among the live nodes.")
@trunk_options(CREDENTIALS_ENV)
@click.option(
    "--heartbeat-ttl", default=5.0, show_default=True, help="Engines drop this node's calls after, s."
)
@click.option(
    "--drain-timeout",
    default=180.0,
    show_default=True,
    help="At SIGTERM, wait this long for calls in flight, s.",
)
@click.option("--prefix", default="arrears", show_default=True, help="Namespace of Redis keys.")
def sipnode(  # noqa: PLR0917 (one parameter per command-line option)
    name: str,
    trunks: tuple[str, ...],
    caller_id: str,
    max_cps: float,
    asserted_identity: str,
    username: str,
    realm: str,
    bind_host: str,
    capacity: int,
    heartbeat_ttl: float,
    drain_timeout: float,
    prefix: str,
) -> None:
    """A SIP node (pool of pjsua2 workers) that engines dial through over Redis.

    Prints one JSON line when started and when stopped. Engines use it with
    `arrears engine run --sip-nodes redis`.
    """
    from infra.settings import get_settings

    logging.basicConfig(level=logging.WARNING)
    config = node_config(
        trunks,
        caller_id=caller_id,
        max_cps=max_cps,
        asserted_identity=asserted_identity,
        username=username,
        realm=realm,
        bind_host=bind_host,
        capacity=capacity,
        credentials_env=CREDENTIALS_ENV,
    )
    if heartbeat_ttl <= 0:
        raise click.BadParameter("must be positive", param_hint="--heartbeat-ttl")
    if drain_timeout < 0:
        raise click.BadParameter("must not be negative", param_hint="--drain-timeout")
    settings = get_settings()
    if not settings.uses_redis:
        raise click.UsageError("a sip node serves engines through Redis: set redis_url")
    asyncio.run(_serve(config, settings.redis_url, name, prefix, heartbeat_ttl, drain_timeout))
