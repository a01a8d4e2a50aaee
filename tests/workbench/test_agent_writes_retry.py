"""Agent writes while PostgreSQL is down, through the real app on a private cluster.

Down: every write is answered 503 with the retry marker, nothing is stored and no idempotency key
stays claimed. Back: the same form (same key) is saved once; sent yet again, as after an answer
lost on the way back, it is answered with the saved state and stores nothing more, even when the
claim in the live store was released as after a commit whose acknowledgement was lost.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from campaigns.models import Callback, Note, Promise
from compliance.models import ContactAttempt
from infra.bus.local import LocalBus
from infra.db import make_engine, make_sessionmaker
from infra.models import SubmittedForm
from infra.settings import Settings
from tests.conftest import Database
from tests.private_postgres import PrivatePostgres, private_postgres  # noqa: F401 (the fixture)
from tests.workbench.conftest import CHEAP_HASHER, ORIGIN, Browser
from tests.workbench.test_agent_workspace import (
    NOW,
    SECRET,
    Call,
    audit_log,
    in_app,
    jo_on_a_call,
    post,
    unlock,
)
from workbench.agent_writes import DATABASE_UNAVAILABLE, RETRY_HEADER
from workbench.app import create_app
from workbench.services import services_of

T = TypeVar("T")
NOTE = "Asked us to call after payday."


@dataclasses.dataclass(frozen=True)
class Desk:
    db: Database
    server: TestClient
    browser: Browser
    call: Call
    agent_id: int

    @property
    def base(self) -> str:
        return f"/agent/calls/{self.call.attempt_uuid}"

    def claimed(self, key: str) -> bool:
        store = services_of(self.server).store
        return in_app(self.server).call(store.get, f"idempotency:{self.agent_id}:{key}") is not None


@pytest.fixture
def desk(private_postgres: PrivatePostgres, tmp_path: Path) -> Iterator[Desk]:  # noqa: F811
    """An agent signed in on the private cluster, on a call with the right party verified."""
    engine = make_engine(private_postgres.url)
    db = Database(private_postgres.url, engine, make_sessionmaker(engine))
    agent_id, call = jo_on_a_call(db)
    settings = Settings(data_dir=tmp_path, database_url=db.url, secret_key=SECRET)
    app = create_app(settings, bus=LocalBus(), clock=lambda: NOW, password_hasher=CHEAP_HASHER)
    with TestClient(app, base_url=ORIGIN) as server:
        browser = Browser(app, server)
        assert browser.sign_in("jo").status_code == 303
        unlock(browser, call)
        yield Desk(db, server, browser, call, agent_id)
        browser.http.close()
    engine.dispose()


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (sa_exc.OperationalError("INSERT", {}, Exception("server closed the connection")), True),
        (sa_exc.InterfaceError("SELECT 1", {}, Exception("connection already closed")), True),
        (sa_exc.DisconnectionError("ping failed"), True),
        (sa_exc.TimeoutError("QueuePool limit reached, connection timed out"), True),
        # Refusals by a reachable database are faults of the write: retrying cannot help.
        (sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (sa_exc.ProgrammingError("SELECT", {}, Exception("no such column")), False),
        (sa_exc.DataError("INSERT", {}, Exception("value too long")), False),
    ],
)
def test_only_an_unreachable_database_is_answered_for_retry(error: Exception, retried: bool) -> None:
    assert isinstance(error, DATABASE_UNAVAILABLE) is retried


def _writes(call: Call) -> list[tuple[str, dict[str, str], str]]:
    """(path, form, what the saved state shows) of each kind of write, in the order of a call."""
    return [
        ("notes", {"note": NOTE, "idempotency_key": "note-0001"}, NOTE),
        (
            "promises",
            {
                "promise_debt": str(call.debt_id),
                "promise_amount": "900.00",
                "promise_count": "3",
                "promise_frequency": "monthly",
                "promise_first_date": "2025-06-30",
                "idempotency_key": "promise-0001",
            },
            "Promise saved.",
        ),
        (
            "callbacks",
            {
                "callback_date": "2025-06-04",
                "callback_time": "18:00",
                "callback_zone": "America/Chicago",
                "callback_owner": "personal",
                "idempotency_key": "callback-0001",
            },
            "Callback scheduled.",
        ),
        ("disposition", {"code": "PTP", "idempotency_key": "disposition-0001"}, "Dispositioned: PTP"),
    ]


def _assert_saved_once(desk: Desk) -> None:
    with desk.db.sessions() as session:
        notes = session.scalars(sa.select(Note.body).where(Note.author_id == desk.agent_id)).all()
        assert notes == [NOTE]
        assert session.scalar(sa.select(sa.func.count()).select_from(Promise)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(Callback)) == 1
        attempt = session.scalars(
            sa.select(ContactAttempt).where(ContactAttempt.uuid == desk.call.attempt_uuid)
        ).one()
        assert attempt.disposition_code == "PTP"
    actions = [action for action, _, _ in audit_log(desk.db)]
    for action in ("note.added", "promise.created", "callback.scheduled", "call.dispositioned"):
        assert actions.count(action) == 1, action


@pytest.mark.postgres
@pytest.mark.slow
def test_writes_while_postgres_is_down_are_refused_for_retry_and_saved_once_when_it_is_back(
    private_postgres: PrivatePostgres,  # noqa: F811
    desk: Desk,
) -> None:
    writes = _writes(desk.call)
    private_postgres.stop("fast")
    for path, form, _ in writes:
        refused = post(desk.browser, f"{desk.base}/{path}", **form)
        assert refused.status_code == 503, (path, refused.text)
        assert refused.headers[RETRY_HEADER] == "1"
        assert refused.headers["Retry-After"] == "1"
        assert not desk.claimed(form["idempotency_key"])

    private_postgres.start()
    for path, form, shown in writes:
        saved = post(desk.browser, f"{desk.base}/{path}", **form)
        assert (saved.status_code, saved.headers.get(RETRY_HEADER)) == (200, None), (path, saved.text)
        assert shown in saved.text
        # The same form again, as when the answer was lost: the saved state, nothing stored twice.
        again = post(desk.browser, f"{desk.base}/{path}", **form)
        assert again.status_code == 200, (path, again.text)
        assert shown in again.text
    _assert_saved_once(desk)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_write_cut_off_by_the_outage_after_its_key_was_claimed_releases_the_key(
    private_postgres: PrivatePostgres,  # noqa: F811
    desk: Desk,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL goes down between the claim of the key and the note's transaction."""
    services = services_of(desk.server)
    run_db = services.run_db
    outages = [private_postgres]

    async def stop_first(work: Callable[[Session], T]) -> T:
        if "KeyedWrite" in work.__qualname__ and outages:  # the note's keyed transaction
            await asyncio.to_thread(outages.pop().stop, "immediate")
        return await run_db(work)

    monkeypatch.setattr(services, "run_db", stop_first)
    path, form, shown = _writes(desk.call)[0]
    refused = post(desk.browser, f"{desk.base}/{path}", **form)
    assert (refused.status_code, refused.headers[RETRY_HEADER]) == (503, "1")
    assert not desk.claimed(form["idempotency_key"])

    private_postgres.start()
    assert shown in post(desk.browser, f"{desk.base}/{path}", **form).text
    assert desk.claimed(form["idempotency_key"])
    with desk.db.sessions() as session:
        assert session.scalars(sa.select(Note.body).where(Note.author_id == desk.agent_id)).all() == [NOTE]


@pytest.mark.postgres
@pytest.mark.slow
def test_a_retry_after_a_lost_acknowledgement_stores_nothing_twice(desk: Desk) -> None:
    """The commit went through but the connection dropped before its acknowledgement: the write
    failed as far as the app knew, so its live-store claim was released. The stored key decides."""
    services = services_of(desk.server)
    keyed = _writes(desk.call)[:3]  # the writes keyed by their form
    for path, form, shown in keyed:
        assert post(desk.browser, f"{desk.base}/{path}", **form).status_code == 200
        in_app(desk.server).call(
            services.store.delete, f"idempotency:{desk.agent_id}:{form['idempotency_key']}"
        )
        again = post(desk.browser, f"{desk.base}/{path}", **form)
        assert again.status_code == 200, (path, again.text)
        assert shown in again.text
    with desk.db.sessions() as session:
        assert session.scalars(sa.select(Note.body).where(Note.author_id == desk.agent_id)).all() == [NOTE]
        assert session.scalar(sa.select(sa.func.count()).select_from(Promise)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(Callback)) == 1
        keys = [form["idempotency_key"] for _, form, _ in keyed]
        stored = sa.select(sa.func.count()).select_from(SubmittedForm).where(SubmittedForm.key.in_(keys))
        assert session.scalar(stored) == 3
