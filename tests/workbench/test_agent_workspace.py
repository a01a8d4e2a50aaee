"""The agent's account workspace through the real app on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from anyio.from_thread import BlockingPortal
from starlette.applications import Starlette
from starlette.testclient import TestClient

from campaigns.account_facts import load_account_facts
from campaigns.events import ScreenPop, agent_channel
from campaigns.models import Address, Callback, Debt, DebtKind, Note, Person, Phone, PhoneType, Promise
from compliance.attempts import mark_dialing
from compliance.gate import DialGate, DialRequest
from compliance.models import AuditEvent, ContactAttempt, DialingMode, Notice
from infra.bus.local import LocalBus
from infra.identifiers import IdentifierKind, identifier_hash, new_salt
from infra.models import Client, Role
from infra.settings import Settings
from tests.conftest import Database
from tests.workbench.conftest import CHEAP_HASHER, ORIGIN, Browser, add_client, add_user
from workbench.app import create_app
from workbench.services import services_of

SECRET = "test-secret-" + "k" * 32
# 10:00 in Chicago on Tuesday 3 June 2025: inside calling hours.
NOW = dt.datetime(2025, 6, 3, 15, 0, tzinfo=dt.UTC)
DATE_OF_BIRTH = "1980-04-12"
SSN_LAST4 = "4321"
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


@dataclasses.dataclass(frozen=True)
class Call:
    attempt_uuid: str
    person_id: int
    debt_id: int
    number: str
    client_id: int


def add_account(
    db: Database, client_code: str, *, secret: str = SECRET, ref: str = "P1"
) -> tuple[int, int, str]:
    """A person in Chicago with one credit-card debt and a consented mobile; (person, debt, number)."""
    with db.sessions() as session, session.begin():
        client_id = session.scalar(sa.select(Client.id).where(Client.code == client_code))
        assert client_id is not None
        salt = new_salt()
        person = Person(
            client_id=client_id,
            person_ref=ref,
            first_name="Dana",
            last_name="Example",
            identifier_salt=salt,
            date_of_birth_hash=identifier_hash(secret, salt, IdentifierKind.DATE_OF_BIRTH, DATE_OF_BIRTH),
            ssn_last4_hash=identifier_hash(secret, salt, IdentifierKind.SSN_LAST4, SSN_LAST4),
        )
        session.add(person)
        session.flush()
        session.add(Address(person_id=person.id, city="Chicago", state="IL", postal_code="60601"))
        number = "+13125550142" if ref == "P1" else f"+1312555{person.id:04d}"
        session.add(
            Phone(
                person_id=person.id,
                number=number,
                type=PhoneType.MOBILE,
                position=1,
                consent_given_at=NOW - dt.timedelta(days=90),
            )
        )
        debt = Debt(
            client_id=client_id,
            person_id=person.id,
            account_ref=f"ACC-{ref}",
            original_creditor="First Example Bank",
            kind=DebtKind.CREDIT_CARD,
            principal_minor=100_000,
            interest_minor=20_000,
            fees_minor=3_000,
            placed_on=dt.date(2025, 1, 10),
            charged_off_on=dt.date(2024, 11, 30),
            statute_of_limitations_on=dt.date(2029, 11, 30),
        )
        session.add(debt)
        session.flush()
        return person.id, debt.id, number


def connect_call(db: Database, person_id: int, debt_id: int, number: str, agent_id: int) -> Call:
    """What the engine does before the screen pop: reserve through the gate, dial, assign the agent."""
    gate = DialGate(db.sessions, load_account_facts, "us-federal")
    result = gate.reserve(
        DialRequest(
            person_id=person_id, number=number, debt_ids=(debt_id,), mode=DialingMode.PROGRESSIVE, at=NOW
        )
    )
    assert result.allowed, result.verdict
    assert result.attempt_uuid is not None, result.verdict
    with db.sessions() as session, session.begin():
        attempt = mark_dialing(session, result.attempt_uuid, NOW)
        attempt.agent_id = agent_id
        attempt.answered_at = NOW + dt.timedelta(seconds=9)
        client_id = attempt.client_id
    return Call(result.attempt_uuid, person_id, debt_id, number, client_id)


def screen_pop(call: Call) -> ScreenPop:
    return ScreenPop(
        attempt_uuid=call.attempt_uuid,
        person_id=call.person_id,
        debt_ids=(call.debt_id,),
        number=call.number,
        campaign_id=None,
        mode=DialingMode.PROGRESSIVE,
        answered_at=NOW + dt.timedelta(seconds=9),
    )


def audit_log(db: Database) -> list[tuple[str, str, dict[str, Any]]]:
    with db.sessions() as session:
        rows = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
        return [(row.action, row.actor, json.loads(row.payload)) for row in rows]


def key_of(html: str) -> str:
    found = _KEY.search(html)
    assert found is not None
    return found.group(1)


@pytest.fixture
def bus() -> LocalBus:
    return LocalBus()


@pytest.fixture
def agent_app(db: Database, tmp_path: Path, bus: LocalBus) -> Starlette:
    settings = Settings(data_dir=tmp_path, database_url=db.url, secret_key=SECRET)
    return create_app(settings, bus=bus, clock=lambda: NOW, password_hasher=CHEAP_HASHER)


@pytest.fixture
def agent_server(agent_app: Starlette) -> Iterator[TestClient]:
    with TestClient(agent_app, base_url=ORIGIN) as client:
        yield client


def jo_on_a_call(db: Database) -> tuple[int, Call]:
    """Client ACME, its agent Jo, and a call of an ACME account connected to Jo."""
    add_client(db, "ACME", "Acme Bank")
    agent_id = add_user(db, "jo", Role.AGENT, display_name="Jo Collector", clients=["ACME"])
    person_id, debt_id, number = add_account(db, "ACME")
    return agent_id, connect_call(db, person_id, debt_id, number, agent_id)


@pytest.fixture
def desk(db: Database, agent_app: Starlette, agent_server: TestClient) -> Iterator[dict[str, Any]]:
    """Two clients, an agent of ACME with a connected call, signed in."""
    agent_id, call = jo_on_a_call(db)
    add_client(db, "OTHER", "Other Lender")
    browser = Browser(agent_app, agent_server)
    assert browser.sign_in("jo").status_code == 303
    yield {"agent_id": agent_id, "call": call, "browser": browser}
    browser.http.close()


def in_app(server: TestClient) -> BlockingPortal:
    """The running app's event loop (the in-process bus and stores live on it)."""
    assert server.portal is not None
    return server.portal


def pop_to(browser: Browser, server: TestClient, bus: LocalBus, agent_id: int, call: Call) -> str:
    """Publish the screen pop as the engine does, with the agent's tab open; the pushed workspace."""
    with browser.socket() as tab:
        tab.receive_text()  # the state bar
        tab.receive_text()  # the cleared notice
        in_app(server).call(bus.publish, agent_channel(agent_id), screen_pop(call).to_json())
        pushed = [tab.receive_text() for _ in range(2)]
    return next(html for html in pushed if 'id="call-workspace"' in html)


def new_key() -> str:
    return uuid.uuid4().hex


def post(browser: Browser, path: str, **fields: str) -> Any:
    return browser.http.post(
        path, data={"csrf_token": browser.csrf, **fields}, headers={"HX-Request": "true"}
    )


def unlock(browser: Browser, call: Call) -> None:
    base = f"/agent/calls/{call.attempt_uuid}"
    verified = post(browser, f"{base}/verify", date_of_birth=DATE_OF_BIRTH, idempotency_key=new_key())
    assert "Right party verified" in verified.text
    assert (
        "ACC-P1" in post(browser, f"{base}/disclose", disclosure_read="yes", idempotency_key=new_key()).text
    )


def test_an_agent_opens_only_calls_assigned_to_them_in_their_clients(
    db: Database, agent_app: Starlette, agent_server: TestClient, desk: dict[str, Any]
) -> None:
    call: Call = desk["call"]
    add_user(db, "sam", Role.AGENT, clients=["ACME"])
    add_user(db, "max", Role.MANAGER, clients=["ACME"])
    # A call in a client outside Jo's scope, even if assigned to Jo, stays closed to Jo.
    other_person, other_debt, other_number = add_account(db, "OTHER", ref="P2")
    foreign = connect_call(db, other_person, other_debt, other_number, desk["agent_id"])

    jo: Browser = desk["browser"]
    assert jo.http.get(f"/agent/calls/{call.attempt_uuid}").status_code == 200
    assert jo.http.get(f"/agent/calls/{foreign.attempt_uuid}").status_code == 404
    assert jo.http.get("/agent/calls/no-such-attempt").status_code == 404
    sam = Browser(agent_app, agent_server)
    sam.sign_in("sam")
    refused = sam.http.get(f"/agent/calls/{call.attempt_uuid}")
    assert refused.status_code == 404
    assert "Dana" not in refused.text
    assert (
        post(
            sam,
            f"/agent/calls/{call.attempt_uuid}/verify",
            date_of_birth=DATE_OF_BIRTH,
            idempotency_key=new_key(),
        ).status_code
        == 404
    )
    manager = Browser(agent_app, agent_server)
    manager.sign_in("max")
    assert manager.http.get(f"/agent/calls/{call.attempt_uuid}").status_code == 403
    # Writes without the CSRF token are refused before they reach the workspace.
    no_token = jo.http.post(f"/agent/calls/{call.attempt_uuid}/verify", data={"date_of_birth": DATE_OF_BIRTH})
    assert no_token.status_code == 403
    sam.http.close()
    manager.http.close()


def test_details_stay_hidden_until_verification_and_disclosure(db: Database, desk: dict[str, Any]) -> None:
    call: Call = desk["call"]
    jo: Browser = desk["browser"]
    base = f"/agent/calls/{call.attempt_uuid}"
    locked = jo.http.get(base).text
    assert "Ask for Dana Example" in locked
    for secret in ("ACC-P1", "1,230.00", "1230.00", "First Example Bank", "Balance"):
        assert secret not in locked

    wrong = {"date_of_birth": "1980-04-13", "ssn_last4": "4321", "idempotency_key": new_key()}
    failed = post(jo, f"{base}/verify", **wrong).text
    assert "did not match" in failed
    assert "ACC-P1" not in failed
    assert "2 more attempts" in failed
    # The same form again (a retry after a lost answer) counts no second failure.
    again = post(jo, f"{base}/verify", **wrong).text
    assert "1 of 3 attempts failed" in again
    assert "did not match" not in again
    assert "out of date" in post(jo, f"{base}/verify", ssn_last4=SSN_LAST4).text  # no key
    verified = post(jo, f"{base}/verify", ssn_last4=SSN_LAST4, idempotency_key=new_key()).text
    assert "Right party verified" in verified
    assert "ACC-P1" not in verified
    assert "Tick the box" in post(jo, f"{base}/disclose").text
    unlocked = post(jo, f"{base}/disclose", disclosure_read="yes", idempotency_key=new_key()).text
    assert "ACC-P1" in unlocked
    assert "1230.00 USD" in unlocked

    with db.sessions() as session:
        notes = session.scalars(sa.select(Note.body).where(Note.person_id == call.person_id)).all()
    assert any(body.startswith("Right-party verification failed: date of birth, ssn last4") for body in notes)
    verifications = [payload for action, _, payload in audit_log(db) if action == "call.verification"]
    assert [each["passed"] for each in verifications] == [False, True]
    assert verifications[0]["identifiers"] == {"date_of_birth": False, "ssn_last4": True}
    assert DATE_OF_BIRTH not in json.dumps(verifications)
    assert SSN_LAST4 not in json.dumps(verifications)
    assert [action for action, _, _ in audit_log(db)][-1] == "call.disclosure"


def test_a_disposition_missing_a_required_field_is_refused_naming_it(
    db: Database, desk: dict[str, Any]
) -> None:
    call: Call = desk["call"]
    jo: Browser = desk["browser"]
    base = f"/agent/calls/{call.attempt_uuid}"
    early = post(jo, f"{base}/disposition", code="PTP")
    assert early.status_code == 422
    assert "needs the right party verified" in early.text
    unlock(jo, call)
    refused = post(jo, f"{base}/disposition", code="PTP")
    assert refused.status_code == 422
    assert "“Promise to pay” (PTP) needs a promise" in refused.text
    dispute = post(jo, f"{base}/disposition", code="DISP", note="  ")
    assert dispute.status_code == 422
    assert "(DISP) needs a note" in dispute.text
    dnc = post(jo, f"{base}/disposition", code="DNC")
    assert dnc.status_code == 422
    assert "needs the do-not-call scope" in dnc.text
    with db.sessions() as session:
        attempt = session.scalars(
            sa.select(ContactAttempt).where(ContactAttempt.uuid == call.attempt_uuid)
        ).one()
        assert attempt.status.value == "dialing"
        assert attempt.disposition_code is None


def test_a_resubmitted_disposition_changes_nothing(
    db: Database, agent_server: TestClient, bus: LocalBus, desk: dict[str, Any]
) -> None:
    call: Call = desk["call"]
    jo: Browser = desk["browser"]
    pop_to(jo, agent_server, bus, desk["agent_id"], call)
    base = f"/agent/calls/{call.attempt_uuid}"
    unlock(jo, call)
    form = {
        "code": "DISP",
        "note": "Says the debt was paid to the creditor in 2024.",
        "idempotency_key": "k" * 20,
    }
    first = post(jo, f"{base}/disposition", **form)
    again = post(jo, f"{base}/disposition", **form)
    assert first.status_code == again.status_code == 200
    assert "Dispositioned: DISP" in again.text
    with db.sessions() as session:
        attempt = session.scalars(
            sa.select(ContactAttempt).where(ContactAttempt.uuid == call.attempt_uuid)
        ).one()
        assert (attempt.outcome.value if attempt.outcome else None, attempt.disposition_code) == (
            "conversation",
            "DISP",
        )
        assert attempt.party == "consumer"
        holds = session.scalars(sa.select(Notice).where(Notice.person_id == call.person_id)).all()
        assert [(hold.type.value, hold.debt_ids) for hold in holds] == [("dispute", [call.debt_id])]
        notes = session.scalars(sa.select(Note).where(Note.author_id == desk["agent_id"])).all()
        assert len(notes) == 1
    actions = [action for action, _, _ in audit_log(db)]
    assert actions.count("call.dispositioned") == 1
    assert actions.count("hold.created") == 1
    other = post(jo, f"{base}/disposition", code="RTP")
    assert other.status_code == 422
    assert "already dispositioned as DISP" in other.text
    record = in_app(agent_server).call(services_of(agent_server).agents.get, desk["agent_id"])
    assert record is not None
    assert record.status.activity.value == "wrap_up"


def test_every_write_of_a_call_is_audited(db: Database, desk: dict[str, Any]) -> None:
    call: Call = desk["call"]
    jo: Browser = desk["browser"]
    base = f"/agent/calls/{call.attempt_uuid}"
    unlock(jo, call)
    page = jo.http.get(base).text
    promise = {
        "promise_debt": str(call.debt_id),
        "promise_amount": "900.00",
        "promise_count": "3",
        "promise_frequency": "monthly",
        "promise_first_date": "2025-06-30",
        "idempotency_key": key_of(page),
    }
    preview = post(jo, f"{base}/promise-preview", **promise).text
    assert "Within your authority" in preview
    assert "Mon 30 Jun 2025" in preview
    assert "Wed 30 Jul 2025" in preview
    saved = post(jo, f"{base}/promises", **promise)
    assert saved.status_code == 200
    assert "Promise saved." in saved.text
    post(jo, f"{base}/promises", **promise)  # a double click
    low = {**promise, "promise_amount": "500.00", "promise_count": "1", "idempotency_key": "x" * 16}
    assert "Saved as pending approval" in post(jo, f"{base}/promises", **low).text
    late = post(
        jo,
        f"{base}/callbacks",
        callback_date="2025-06-04",
        callback_time="21:30",
        callback_zone="America/Chicago",
        callback_owner="personal",
        idempotency_key="c" * 16,
    )
    assert late.status_code == 422
    assert "Outside the calling window 08:00-21:00: 21:30 in America/Chicago" in late.text
    booked = post(
        jo,
        f"{base}/callbacks",
        callback_date="2025-06-04",
        callback_time="18:00",
        callback_zone="America/Chicago",
        callback_owner="pool",
        idempotency_key="d" * 16,
    )
    assert booked.status_code == 200
    assert "Callback scheduled." in booked.text
    post(jo, f"{base}/notes", note="Prefers calls after work.", idempotency_key="n" * 16)
    post(jo, f"{base}/disposition", code="PTP")

    with db.sessions() as session:
        promises = session.scalars(sa.select(Promise).order_by(Promise.id)).all()
        assert [(each.status.value, each.total_minor, each.settlement) for each in promises] == [
            ("active", 90_000, True),
            ("pending_approval", 50_000, True),
        ]
        callback = session.scalars(sa.select(Callback)).one()
        assert callback.due_at == dt.datetime(2025, 6, 4, 23, 0, tzinfo=dt.UTC)
        assert (callback.time_zone, callback.owner_user_id) == ("America/Chicago", None)
    log = audit_log(db)
    actions = [action for action, _, _ in log]
    for action in (
        "call.verification",
        "call.disclosure",
        "promise.created",
        "callback.scheduled",
        "note.added",
    ):
        assert action in actions
    assert actions.count("promise.created") == 2
    assert actions[-1] == "call.dispositioned"
    assert {
        actor for action, actor, _ in log if action.split(".")[0] in {"call", "promise", "callback", "note"}
    } == {f"user:{desk['agent_id']}"}
    pending = next(
        payload
        for action, _, payload in log
        if action == "promise.created" and payload["status"] == "pending_approval"
    )
    assert pending["authority_breaches"] == [
        "Settles for 40.65 % of the balance; your authority is at least 70 %."
    ]


def test_the_screen_pop_reaches_only_the_assigned_agent(
    db: Database, agent_app: Starlette, agent_server: TestClient, bus: LocalBus, desk: dict[str, Any]
) -> None:
    call: Call = desk["call"]
    jo: Browser = desk["browser"]
    with jo.socket() as tab:
        assert "Paused: Signed in" in tab.receive_text()
        tab.receive_text()  # the cleared notice
        in_app(agent_server).call(bus.publish, agent_channel(desk["agent_id"]), screen_pop(call).to_json())
        pushed = [tab.receive_text() for _ in range(2)]
        workspace = next(html for html in pushed if 'id="call-workspace"' in html)
        assert 'hx-swap-oob="true"' in workspace
        assert "Ask for Dana Example" in workspace
        assert "ACC-P1" not in workspace
        assert any('data-state="on_call"' in html for html in pushed)
        # A pop naming someone else's call shows nothing of it.
        other_person, other_debt, other_number = add_account(db, "ACME", ref="P3")
        sam_id = add_user(db, "sam", Role.AGENT, clients=["ACME"])
        sams_call = connect_call(db, other_person, other_debt, other_number, sam_id)
        in_app(agent_server).call(
            bus.publish, agent_channel(desk["agent_id"]), screen_pop(sams_call).to_json()
        )
        notice = tab.receive_text()
        assert "could not be shown" in notice
        assert "ACC-P3" not in notice
        assert "Dana" not in notice
