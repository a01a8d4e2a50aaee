"""`arrears sipnode`: a SIP node serving any number of engines over Redis.

Also the trunk options that `arrears sipnode` and `arrears engine run` share, so both build the
same `NodeConfig` from the same command line. Each option can also come from an environment
variable named after it (`SIPNODE_TRUNK`, `ENGINE_CAPACITY`, ...), as the systemd units and
containers pass them; an empty variable leaves the default.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import click

from dialer.sip.config import NodeConfig, Trunk
from infra.logging import configure_logging
from infra.settings import Settings, get_settings

F = TypeVar("F", bound=Callable[..., Any])

# Prefix of this command's option variables (not ARREARS_, which is reserved for settings).
ENV_PREFIX = "SIPNODE"


def credentials_env(env_prefix: str) -> str:
    """The variable holding the trunk password: never a command-line argument, which `ps` shows."""
    return f"{env_prefix}_TRUNK_PASSWORD"


def option_env(env_prefix: str, option: str) -> str:
    """The environment variable of an option: `--max-cps` of `ENGINE` is ENGINE_MAX_CPS."""
    return f"{env_prefix}_{option.lstrip('-').replace('-', '_').upper()}"


def metrics_options(env_prefix: str) -> Callable[[F], F]:
    """Where this process serves its own /metrics (pacer decisions, SIP worker health)."""

    def decorate(command: F) -> F:
        command = click.option(
            "--metrics-host",
            default="127.0.0.1",
            show_default=True,
            envvar=option_env(env_prefix, "--metrics-host"),
            help="Address of the /metrics listener.",
        )(command)
        return click.option(
            "--metrics-port",
            type=click.IntRange(0, 65535),
            default=0,
            show_default=True,
            envvar=option_env(env_prefix, "--metrics-port"),
            help="Serve /metrics here, for the bearer of the metrics_token setting (0: not served).",
        )(command)

    return decorate


@contextlib.asynccontextmanager
async def process_metrics(host: str, port: int, token: str) -> AsyncIterator[None]:
    """Serve this process's /metrics while the block runs (port 0: not at all)."""
    if not port:
        yield
        return
    from infra.metrics_server import serve_process_metrics

    server = asyncio.get_running_loop().create_task(serve_process_metrics(host, port, token))
    try:
        yield
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


def checked_metrics_port(port: int, token: str) -> int:
    if port and not token:
        raise click.BadParameter(
            "needs the metrics_token setting (ARREARS_METRICS_TOKEN): scrapers must send it",
            param_hint="--metrics-port",
        )
    return port


@dataclasses.dataclass(frozen=True)
class TrunkOptions:
    """The trunk and node options of a command, as `trunk_options` hands them to it."""

    trunks: tuple[str, ...]
    caller_id: str
    max_cps: float
    asserted_identity: str
    username: str
    realm: str
    bind_host: str
    capacity: int

    def node_config(self, env_prefix: str) -> NodeConfig:
        return node_config(
            self.trunks,
            caller_id=self.caller_id,
            max_cps=self.max_cps,
            asserted_identity=self.asserted_identity,
            username=self.username,
            realm=self.realm,
            bind_host=self.bind_host,
            capacity=self.capacity,
            credentials_env=credentials_env(env_prefix),
        )


_TRUNK_FIELDS = tuple(field.name for field in dataclasses.fields(TrunkOptions))


def trunk_options(env_prefix: str) -> Callable[[F], F]:
    """The trunk and node options, handed to the command as one `trunk: TrunkOptions`; the
    password is read from `credentials_env`, never an argument."""

    def option(name: str, **kwargs: Any) -> Callable[[F], F]:
        return click.option(name, envvar=option_env(env_prefix, name), show_envvar=True, **kwargs)

    def decorate(command: F) -> F:
        options = [
            click.option(
                "--trunk",
                "trunks",
                multiple=True,
                required=True,
                envvar=option_env(env_prefix, "--trunk"),
                show_envvar=True,
                help="NAME=URI_TEMPLATE, e.g. sim=sip:{number}@127.0.0.1:5080 (repeat for several; "
                "in the variable, separated by spaces).",
            ),
            option("--caller-id", default="sip:+15550100@127.0.0.1", show_default=True, help="The From URI."),
            option("--max-cps", default=10.0, show_default=True, help="Call setups per second per trunk."),
            option(
                "--asserted-identity", default="", help="P-Asserted-Identity header value (none if empty)."
            ),
            option(
                "--username",
                default="",
                help=f"Digest user name; the password is read from ${credentials_env(env_prefix)}.",
            ),
            option("--realm", default="*", show_default=True, help="Digest realm of the credentials."),
            option(
                "--bind-host",
                default="127.0.0.1",
                show_default=True,
                help="Address of the SIP and RTP sockets.",
            ),
            option("--capacity", default=24, show_default=True, help="Simultaneous SIP legs of this node."),
        ]

        @functools.wraps(command)
        def with_trunk(**kwargs: Any) -> Any:
            trunk = TrunkOptions(**{name: kwargs.pop(name) for name in _TRUNK_FIELDS})
            return command(trunk=trunk, **kwargs)

        decorated: Callable[..., Any] = with_trunk
        for add in reversed(options):
            decorated = add(decorated)
        return cast(F, decorated)

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


@dataclasses.dataclass(frozen=True)
class Serving:
    name: str
    prefix: str
    heartbeat_ttl_s: float
    drain_timeout_s: float
    metrics_host: str
    metrics_port: int


async def _serve(config: NodeConfig, settings: Settings, serving: Serving) -> None:
    from dialer.sip.node import SipNode
    from dialer.sip.remote_server import NameTakenError, SipNodeServer
    from infra.redis_client import waiting_client

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    node = SipNode(config)
    await node.start()
    client = waiting_client(settings.redis_url)
    name = serving.name
    server = SipNodeServer(
        node,
        client,
        name=name,
        prefix=serving.prefix,
        heartbeat_ttl_s=serving.heartbeat_ttl_s,
        drain_timeout_s=serving.drain_timeout_s,
    )
    try:
        try:
            await server.start()
        except NameTakenError as error:
            raise click.ClickException(str(error)) from error
        async with process_metrics(serving.metrics_host, serving.metrics_port, settings.metrics_token):
            _emit({"event": "started", "name": name, "boot": server.boot, "capacity": server.view().capacity})
            await server.serve(stop)
    finally:
        await node.stop()
        await client.aclose()
    _emit({"event": "stopped", "name": name})


@click.command("sipnode")
@click.option(
    "--name",
    required=True,
    envvar=option_env(ENV_PREFIX, "--name"),
    show_envvar=True,
    help="This node's name, unique among the live nodes.",
)
@trunk_options(ENV_PREFIX)
@metrics_options(ENV_PREFIX)
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
    trunk: TrunkOptions,
    heartbeat_ttl: float,
    drain_timeout: float,
    prefix: str,
    metrics_host: str,
    metrics_port: int,
) -> None:
    """A SIP node (pool of pjsua2 workers) that engines dial through over Redis.

    Prints one JSON line when started and when stopped. Engines use it with
    `arrears engine run --sip-nodes redis`.
    """
    configure_logging(get_settings())
    config = trunk.node_config(ENV_PREFIX)
    if heartbeat_ttl <= 0:
        raise click.BadParameter("must be positive", param_hint="--heartbeat-ttl")
    if drain_timeout < 0:
        raise click.BadParameter("must not be negative", param_hint="--drain-timeout")
    settings = get_settings()
    if not settings.uses_redis:
        raise click.UsageError("a sip node serves engines through Redis: set redis_url")
    serving = Serving(
        name,
        prefix,
        heartbeat_ttl,
        drain_timeout,
        metrics_host,
        checked_metrics_port(metrics_port, settings.metrics_token),
    )
    asyncio.run(_serve(config, settings, serving))
