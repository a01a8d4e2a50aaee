"""Callbacks in the person's local time: the agent picks a local date and time and the zone it
is in (the address zone by default); the callback is stored as a UTC instant with that zone.

A time outside the calling window in any zone the person may be in is refused, whichever zone
the agent typed it in: the callback will be dialled through the same gate.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from campaigns.models import Callback, CallbackStatus, Phone
from compliance import policy as rules
from compliance.gate import DialRequest
from workbench.agent_calls import CallNotFoundError, attempt_debt_ids, is_open, load_attempt, load_steps
from workbench.agent_compliance import case_for, window_of, zone_clock
from workbench.agent_workspace import fragment, no_such_call, render_workspace
from workbench.agent_writes import DuplicateSubmissionError, MissingKeyError, audit_call_write, form_key, once
from workbench.services import services_of
from workbench.viewer import Viewer

# A callback further ahead than this is a plan, not a callback.
MAX_DAYS_AHEAD = 90


class CallbackError(ValueError):
    pass


def local_instant(day: str, clock: str, zone_name: str) -> dt.datetime:
    """The UTC instant of a wall-clock time in a zone; a time that does not exist there (the hour
    skipped when clocks go forward) is refused rather than guessed."""
    try:
        zone = ZoneInfo(zone_name)
        local = dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(clock), zone)
    except (ValueError, KeyError):
        raise CallbackError("Choose the date, time and time zone of the callback.") from None
    instant = local.astimezone(dt.UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise CallbackError(f"{day} {clock} does not exist in {zone_name} (the clocks change).")
    return instant


def _save(
    db: Session, viewer: Viewer, attempt_uuid: str, form: dict[str, str], *, now: dt.datetime, policy: str
) -> Callback:
    attempt = load_attempt(db, viewer, attempt_uuid, for_update=True)
    if not load_steps(db, attempt).unlocked:
        raise CallbackError("Verify the right party and give the disclosure first.")
    if not is_open(attempt):
        raise CallbackError("This call is finished; callbacks are agreed during the call.")
    phone = None
    if form.get("callback_phone"):
        try:
            phone = db.get(Phone, int(form["callback_phone"]))
        except ValueError:
            phone = None
        if phone is None or phone.person_id != attempt.person_id:
            raise CallbackError("Choose one of the person's numbers.")
    number = phone.number if phone is not None else attempt.number
    zone_name = form.get("callback_zone", "")
    due_at = local_instant(form.get("callback_date", ""), form.get("callback_time", ""), zone_name)
    if due_at <= now:
        raise CallbackError("The callback time has already passed.")
    if due_at > now + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise CallbackError(f"A callback is at most {MAX_DAYS_AHEAD} days ahead.")
    debt_ids = attempt_debt_ids(db, attempt)
    request = DialRequest(
        person_id=attempt.person_id, number=number, debt_ids=tuple(debt_ids), mode=attempt.mode, at=due_at
    )
    case = case_for(db, attempt.person_id, request, policy)
    zones = list(rules.candidate_zones(case))
    if zone_name not in zones:
        raise CallbackError("Choose one of the person's time zones.")
    window = window_of(case, rules.load_policy(policy))
    closed = [zone_clock(zone, due_at, window) for zone in zones]
    outside = [f"{clock.local:%H:%M} in {clock.zone}" for clock in closed if clock.state == "closed"]
    if outside:
        raise CallbackError(f"Outside the calling window {window.label()}: {', '.join(outside)}.")
    owner = form.get("callback_owner", "personal")
    if owner not in {"personal", "pool"}:
        raise CallbackError("Choose who calls back: you or any agent.")
    callback = Callback(
        person_id=attempt.person_id,
        debt_id=debt_ids[0] if debt_ids else None,
        phone_id=phone.id if phone is not None else attempt.phone_id,
        campaign_id=attempt.campaign_id,
        due_at=due_at,
        time_zone=zone_name,
        owner_user_id=viewer.user_id if owner == "personal" else None,
        status=CallbackStatus.PENDING,
        attempt_id=attempt.id,
        created_by=viewer.user_id,
        created_at=now,
    )
    db.add(callback)
    db.flush()
    audit_call_write(
        db,
        viewer,
        attempt,
        action="callback.scheduled",
        entity_type="callback",
        entity_id=str(callback.id),
        payload={"due_at": due_at, "time_zone": zone_name, "number": number, "owner": owner},
    )
    return callback


async def schedule(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    attempt_uuid = request.path_params["attempt_uuid"]
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    try:
        async with once(services, viewer, form_key(form)) as write:
            await write.run_db(
                lambda db: _save(
                    db, viewer, attempt_uuid, form, now=services.clock(), policy=services.settings.policy
                )
            )
    except DuplicateSubmissionError:
        pass
    except (CallbackError, MissingKeyError) as error:
        html = services.pages.render("agent/callback_error.html", error=str(error))
        return fragment(html, 422, retarget="#callback-error")
    except CallNotFoundError:
        return no_such_call(services)
    return fragment(
        await render_workspace(services, viewer, attempt_uuid, callback_message="Callback scheduled.")
    )
