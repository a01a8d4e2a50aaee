"""The agent workspace's routes and the bus events it renders, registered by `workbench.app`."""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import BaseRoute

from campaigns.events import SCREEN_POP
from infra.models import Role
from workbench import agent_callbacks, agent_workspace, dispositions, promises
from workbench.security import route
from workbench.services import Services
from workbench.ws import EventRenderer

AGENTS = frozenset({Role.AGENT})
CALL = "/agent/calls/{attempt_uuid:str}"


def agent_routes() -> list[BaseRoute]:
    post = ("POST",)
    return [
        route("/agent/call", agent_workspace.current_call, roles=AGENTS, name="agent_current_call"),
        route(CALL, agent_workspace.open_call, roles=AGENTS, name="agent_call"),
        route(
            f"{CALL}/verify", agent_workspace.verify_party, roles=AGENTS, methods=post, name="agent_verify"
        ),
        route(
            f"{CALL}/disclose",
            agent_workspace.give_disclosure,
            roles=AGENTS,
            methods=post,
            name="agent_disclose",
        ),
        route(f"{CALL}/notes", agent_workspace.add_note, roles=AGENTS, methods=post, name="agent_note"),
        route(
            f"{CALL}/promise-preview",
            promises.preview,
            roles=AGENTS,
            methods=post,
            name="agent_promise_preview",
        ),
        route(f"{CALL}/promises", promises.save, roles=AGENTS, methods=post, name="agent_promise"),
        route(
            f"{CALL}/callbacks", agent_callbacks.schedule, roles=AGENTS, methods=post, name="agent_callback"
        ),
        route(
            f"{CALL}/disposition", dispositions.submit, roles=AGENTS, methods=post, name="agent_disposition"
        ),
    ]


def agent_event_renderers(get_services: Callable[[], Services]) -> dict[str, EventRenderer]:
    return {SCREEN_POP: agent_workspace.screen_pop_renderer(get_services)}
