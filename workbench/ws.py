"""The WebSocket hub: one socket per browser tab, carrying htmx out-of-band fragments.

Each socket subscribes on the event bus to exactly the channels its holder may see: an agent's
own channel `agent:<id>`, `wallboard` for managers, and its session's channel for sign-outs. The
bus fans every message out to all web workers, so a change made through one worker reaches tabs
held by any other. Events on the bus are data (the engine and other workers publish them without
any HTML); the hub renders them into fragments for each socket, so what a socket receives depends
on who holds it.

Every message from the browser is checked again: the session must still be alive, the user
still active with a role allowed to send that action, and the CSRF token must match. Commands
always act on the socket's own agent; a message naming another agent is refused.

Reconnecting. htmx's WebSocket extension reopens a socket that dropped abnormally (its worker
killed or restarted, a network blip) after a jittered delay, capped by `static/reconnect.js`, and
any worker accepts it: sessions live in the live store (Redis when scaled out). On every
(re)connect the hub pushes the present state from the live store. An agent's tab also says which
call its workspace shows (`?showing=`, added by reconnect.js); when that is not the agent's current
call (a screen pop published while the tab's worker was down, a call ended meanwhile) the hub
pushes a loader that fetches the current call, as a reload would. A tab already showing the right
call is left alone, so notes being typed survive a blip.

Disconnecting. A Ready agent is paused with the system pause LAGGED as soon as their socket closes
on a running worker (`connection_lost`), or, when the worker died and cannot tell, once their
presence lapses (`workbench.agents`, LAG_AFTER_SECONDS): the engine stops counting them. A
reconnect never makes an agent Ready again. As with other dialers' lag pause, the agent presses
Ready once back, since only they know they are at the desk with their headset on. A worker back
within that delay finds its agents as they were, and their tabs show any call routed to them
meanwhile (its audio reached their phone, which does not depend on the web tier).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from infra.bus.base import Bus, Message
from infra.models import Role
from workbench.agent_state import (
    AGENT_PAUSE_CODES,
    Activity,
    ConnectionLost,
    GoReady,
    Pause,
    PauseCode,
    Refused,
)
from workbench.agents import (
    PRESENCE_RENEW_SECONDS,
    WALLBOARD_CHANNEL,
    AgentRecord,
    AgentStates,
    agent_channel,
)
from workbench.manager_wallboard import Wallboard
from workbench.pages import Pages
from workbench.security import CSRF_HEADER, POLICY_VIOLATION, tokens_match
from workbench.viewer import Viewer

MONITOR_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
# Events pushed to a tab re-check its holder at most this often (messages from it, every time):
# a user disabled or moved to other clients stops receiving within this delay.
RECHECK_SECONDS = 5.0
# Clean-ups of closed agent sockets running at once. When every socket closes together (a worker
# restarting, a network blip), the rest wait their turn rather than each taking a Redis connection
# of the live store and of the bus at the same moment, beyond what their pools hold.
CONCURRENT_CLEANUPS = 32
# Takes the place of an agent's call workspace that shows the wrong call, and loads the right one.
WORKSPACE_LOADER = (
    '<section id="call-workspace" class="call-workspace card" aria-labelledby="workspace-heading" '
    'hx-swap-oob="true" hx-get="/agent/call" hx-trigger="load" hx-swap="outerHTML">'
    '<h1 id="workspace-heading">Workbench</h1><p>Loading your current call…</p></section>'
)

log = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class Socket:
    websocket: WebSocket
    viewer: Viewer
    # The call the tab's workspace showed when it connected ("" none), None when it did not say.
    showing: str | None = None
    checked_at: float = dataclasses.field(default_factory=time.monotonic)
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)

    async def send(self, html: str) -> None:
        async with self.lock:
            await self.websocket.send_text(html)

    async def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            async with self.lock:
                await self.websocket.close(code=POLICY_VIOLATION)


class MessageRefusedError(Exception):
    pass


Handler = Callable[["Hub", Socket, dict[str, Any]], Awaitable[None]]
# Renders one kind of bus event (by its "type") for one tab's holder; "" sends nothing.
EventRenderer = Callable[[Viewer, dict[str, Any]], Awaitable[str]]


@dataclasses.dataclass(frozen=True)
class MessageHandler:
    roles: frozenset[Role]
    handle: Handler


def _own_agent(socket: Socket, message: dict[str, Any]) -> None:
    named = message.get("agent_id")
    if named is not None and str(named) != str(socket.viewer.user_id):
        raise MessageRefusedError("You can change only your own state.")


async def _go_ready(hub: Hub, socket: Socket, message: dict[str, Any]) -> None:
    _own_agent(socket, message)
    await hub.apply(socket, GoReady())


async def _pause(hub: Hub, socket: Socket, message: dict[str, Any]) -> None:
    _own_agent(socket, message)
    try:
        code = PauseCode(str(message.get("pause_code", "")))
    except ValueError:
        raise MessageRefusedError("Choose a pause reason.") from None
    await hub.apply(socket, Pause(code))


# Every action a browser may send, with the roles allowed to send it.
MESSAGE_HANDLERS: dict[str, MessageHandler] = {
    "ready": MessageHandler(frozenset({Role.AGENT}), _go_ready),
    "pause": MessageHandler(frozenset({Role.AGENT}), _pause),
}


def workspace_is_stale(record: AgentRecord | None, showing: str | None) -> bool:
    """Whether a (re)connected agent tab must load its workspace again: it shows a call (or none)
    other than the agent's current one. A Ready agent's state bar brings a loader of its own."""
    if showing is None or (record is not None and record.status.activity is Activity.READY):
        return False
    current = None if record is None else record.status.call
    return showing != (current or "")


def session_channel(handle: str) -> str:
    return f"session:{handle}"


def channels_for(viewer: Viewer) -> list[str]:
    channels = [session_channel(viewer.session.handle)]
    if viewer.role is Role.AGENT:
        channels.append(agent_channel(viewer.user_id))
    elif viewer.role in MONITOR_ROLES:
        channels.append(WALLBOARD_CHANNEL)
    return channels


class Hub:
    def __init__(
        self,
        bus: Bus,
        pages: Pages,
        agents: AgentStates,
        reload_viewer: Callable[[Viewer], Awaitable[Viewer | None]],
        *,
        renderers: Mapping[str, EventRenderer] | None = None,
        wallboard: Wallboard | None = None,
    ) -> None:
        self._renderers = dict(renderers or {})
        self._wallboard = wallboard
        self._bus = bus
        self._pages = pages
        self._agents = agents
        self._reload_viewer = reload_viewer
        self._cleanups: set[asyncio.Task[None]] = set()
        self._cleanup_slots = asyncio.Semaphore(CONCURRENT_CLEANUPS)

    async def session_ended(self, handle: str) -> None:
        """Close that session's sockets, on whichever worker holds them."""
        await self._bus.publish(session_channel(handle), {"type": "session.ended"})

    async def serve(self, websocket: WebSocket, viewer: Viewer) -> None:
        await websocket.accept()
        socket = Socket(websocket, viewer, websocket.query_params.get("showing"))
        try:
            # Subscribe before sending the current state, so no change can fall between the two.
            async with await self._bus.subscribe(*channels_for(viewer)) as subscription:
                tasks = [
                    asyncio.create_task(self._forward(socket, subscription)),
                    asyncio.create_task(self._tick(socket)),
                ]
                try:
                    await self._send_current(socket)
                    # Only now: the state just sent has paused an agent whose presence had lapsed.
                    tasks.append(asyncio.create_task(self._keep_present(socket)))
                    while True:
                        await self._receive(socket, await websocket.receive_text())
                except (WebSocketDisconnect, RuntimeError):
                    pass  # closed by the browser, or by us on sign-out
                finally:
                    for task in tasks:
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
        finally:
            if viewer.role is Role.AGENT:
                # Runs to the end even when the server cancels this handler (shutting down).
                cleanup = asyncio.create_task(self.connection_lost(viewer))
                self._cleanups.add(cleanup)
                cleanup.add_done_callback(self._cleanups.discard)
                await asyncio.shield(cleanup)

    async def connection_lost(self, viewer: Viewer) -> None:
        """What follows an agent's socket closing."""
        async with self._cleanup_slots:
            if await self._reload_viewer(viewer) is not None:
                # Still signed in but no longer watching the screen: stop routing calls here.
                await self._agents.apply(viewer, ConnectionLost())

    async def apply(self, socket: Socket, command: GoReady | Pause) -> None:
        result = await self._agents.apply(socket.viewer, command)
        if isinstance(result, Refused):
            raise MessageRefusedError(result.reason)

    async def _recheck(self, socket: Socket, *, now: bool) -> Viewer | None:
        """The socket's holder as the database sees them now; None (and the socket closed) when
        they may no longer hold it: signed out, disabled, or given another role or clients,
        which would change the channels they may follow."""
        if not now and time.monotonic() - socket.checked_at < RECHECK_SECONDS:
            return socket.viewer
        viewer = await self._reload_viewer(socket.viewer)
        if viewer is None or (viewer.role, viewer.scope) != (socket.viewer.role, socket.viewer.scope):
            await socket.close()
            return None
        socket.viewer, socket.checked_at = viewer, time.monotonic()
        return viewer

    async def _receive(self, socket: Socket, text: str) -> None:
        viewer = await self._recheck(socket, now=True)
        if viewer is None:
            return
        try:
            message = json.loads(text)
            if not isinstance(message, dict):
                raise MessageRefusedError("Unreadable message.")
            headers = message.get("HEADERS")
            token = headers.get(CSRF_HEADER) if isinstance(headers, dict) else None
            if not tokens_match(token if isinstance(token, str) else None, viewer.session.csrf_token):
                raise MessageRefusedError("The page was out of date. Reload it and try again.")
            handler = MESSAGE_HANDLERS.get(str(message.get("action")))
            if handler is None:
                raise MessageRefusedError("Unknown action.")
            if viewer.role not in handler.roles:
                raise MessageRefusedError("Your role does not allow this action.")
            await handler.handle(self, socket, message)
        except (MessageRefusedError, json.JSONDecodeError) as refusal:
            reason = str(refusal) if isinstance(refusal, MessageRefusedError) else "Unreadable message."
            log.info("refused a message from user %s: %s", viewer.user_id, reason)
            await socket.send(self._pages.render("fragments/notice.html", message=reason, oob=True))

    async def _send_current(self, socket: Socket) -> None:
        """Resynchronise a (re)connected tab with the present state."""
        viewer = socket.viewer
        if viewer.role is Role.AGENT:
            record = await self._agents.get(viewer.user_id)
            stale = workspace_is_stale(record, socket.showing)
            await socket.send(self._state_bar(record) + (WORKSPACE_LOADER if stale else ""))
            await socket.send(self._pages.render("fragments/notice.html", message="", oob=True))
        elif viewer.role in MONITOR_ROLES:
            await socket.send(await self._monitor_and_board(viewer))

    def _state_bar(self, record: AgentRecord | None) -> str:
        return self._pages.render(
            "fragments/state_bar.html", record=record, pause_codes=AGENT_PAUSE_CODES, oob=True
        )

    def _monitor(self, viewer: Viewer, records: list[AgentRecord]) -> str:
        visible = [record for record in records if viewer.scope.overlaps(record.scope)]
        return self._pages.render("fragments/agent_monitor.html", records=visible, oob=True)

    async def _monitor_and_board(self, viewer: Viewer) -> str:
        records = await self._agents.all()
        html = self._monitor(viewer, records)
        if self._wallboard is not None:
            html += await self._wallboard.render(viewer, records, oob=True)
        return html

    async def _keep_present(self, socket: Socket) -> None:
        """Vouch for the agent while their tab is open, so that the engine keeps counting them
        Ready even when this worker could not say it goes away (see `workbench.agents`)."""
        if socket.viewer.role is not Role.AGENT:
            return
        while True:
            try:
                await self._agents.watched(socket.viewer.user_id)
            except Exception:
                # The next renewal may succeed; the agent is paused only after several are missed.
                log.exception("could not renew the presence of agent %s", socket.viewer.user_id)
            await asyncio.sleep(PRESENCE_RENEW_SECONDS)

    async def _tick(self, socket: Socket) -> None:
        """Wallboard figures that change without an event of their own (calls placed, answered,
        promises taken) reach managers' tabs this often."""
        if self._wallboard is None or socket.viewer.role not in MONITOR_ROLES:
            return
        while True:
            await asyncio.sleep(self._wallboard.tick_seconds)
            if await self._recheck(socket, now=False) is None:
                return
            try:
                html = await self._monitor_and_board(socket.viewer)
            except Exception:
                log.exception("could not render the wallboard")
                continue
            try:
                await socket.send(html)
            except (WebSocketDisconnect, RuntimeError):
                return  # the browser went away; the receiving side cleans up

    async def _forward(self, socket: Socket, subscription: AsyncIterator[Message]) -> None:
        async for message in subscription:
            if await self._recheck(socket, now=False) is None:
                return
            try:
                html = await self._render(socket, message)
            except Exception:
                log.exception("could not render %s on %s", message.body.get("type"), message.channel)
                continue
            if html is None:
                await socket.close()
                return
            if not html:
                continue
            try:
                await socket.send(html)
            except WebSocketDisconnect:
                return  # the browser went away; the receiving side cleans up

    async def _render(self, socket: Socket, message: Message) -> str | None:
        """The fragment for this socket, or None when the socket must close."""
        if message.channel == session_channel(socket.viewer.session.handle):
            return None
        if message.channel == WALLBOARD_CHANNEL:
            return await self._monitor_and_board(socket.viewer)
        renderer = self._renderers.get(str(message.body.get("type")))
        if renderer is not None:
            return await renderer(socket.viewer, message.body)
        state = message.body if message.body.get("type") == "agent.state" else None
        return self._state_bar(None if state is None else AgentRecord.from_json(state))
