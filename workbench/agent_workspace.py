"""The agent's account workspace: the screen pop, the right-party steps and the account itself.

Until the person on the line is verified as the right party and has heard the debt-collector
disclosure, the workspace shows only the name to ask for, the verification form and the
dispositions that need no conversation (a third party must not learn about the debt).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from campaigns.events import EventFormatError, ScreenPop
from campaigns.models import Callback, CallbackStatus, Note, Person
from campaigns.promises import FREQUENCY_LABELS, Frequency
from compliance.models import ContactAttempt, DispositionCode
from compliance.policy import case as model
from compliance.policy.geography import address_zones
from infra.identifiers import IdentifierKind, verify
from infra.models import Role
from infra.money import format_minor
from workbench.agent_account import load_account
from workbench.agent_calls import (
    DISCLOSED_MARK,
    MAX_VERIFICATION_FAILURES,
    NOT_VERIFIED_MARK,
    VERIFIED_MARK,
    CallNotFoundError,
    is_open,
    load_attempt,
    load_steps,
    person_of,
)
from workbench.agent_compliance import compliance_strip
from workbench.agent_state import Activity, ConnectCall, Refused
from workbench.agent_writes import DuplicateSubmissionError, MissingKeyError, audit_call_write, form_key, once
from workbench.call_facts import load_call_facts
from workbench.services import Services, services_of
from workbench.viewer import Viewer
from workbench.ws import EventRenderer

log = logging.getLogger(__name__)

# Codes that record what was said to the right party need the party verified and disclosed.
CONVERSATION_FIELDS = frozenset({"promise", "payment", "callback"})
DISCLOSURE = (
    "This is a communication from a debt collector. This is an attempt to collect a debt, "
    "and any information obtained will be used for that purpose."
)
NOTE_LIMIT = 4000


def local_time(moment: dt.datetime, zone: str) -> str:
    """A consumer-facing time in the person's zone, with its abbreviation."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M %Z")


def needs_conversation(code: DispositionCode) -> bool:
    return code.is_conversation or bool(CONVERSATION_FIELDS & set(code.required_fields))


def _zone_choices(person_zones: list[str], address: model.Address | None) -> tuple[list[str], str | None]:
    default = None
    if address is not None:
        default = next((zone for zone in address_zones(address) if zone in person_zones), None)
    return person_zones, default or (person_zones[0] if person_zones else None)


def call_context(
    db: Session, viewer: Viewer, attempt: ContactAttempt, now: dt.datetime, policy_name: str
) -> dict[str, Any]:
    """Everything the workspace template shows for one call, as this agent may see it; the
    attempt must be theirs (`load_attempt`). The account is read only when it may be shown."""
    facts = load_call_facts(db, attempt, now)
    steps = facts.steps
    account = load_account(db, facts, now.date()) if steps.unlocked else None
    strip = compliance_strip(facts, account, now=now, policy_name=policy_name)
    zones, default_zone = _zone_choices(
        [clock.zone for clock in strip.clocks], None if account is None else account.address
    )
    # What the agent may choose, and what a code chosen earlier is called, as the dock shows them.
    selectable = [code for code in facts.codes if code.active and code.agent_selectable]
    return {
        "viewer": viewer,
        "csrf_token": viewer.session.csrf_token,
        "attempt": attempt,
        "person": facts.person,
        "steps": steps,
        "max_failures": MAX_VERIFICATION_FAILURES,
        "disclosure": DISCLOSURE,
        "account": account,
        "strip": strip,
        "codes": [code for code in selectable if steps.unlocked or not needs_conversation(code)],
        "open": is_open(attempt),
        "disposition_label": {code.code: code.label for code in selectable}.get(
            attempt.disposition_code or "", attempt.disposition_code
        ),
        "call_debt_ids": [] if account is None else account.on_call_debt_ids,
        "promises_on_call": facts.live_promises_on_call,
        "callbacks_on_call": facts.callbacks_on_call,
        "callback_zones": zones,
        "default_zone": default_zone,
        "frequencies": [(frequency.value, FREQUENCY_LABELS[frequency]) for frequency in Frequency],
        "money": format_minor,
        "local_time": local_time,
        "new_key": lambda: str(uuid.uuid4()),
        "now": now,
    }


def workspace_context(
    db: Session, viewer: Viewer, attempt_uuid: str, now: dt.datetime, policy_name: str
) -> dict[str, Any]:
    return call_context(db, viewer, load_attempt(db, viewer, attempt_uuid), now, policy_name)


async def render_workspace(
    services: Services, viewer: Viewer, attempt_uuid: str, *, oob: bool = False, **extra: Any
) -> str:
    context = await services.run_db(
        lambda db: workspace_context(db, viewer, attempt_uuid, services.clock(), services.settings.policy)
    )
    return services.pages.render("agent/workspace.html", oob=oob, **{**context, **extra})


def _idle_context(db: Session, viewer: Viewer, now: dt.datetime) -> dict[str, Any]:
    rows = db.execute(
        sa.select(Callback, Person)
        .join(Person, Person.id == Callback.person_id)
        .where(
            Callback.owner_user_id == viewer.user_id,
            Callback.status == CallbackStatus.PENDING,
            viewer.scope.filter(Person.client_id),
        )
        .order_by(Callback.due_at)
        .limit(20)
    ).all()
    return {
        "callbacks": [(callback, person) for callback, person in rows],
        "now": now,
        "local_time": local_time,
    }


async def render_idle(services: Services, viewer: Viewer) -> str:
    context = await services.run_db(lambda db: _idle_context(db, viewer, services.clock()))
    return services.pages.render("agent/idle.html", viewer=viewer, **context)


def fragment(html: str, status_code: int = 200, *, retarget: str | None = None) -> HTMLResponse:
    headers = {} if retarget is None else {"HX-Retarget": retarget, "HX-Reswap": "outerHTML"}
    return HTMLResponse(html, status_code=status_code, headers=headers)


def no_such_call(services: Services) -> HTMLResponse:
    return fragment(
        services.pages.render("agent/missing.html", message="No such call is assigned to you."), 404
    )


async def current_call(request: Request, viewer: Viewer) -> Response:
    """The workspace of the agent's current call (on the call or wrapping it up), else the idle
    screen: what a reloaded page shows."""
    services = services_of(request)
    record = await services.agents.get(viewer.user_id)
    if record is not None and record.status.call is not None:
        try:
            return fragment(await render_workspace(services, viewer, record.status.call))
        except CallNotFoundError:
            log.warning("agent %s holds call %s that is not theirs", viewer.user_id, record.status.call)
    return fragment(await render_idle(services, viewer))


async def open_call(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    try:
        return fragment(await render_workspace(services, viewer, request.path_params["attempt_uuid"]))
    except CallNotFoundError:
        return no_such_call(services)


async def _form(request: Request) -> dict[str, str]:
    return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}


def _verify(
    db: Session,
    viewer: Viewer,
    attempt_uuid: str,
    answers: dict[IdentifierKind, str],
    *,
    secret: str,
    now: dt.datetime,
) -> str | None:
    """Check what the person said against the stored hashes and record the result; the message
    for the agent, or None when verified."""
    attempt = load_attempt(db, viewer, attempt_uuid, for_update=True)
    steps = load_steps(db, attempt)
    if not is_open(attempt):
        return "This call is finished."
    if steps.verified:
        return None
    if steps.third_party:
        return "Verification failed too often: follow the third-party script."
    person = person_of(db, attempt)
    stored = {
        IdentifierKind.DATE_OF_BIRTH: person.date_of_birth_hash,
        IdentifierKind.SSN_LAST4: person.ssn_last4_hash,
    }
    results = {
        kind: verify(secret, person.identifier_salt, kind, answer, stored[kind])
        for kind, answer in answers.items()
    }
    passed = all(results.values())
    names = ", ".join(kind.value.replace("_", " ") for kind in results)
    mark = VERIFIED_MARK if passed else NOT_VERIFIED_MARK
    note = Note(
        person_id=person.id,
        attempt_id=attempt.id,
        author_id=None,
        created_at=now,
        body=f"{mark}: {names} {'matched' if passed else 'did not match'} (agent {viewer.display_name}).",
    )
    db.add(note)
    db.flush()
    audit_call_write(
        db,
        viewer,
        attempt,
        action="call.verification",
        entity_type="contact_attempt",
        entity_id=attempt.uuid,
        # Which identifiers were asked and whether each matched; never the values.
        payload={
            "passed": passed,
            "identifiers": {kind.value: ok for kind, ok in results.items()},
            "note_id": note.id,
        },
    )
    if passed:
        return None
    left = MAX_VERIFICATION_FAILURES - steps.failed_verifications - 1
    if left <= 0:
        return "The answers did not match. Treat the caller as a third party: give no details about the debt."
    plural = "s" if left != 1 else ""
    return f"The answers did not match. {left} more attempt{plural} before the third-party script."


async def verify_party(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    attempt_uuid = request.path_params["attempt_uuid"]
    form = await _form(request)
    answers = {
        kind: form.get(kind.value, "").strip()
        for kind in (IdentifierKind.DATE_OF_BIRTH, IdentifierKind.SSN_LAST4)
        if form.get(kind.value, "").strip()
    }
    message: str | None = None
    try:
        if not answers:
            message = "Enter the date of birth or the last four digits of the SSN the person gives."
        else:
            secret = services.settings.effective_secret_key
            # Keyed like every agent write: a retry after a lost answer must not count a failed
            # verification twice (three failures switch the call to the third-party script).
            async with once(services, viewer, form_key(form)) as write:
                message = await write.run_db(
                    lambda db: _verify(db, viewer, attempt_uuid, answers, secret=secret, now=services.clock())
                )
    except DuplicateSubmissionError:
        pass  # already recorded: show the steps as they stand
    except MissingKeyError as error:
        message = str(error)
    except CallNotFoundError:
        return no_such_call(services)
    return await _steps_answer(services, viewer, attempt_uuid, message)


async def _steps_answer(
    services: Services, viewer: Viewer, attempt_uuid: str, message: str | None
) -> Response:
    try:
        return fragment(await render_workspace(services, viewer, attempt_uuid, step_message=message))
    except CallNotFoundError:
        return no_such_call(services)


def _disclose(db: Session, viewer: Viewer, attempt_uuid: str, now: dt.datetime) -> str | None:
    attempt = load_attempt(db, viewer, attempt_uuid, for_update=True)
    steps = load_steps(db, attempt)
    if not steps.verified:
        return "Verify the right party before giving the disclosure."
    if steps.disclosed_at is not None or not is_open(attempt):
        return None
    note = Note(
        person_id=attempt.person_id,
        attempt_id=attempt.id,
        author_id=None,
        created_at=now,
        body=f"{DISCLOSED_MARK}: read by agent {viewer.display_name}.",
    )
    db.add(note)
    db.flush()
    audit_call_write(
        db,
        viewer,
        attempt,
        action="call.disclosure",
        entity_type="contact_attempt",
        entity_id=attempt.uuid,
        payload={"text": DISCLOSURE, "note_id": note.id},
    )
    return None


async def give_disclosure(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    attempt_uuid = request.path_params["attempt_uuid"]
    form = await _form(request)
    message: str | None = None
    try:
        if form.get("disclosure_read") != "yes":
            message = "Tick the box once you have read the disclosure to the person."
        else:
            async with once(services, viewer, form_key(form)) as write:
                message = await write.run_db(lambda db: _disclose(db, viewer, attempt_uuid, services.clock()))
    except DuplicateSubmissionError:
        pass  # already recorded
    except MissingKeyError as error:
        message = str(error)
    except CallNotFoundError:
        return no_such_call(services)
    return await _steps_answer(services, viewer, attempt_uuid, message)


def _add_note(db: Session, viewer: Viewer, attempt_uuid: str, body: str, now: dt.datetime) -> None:
    attempt = load_attempt(db, viewer, attempt_uuid)
    note = Note(
        person_id=attempt.person_id,
        attempt_id=attempt.id,
        author_id=viewer.user_id,
        body=body,
        created_at=now,
    )
    db.add(note)
    db.flush()
    audit_call_write(
        db,
        viewer,
        attempt,
        action="note.added",
        entity_type="note",
        entity_id=str(note.id),
        payload={"length": len(body)},
    )


async def add_note(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    attempt_uuid = request.path_params["attempt_uuid"]
    form = await _form(request)
    body = form.get("note", "").strip()
    message = None
    try:
        if not body:
            message = "Write the note first."
        elif len(body) > NOTE_LIMIT:
            message = f"A note holds at most {NOTE_LIMIT} characters."
        else:
            async with once(services, viewer, form_key(form)) as write:
                await write.run_db(lambda db: _add_note(db, viewer, attempt_uuid, body, services.clock()))
    except DuplicateSubmissionError:
        pass  # already saved: show the notes as they are
    except MissingKeyError as error:
        message = str(error)
    try:
        return fragment(await render_workspace(services, viewer, attempt_uuid, note_message=message))
    except CallNotFoundError:
        return no_such_call(services)


def screen_pop_renderer(get_services: Callable[[], Services]) -> EventRenderer:
    """Renders the engine's screen pop into an agent's tab, after checking on the server that the
    attempt is assigned to this agent and belongs to a client in their scope."""

    async def render(viewer: Viewer, body: dict[str, Any]) -> str:
        services = get_services()
        if viewer.role is not Role.AGENT:
            return ""
        try:
            pop = ScreenPop.from_json(body)
        except EventFormatError as error:
            log.warning("ignored a screen pop for user %s: %s", viewer.user_id, error)
            return ""

        def prepare(db: Session) -> dict[str, Any]:
            # The check and the reads share one transaction: a pop is one trip to the database.
            attempt = load_attempt(db, viewer, pop.attempt_uuid)
            if attempt.person_id != pop.person_id or not is_open(attempt):
                raise CallNotFoundError(pop.attempt_uuid)
            return call_context(db, viewer, attempt, services.clock(), services.settings.policy)

        try:
            context = await services.run_db(prepare)
        except CallNotFoundError:
            log.warning("refused screen pop of attempt %s for user %s", pop.attempt_uuid, viewer.user_id)
            return services.pages.render(
                "fragments/notice.html",
                message="A call could not be shown: it is not assigned to you.",
                oob=True,
            )
        result = await services.agents.apply(viewer, ConnectCall(pop.attempt_uuid))
        if isinstance(result, Refused):
            # Never replace the screen of the call the agent is on.
            log.warning("screen pop %s for user %s: %s", pop.attempt_uuid, viewer.user_id, result.reason)
            return services.pages.render(
                "fragments/notice.html",
                message=f"Another call could not be shown: {result.reason}.",
                oob=True,
            )
        if result.status.activity is not Activity.ON_CALL:
            log.warning(
                "screen pop %s for user %s in state %s", pop.attempt_uuid, viewer.user_id, result.status
            )
        return services.pages.render("agent/workspace.html", oob=True, **context)

    return render
