"""Access control for every route and the browser-facing security policy.

Routes are built only through `route`, `public_route`, `websocket_route` and `public_mount`, which
record who may use them and wrap the endpoint in the matching check. `ensure_guarded` refuses to
build an app containing any other kind of route, so a route cannot be added without deciding who
may reach it. Role and client scope are read from the database on every request.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Awaitable, Callable, Iterable, Sequence

from itsdangerous import BadSignature, Signer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from infra.models import Role
from workbench.services import Services, services_of
from workbench.sessions import SESSION_COOKIE
from workbench.viewer import Viewer, load_viewer

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
LOGIN_CSRF_COOKIE = "arrears_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
POLICY_VIOLATION = 1008  # WebSocket close code

ALL_ROLES = frozenset(Role)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=(), payment=()",
}


@dataclasses.dataclass(frozen=True)
class Access:
    """Who may use a route: signed-in users with one of `roles`, or anyone when `public`.

    `client_param` names a path parameter holding a client id that the user's client scope must
    include.
    """

    roles: frozenset[Role]
    public: bool = False
    client_param: str | None = None

    def __post_init__(self) -> None:
        if self.public == bool(self.roles):
            raise ValueError("a route is either public or open to a non-empty set of roles")


PUBLIC = Access(frozenset(), public=True)

Endpoint = Callable[[Request, Viewer], Awaitable[Response]]
PublicEndpoint = Callable[[Request], Awaitable[Response]]
SocketEndpoint = Callable[[WebSocket, Viewer], Awaitable[None]]


class GuardedRoute(Route):
    def __init__(
        self, path: str, endpoint: PublicEndpoint, *, access: Access, methods: Sequence[str], name: str | None
    ) -> None:
        super().__init__(path, endpoint, methods=list(methods), name=name)
        self.access = access


class GuardedWebSocketRoute(WebSocketRoute):
    def __init__(
        self, path: str, endpoint: Callable[[WebSocket], Awaitable[None]], *, access: Access
    ) -> None:
        super().__init__(path, endpoint)
        self.access = access


class PublicMount(Mount):
    """Static files: the same for everyone, nothing private in them."""

    access = PUBLIC


class UnguardedRouteError(TypeError):
    pass


def ensure_guarded(routes: Iterable[BaseRoute]) -> None:
    for candidate in routes:
        if not isinstance(candidate, GuardedRoute | GuardedWebSocketRoute | PublicMount):
            raise UnguardedRouteError(f"{candidate!r} does not declare who may use it")


def own_origin(connection: HTTPConnection) -> str:
    scheme = "https" if connection.url.scheme in {"https", "wss"} else "http"
    return f"{scheme}://{connection.headers.get('host', '')}"


def same_origin(connection: HTTPConnection, *, required: bool) -> bool:
    """Whether the request comes from our own pages. Browsers always send Origin on WebSocket
    handshakes (so it is required there) and on cross-site POSTs."""
    origin = connection.headers.get("origin")
    if origin is None:
        return not required
    return hmac.compare_digest(origin, own_origin(connection))


def tokens_match(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def submitted_csrf_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        # Starlette keeps the parsed form on the request, so the endpoint can read it again.
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def _login_signer(services: Services) -> Signer:
    return Signer(services.settings.effective_secret_key, salt="arrears.login-csrf")


def set_login_csrf_cookie(services: Services, response: Response, token: str, secure: bool) -> None:
    """The sign-in form's token is checked against a signed cookie: there is no session yet."""
    signed = _login_signer(services).sign(token).decode()
    response.set_cookie(
        LOGIN_CSRF_COOKIE, signed, httponly=True, samesite="lax", secure=secure, path="/login"
    )


def _login_csrf_valid(services: Services, request: Request, given: str | None) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if cookie is None:
        return False
    try:
        expected = _login_signer(services).unsign(cookie).decode()
    except BadSignature:
        return False
    return tokens_match(given, expected)


async def current_viewer(connection: HTTPConnection) -> Viewer | None:
    services = services_of(connection)
    session_id = services.sessions.session_id_from_cookie(connection.cookies.get(SESSION_COOKIE))
    if session_id is None:
        return None
    session = await services.sessions.get(session_id)
    if session is None:
        return None
    return await services.run_db(lambda db: load_viewer(db, session))


def _refuse(services: Services, request: Request, status: int, message: str) -> Response:
    return services.pages.page(request, "refused.html", status_code=status, message=message)


def _sign_in_again(request: Request) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    return RedirectResponse("/login", status_code=303)


def route(
    path: str,
    endpoint: Endpoint,
    *,
    roles: Iterable[Role],
    methods: Sequence[str] = ("GET",),
    client_param: str | None = None,
    name: str | None = None,
) -> GuardedRoute:
    access = Access(frozenset(roles), client_param=client_param)

    async def guarded(request: Request) -> Response:
        services = services_of(request)
        viewer = await current_viewer(request)
        if viewer is None:
            return _sign_in_again(request)
        if viewer.role not in access.roles:
            return _refuse(services, request, 403, "Your role does not give access to this page.")
        if request.method not in SAFE_METHODS and not (
            same_origin(request, required=False)
            and tokens_match(await submitted_csrf_token(request), viewer.session.csrf_token)
        ):
            return _refuse(services, request, 403, "The form was out of date. Reload the page and try again.")
        if access.client_param is not None:
            client_id = request.path_params[access.client_param]
            if not isinstance(client_id, int) or not viewer.scope.allows(client_id):
                return _refuse(services, request, 403, "You do not work on this client.")
        return await endpoint(request, viewer)

    return GuardedRoute(path, guarded, access=access, methods=methods, name=name)


def public_route(
    path: str, endpoint: PublicEndpoint, *, methods: Sequence[str] = ("GET",), name: str | None = None
) -> GuardedRoute:
    async def guarded(request: Request) -> Response:
        services = services_of(request)
        if request.method not in SAFE_METHODS and not (
            same_origin(request, required=False)
            and _login_csrf_valid(services, request, await submitted_csrf_token(request))
        ):
            return _refuse(services, request, 403, "The form was out of date. Reload the page and try again.")
        return await endpoint(request)

    return GuardedRoute(path, guarded, access=PUBLIC, methods=methods, name=name)


def websocket_route(path: str, endpoint: SocketEndpoint, *, roles: Iterable[Role]) -> GuardedWebSocketRoute:
    """The handshake is checked here; each message is checked again by the endpoint."""
    access = Access(frozenset(roles))

    async def guarded(websocket: WebSocket) -> None:
        viewer = await current_viewer(websocket) if same_origin(websocket, required=True) else None
        if viewer is None or viewer.role not in access.roles:
            await websocket.close(code=POLICY_VIOLATION)
            return
        await endpoint(websocket, viewer)

    return GuardedWebSocketRoute(path, guarded, access=access)


def public_mount(path: str, app: ASGIApp, *, name: str) -> PublicMount:
    return PublicMount(path, app=app, name=name)


class SecurityHeadersMiddleware:
    """Adds the browser security policy to every response; pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not cacheable:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
