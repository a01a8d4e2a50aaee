"""Signing in and out. Every attempt, successful, failed or throttled, is audited."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from compliance import audit
from infra.models import Role, User
from infra.users import UserChange, authenticate
from workbench.agent_state import SignIn
from workbench.security import current_viewer, set_login_csrf_cookie
from workbench.services import Services, services_of
from workbench.sessions import SESSION_COOKIE
from workbench.viewer import Viewer, load_viewer

AUDIT_ACTOR = "system:workbench"
MAX_USERNAME = 64
MAX_PASSWORD = 1024  # argon2 takes any length; refuse absurd ones before hashing them

LANDING_PAGES: dict[Role, str] = {
    Role.AGENT: "/agent",
    Role.MANAGER: "/manager",
    Role.ADMIN: "/manager",
    Role.COMPLIANCE: "/compliance",
}


def _is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sign_in_form(
    services: Services, request: Request, *, username: str = "", error: str = "", status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = services.pages.page(
        request, "login.html", status_code=status_code, username=username, error=error, login_csrf=token
    )
    set_login_csrf_cookie(services, response, token, _is_secure(request))
    return response


async def sign_in_page(request: Request) -> Response:
    viewer = await current_viewer(request)
    if viewer is not None:
        return RedirectResponse(LANDING_PAGES[viewer.role], status_code=303)
    return _sign_in_form(services_of(request), request)


def audit_user_change(db: Session, change: UserChange) -> None:
    """The audit hook for `infra.users` writes (e.g. a password rehashed at sign-in)."""
    audit.record(
        db,
        actor=f"user:{change.user_id}",
        action=change.action,
        entity_type="user",
        entity_id=str(change.user_id),
        payload={"username": change.username, **change.details},
    )


def _audit_failure(db: Session, username: str, address: str, reason: str) -> None:
    # No user id even when the name exists: the log must not be a way to tell names apart either.
    payload: dict[str, Any] = {"username": username, "address": address, "reason": reason}
    audit.record(
        db,
        actor=AUDIT_ACTOR,
        action="auth.sign_in_failed",
        entity_type="user",
        entity_id=None,
        payload=payload,
    )


async def sign_in(request: Request) -> Response:
    services = services_of(request)
    form = await request.form()
    username = str(form.get("username", ""))[:MAX_USERNAME].strip()
    password = str(form.get("password", ""))
    address = _address(request)
    now = services.clock()

    lock = await services.throttle.lock(username, address, now)
    if lock is not None:
        await services.run_db(lambda db: _audit_failure(db, username, address, "throttled"))
        seconds = lock.seconds_left(now)
        response = _sign_in_form(
            services,
            request,
            username=username,
            error=f"Too many failed attempts. Try again in {seconds} seconds.",
            status_code=429,
        )
        response.headers["Retry-After"] = str(seconds)
        return response

    def check() -> User | None:
        if len(password) > MAX_PASSWORD:
            return None
        return authenticate(
            services.db_sessions,
            username,
            password,
            on_change=audit_user_change,
            hasher=services.password_hasher,
        )

    user = await run_in_threadpool(check)
    if user is None:
        await services.run_db(lambda db: _audit_failure(db, username, address, "bad_credentials"))
        await services.throttle.record_failure(username, address, now)
        return _sign_in_form(services, request, username=username, error="Wrong username or password.")

    await services.throttle.record_success(username)
    previous = await current_viewer(request)
    if previous is not None:  # signing in again in the same browser replaces that session
        await services.sessions.end(previous.session)
        await services.hub.session_ended(previous.session.handle)
        if previous.role is Role.AGENT and previous.user_id != user.id:
            await services.agents.signed_out(previous.user_id)
    session = await services.sessions.create(user.id, now)

    def start(db: Session) -> Viewer | None:
        audit.record(
            db,
            actor=f"user:{user.id}",
            action="auth.sign_in",
            entity_type="user",
            entity_id=str(user.id),
            payload={"address": address, "session": session.handle},
        )
        return load_viewer(db, session)

    viewer = await services.run_db(start)
    if viewer is None:  # disabled between the password check and now
        await services.sessions.end(session)
        return _sign_in_form(services, request, username=username, error="Wrong username or password.")
    if viewer.role is Role.AGENT:
        await services.agents.apply(viewer, SignIn())
    response = RedirectResponse(LANDING_PAGES[viewer.role], status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        services.sessions.cookie_value(session),
        max_age=services.sessions.max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=_is_secure(request),
        path="/",
    )
    return response


async def sign_out(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    # The session dies first, so the closing WebSocket does not put the agent in a system pause.
    await services.sessions.end(viewer.session)
    await services.hub.session_ended(viewer.session.handle)
    if viewer.role is Role.AGENT:
        await services.agents.signed_out(viewer.user_id)
    await services.run_db(
        lambda db: audit.record(
            db,
            actor=viewer.actor,
            action="auth.sign_out",
            entity_type="user",
            entity_id=str(viewer.user_id),
            payload={"address": _address(request), "session": viewer.session.handle},
        )
    )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_is_secure(request)
    )
    return response
