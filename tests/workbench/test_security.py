"""Security of the web foundation, against the real app on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from infra.models import Role
from infra.settings import Settings
from tests.conftest import Database
from tests.workbench.conftest import PASSWORD, Browser, add_client, add_user, audit_actions, set_active
from workbench.app import build_routes, create_app
from workbench.security import (
    ALL_ROLES,
    GuardedRoute,
    GuardedWebSocketRoute,
    PublicMount,
    UnguardedRouteError,
    ensure_guarded,
)
from workbench.ws import MESSAGE_HANDLERS

OpenBrowser = Callable[[], Browser]


def test_every_route_declares_who_may_use_it_and_only_sign_in_assets_and_metrics_are_public(
    tmp_path: Path,
) -> None:
    public = set()
    for declared in create_app(Settings(data_dir=tmp_path)).routes:
        assert isinstance(declared, GuardedRoute | GuardedWebSocketRoute | PublicMount)
        if declared.access.public:
            public.add(declared.path)
        else:
            assert declared.access.roles <= ALL_ROLES
            assert declared.access.roles
    assert public == {"/login", "/static", "/metrics"}  # /metrics asks for its own bearer token


def test_an_app_with_an_unguarded_route_is_refused() -> None:
    async def leaky(request: object) -> PlainTextResponse:
        return PlainTextResponse("secret")

    with pytest.raises(UnguardedRouteError):
        ensure_guarded([*build_routes(), Route("/leak", leaky)])


def test_every_websocket_action_declares_its_roles() -> None:
    assert MESSAGE_HANDLERS
    for handler in MESSAGE_HANDLERS.values():
        assert handler.roles
        assert handler.roles <= ALL_ROLES


def test_script_in_a_display_name_is_escaped(db: Database, browsers: OpenBrowser) -> None:
    add_user(
        db, "mallory", Role.AGENT, display_name='<script>alert("x")</script><img src=x onerror=alert(1)>'
    )
    browser = browsers()
    assert browser.sign_in("mallory").status_code == 303
    page = browser.http.get("/agent").text
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_security_headers_and_cookie_flags(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "amy", Role.AGENT)
    browser = browsers()
    response = browser.sign_in("amy")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    page = browser.http.get("/agent")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text  # no inline script: every script has a src
    assert 'src="/static/vendor/htmx.min.js"' in page.text


def test_posts_without_a_csrf_token_are_refused(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "ann", Role.AGENT)
    stranger = browsers()
    refused_sign_in = stranger.http.post("/login", data={"username": "ann", "password": "whatever"})
    assert refused_sign_in.status_code == 403

    browser = browsers()
    browser.sign_in("ann")
    assert browser.http.post("/logout").status_code == 403
    assert browser.http.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert browser.http.post("/logout", headers={"X-CSRF-Token": "forged"}).status_code == 403
    # A cross-site form carrying a stolen token is still refused by its origin.
    cross_site = browser.http.post(
        "/logout", data={"csrf_token": browser.csrf}, headers={"origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    assert browser.http.get("/agent").status_code == 200  # still signed in
    assert browser.http.post("/logout", headers={"X-CSRF-Token": browser.csrf}).status_code == 303


def test_an_agent_cannot_reach_manager_or_compliance_pages(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "abe", Role.AGENT)
    browser = browsers()
    browser.sign_in("abe")
    assert browser.http.get("/manager").status_code == 403
    assert browser.http.get("/compliance").status_code == 403
    assert browser.http.get("/agent").status_code == 200


@pytest.mark.parametrize(
    ("role", "landing", "refused"),
    [
        (Role.MANAGER, "/manager", ["/agent", "/compliance"]),
        (Role.COMPLIANCE, "/compliance", ["/agent", "/manager"]),
        (Role.ADMIN, "/manager", ["/agent", "/compliance"]),
    ],
)
def test_each_role_lands_on_its_own_page(
    db: Database, browsers: OpenBrowser, role: Role, landing: str, refused: list[str]
) -> None:
    add_user(db, "someone", role)
    browser = browsers()
    assert browser.sign_in("someone").headers["location"] == landing
    assert browser.http.get("/").headers["location"] == landing
    assert browser.http.get(landing).status_code == 200
    for path in refused:
        assert browser.http.get(path).status_code == 403


def test_an_agent_cannot_read_another_clients_data(db: Database, browsers: OpenBrowser) -> None:
    own = add_client(db, "ACME", "Acme Bank")
    other = add_client(db, "GLOBEX", "Globex Finance")
    add_user(db, "ada", Role.AGENT, clients=["ACME"])
    browser = browsers()
    browser.sign_in("ada")
    landing = browser.http.get("/agent").text
    assert "Acme Bank" in landing
    assert "Globex Finance" not in landing
    assert browser.http.get(f"/clients/{own}/campaigns").status_code == 200
    refused = browser.http.get(f"/clients/{other}/campaigns", headers={"HX-Request": "true"})
    assert refused.status_code == 403
    assert "Globex" not in refused.text


def test_signed_out_session_is_dead(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "al", Role.AGENT)
    browser = browsers()
    browser.sign_in("al")
    stolen = dict(browser.http.cookies)
    assert browser.http.post("/logout", data={"csrf_token": browser.csrf}).status_code == 303
    replay = browsers()
    replay.http.cookies.update(stolen)
    assert replay.http.get("/agent").headers["location"] == "/login"
    with pytest.raises(WebSocketDisconnect), replay.socket() as socket:
        socket.receive_text()


def test_disabling_a_user_ends_their_session_at_once(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "dee", Role.AGENT)
    browser = browsers()
    browser.sign_in("dee")
    with browser.socket() as socket:
        _drain_greeting(socket)
        set_active(db, "dee", False)
        browser.send(socket, "ready")  # the next message finds the user disabled
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_text()
        assert closed.value.code == 1008
    assert browser.http.get("/agent").status_code == 303
    assert browser.sign_in("dee").status_code == 200  # the form again, not a session


def test_throttling_kicks_in_after_repeated_failures(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "tom", Role.AGENT)
    browser = browsers()
    for _ in range(5):
        failed = browser.sign_in("tom", "wrong password")
        assert failed.status_code == 200
        assert "Wrong username or password." in failed.text
    locked = browser.sign_in("tom")  # the right password, but too late
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    assert "Too many failed attempts" in locked.text
    assert browser.sign_in("TOM").status_code == 429  # usernames compare without case
    failures = [
        payload["reason"] for _, action, payload in audit_actions(db) if action == "auth.sign_in_failed"
    ]
    assert failures == ["bad_credentials"] * 5 + ["throttled"] * 2
    assert not any(action == "auth.sign_in" for _, action, _ in audit_actions(db))
    add_user(db, "una", Role.AGENT)
    assert browsers().sign_in("una").status_code == 303  # another user on the same address still gets in


def test_sign_in_and_sign_out_are_audited(db: Database, browsers: OpenBrowser) -> None:
    user_id = add_user(db, "aud", Role.MANAGER)
    browser = browsers()
    browser.sign_in("aud", "nope")
    browser.sign_in("nobody-by-this-name", "nope")
    browser.sign_in("aud")
    browser.http.post("/logout", data={"csrf_token": browser.csrf})
    events = [event for event in audit_actions(db) if event[1].startswith("auth.")]
    assert [(actor, action) for actor, action, _ in events] == [
        ("system:workbench", "auth.sign_in_failed"),
        ("system:workbench", "auth.sign_in_failed"),
        (f"user:{user_id}", "auth.sign_in"),
        (f"user:{user_id}", "auth.sign_out"),
    ]
    assert events[1][2]["username"] == "nobody-by-this-name"
    assert PASSWORD not in repr(events)


def test_websocket_needs_a_session_and_our_own_origin(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "wes", Role.AGENT)
    anonymous = browsers()
    with pytest.raises(WebSocketDisconnect), anonymous.socket() as socket:
        socket.receive_text()
    browser = browsers()
    browser.sign_in("wes")
    for origin in (None, "https://evil.example", "http://testserver.evil.example"):
        with pytest.raises(WebSocketDisconnect), browser.socket(origin) as socket:
            socket.receive_text()
    with browser.socket() as socket:
        assert 'id="state-bar"' in socket.receive_text()


def test_websocket_messages_need_the_csrf_token(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "cat", Role.AGENT)
    browser = browsers()
    browser.sign_in("cat")
    with browser.socket() as socket:
        socket.receive_text()  # state bar
        socket.receive_text()  # cleared notice
        socket.send_json({"action": "ready", "HEADERS": {"X-CSRF-Token": "forged"}})
        assert "out of date" in socket.receive_text()
        socket.send_text("not json")
        assert "Unreadable message." in socket.receive_text()
    assert "Paused: Signed in" in browser.http.get("/agent").text


def _drain_greeting(socket: WebSocketTestSession) -> None:
    assert 'id="state-bar"' in socket.receive_text()
    assert 'id="ws-notice"' in socket.receive_text()


def test_agents_receive_only_their_own_events_and_command_only_themselves(
    db: Database, browsers: OpenBrowser
) -> None:
    alice_id = add_user(db, "alice", Role.AGENT)
    bob_id = add_user(db, "bob", Role.AGENT)
    alice, bob = browsers(), browsers()
    alice.sign_in("alice")
    bob.sign_in("bob")
    with alice.socket() as alice_socket, bob.socket() as bob_socket:
        _drain_greeting(alice_socket)
        _drain_greeting(bob_socket)

        # Alice tries to put Bob on a break: refused, and Bob's state does not move.
        alice.send(alice_socket, "pause", pause_code="break", agent_id=bob_id)
        assert "only your own state" in alice_socket.receive_text()
        # Bob goes ready: his bar changes; Alice's socket must not see it.
        bob.send(bob_socket, "ready")
        bob_update = bob_socket.receive_text()
        assert f'data-agent="{bob_id}"' in bob_update
        assert 'data-state="ready"' in bob_update
        # Alice's next message is the answer to her own command, not Bob's event.
        alice.send(alice_socket, "pause", pause_code="lunch")
        alice_update = alice_socket.receive_text()
        assert f'data-agent="{alice_id}"' in alice_update
        assert "Paused: Lunch" in alice_update
        # An agent cannot pick a system pause code either.
        alice.send(alice_socket, "pause", pause_code="lagged")
        assert "set by the system only" in alice_socket.receive_text()
    assert "Paused: Lunch" in alice.http.get("/agent").text


def test_a_dropped_agent_is_paused_and_resynchronised_on_reconnect(
    db: Database, browsers: OpenBrowser
) -> None:
    add_user(db, "rex", Role.AGENT)
    browser = browsers()
    browser.sign_in("rex")
    with browser.socket() as socket:
        _drain_greeting(socket)
        browser.send(socket, "ready")
        assert 'data-state="ready"' in socket.receive_text()
    # The server notices the closed socket on its own time; the browser reconnects after a delay.
    deadline = time.monotonic() + 10
    while "Paused: Connection lost" not in browser.http.get("/agent").text:
        assert time.monotonic() < deadline, "the agent was not paused after the socket closed"
        time.sleep(0.02)
    with browser.socket() as socket:
        state_bar = socket.receive_text()
        assert "Paused: Connection lost" in state_bar
        assert 'hx-swap-oob="true"' in state_bar


def test_managers_see_agents_of_their_clients_only(db: Database, browsers: OpenBrowser) -> None:
    add_client(db, "ACME", "Acme Bank")
    add_client(db, "GLOBEX", "Globex Finance")
    add_user(db, "acme-agent", Role.AGENT, display_name="Acme Agent", clients=["ACME"])
    add_user(db, "globex-agent", Role.AGENT, display_name="Globex Agent", clients=["GLOBEX"])
    add_user(db, "boss", Role.MANAGER, clients=["ACME"])
    boss, acme_agent, globex_agent = browsers(), browsers(), browsers()
    boss.sign_in("boss")
    with boss.socket() as monitor:
        assert "No agents signed in." in monitor.receive_text()
        globex_agent.sign_in("globex-agent")
        acme_agent.sign_in("acme-agent")
        # One update per sign-in; the Globex agent is filtered out of both.
        assert "Globex Agent" not in monitor.receive_text()
        update = monitor.receive_text()
        assert "Acme Agent" in update
        assert "Globex Agent" not in update
        assert "Paused: Signed in" in update
    assert "Globex Agent" not in boss.http.get("/manager").text


def test_compliance_and_managers_cannot_send_agent_commands(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "cora", Role.COMPLIANCE)
    browser = browsers()
    browser.sign_in("cora")
    with browser.socket() as socket:
        browser.send(socket, "ready")
        assert "Your role does not allow this action." in socket.receive_text()


def test_unknown_clients_and_signed_out_htmx_requests(db: Database, browsers: OpenBrowser) -> None:
    add_user(db, "una", Role.MANAGER)
    browser = browsers()
    browser.sign_in("una")
    assert browser.http.get("/clients/999999/campaigns").status_code == 404
    anonymous = browsers().http.get("/agent", headers={"HX-Request": "true"})
    assert anonymous.status_code == 401
    assert anonymous.headers["hx-redirect"] == "/login"
