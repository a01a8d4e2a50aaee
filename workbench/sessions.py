"""Server-side web sessions.

The browser holds only a random session id, signed with the installation secret, in an HttpOnly,
SameSite=Lax cookie. The session record lives in the live store (process memory when embedded,
Redis when scaled out), so signing out deletes it and the cookie is dead at once on every web
worker. Whether the user is still active, and their role and clients, are read from the database
on every request, so disabling a user or changing their role takes effect on the next request
without touching sessions at all. The cost of keeping sessions out of the database: an embedded
web process that restarts signs everyone out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import secrets

from itsdangerous import BadSignature, Signer

from workbench.live_store import LiveStore

SESSION_COOKIE = "arrears_session"
SESSION_LIFETIME = dt.timedelta(hours=12)  # one long shift; then sign in again


@dataclasses.dataclass(frozen=True)
class WebSession:
    id: str
    user_id: int
    csrf_token: str
    created_at: dt.datetime

    @property
    def handle(self) -> str:
        """A name for the session that is safe to publish (the id itself is a bearer secret)."""
        return hashlib.sha256(self.id.encode()).hexdigest()[:32]


class SessionStore:
    def __init__(self, store: LiveStore, secret_key: str, lifetime: dt.timedelta = SESSION_LIFETIME) -> None:
        self._store = store
        self._signer = Signer(secret_key, salt="arrears.session")
        self._lifetime = lifetime

    def cookie_value(self, session: WebSession) -> str:
        return self._signer.sign(session.id).decode()

    def session_id_from_cookie(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return self._signer.unsign(cookie).decode()
        except BadSignature:
            return None

    @property
    def max_age_seconds(self) -> int:
        return int(self._lifetime.total_seconds())

    async def create(self, user_id: int, now: dt.datetime) -> WebSession:
        session = WebSession(secrets.token_urlsafe(32), user_id, secrets.token_urlsafe(32), now)
        record = {"user_id": user_id, "csrf_token": session.csrf_token, "created_at": now.isoformat()}
        await self._store.set(f"session:{session.id}", json.dumps(record), self.max_age_seconds)
        # Forget sessions of this user that expired on their own, so the index stays small.
        for old_id in await self._store.hash_all(f"user-sessions:{user_id}"):
            if await self._store.get(f"session:{old_id}") is None:
                await self._store.hash_delete(f"user-sessions:{user_id}", old_id)
        await self._store.hash_set(f"user-sessions:{user_id}", session.id, now.isoformat())
        return session

    async def get(self, session_id: str) -> WebSession | None:
        raw = await self._store.get(f"session:{session_id}")
        if raw is None:
            return None
        record = json.loads(raw)
        return WebSession(
            session_id,
            int(record["user_id"]),
            record["csrf_token"],
            dt.datetime.fromisoformat(record["created_at"]),
        )

    async def end(self, session: WebSession) -> None:
        await self._store.delete(f"session:{session.id}")
        await self._store.hash_delete(f"user-sessions:{session.user_id}", session.id)

    async def end_all_for_user(self, user_id: int) -> list[WebSession]:
        """Sign a user out everywhere (for disabling a user or a password change)."""
        ended = []
        for session_id in await self._store.hash_all(f"user-sessions:{user_id}"):
            session = await self.get(session_id)
            if session is not None:
                ended.append(session)
            await self._store.delete(f"session:{session_id}")
        await self._store.delete(f"user-sessions:{user_id}")
        return ended
