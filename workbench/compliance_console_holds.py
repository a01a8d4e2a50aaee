"""Holds (notices), contact restrictions and consent, as a compliance officer manages them.

Every change needs a reason and is audited in the same transaction. Nothing is deleted: a hold
is resolved, a restriction withdrawn, a consent revoked, each with its time, so the gate's
earlier decisions stay explainable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from campaigns.campaign_settings import CLOCK, WEEKDAYS
from campaigns.models import Debt, Person, Phone
from compliance import audit
from compliance.models import ContactRestriction, DirectConsent, Notice, NoticeType, RestrictionKind
from infra.db import utcnow
from workbench.manager_http import form_text, form_texts, not_found, page, parse_local_moment
from workbench.services import services_of
from workbench.viewer import ClientScope, Viewer

NOTICE_LABELS = {
    NoticeType.CEASE_COMMUNICATION: "Cease communication",
    NoticeType.REFUSAL_TO_PAY: "Refusal to pay",
    NoticeType.DISPUTE: "Dispute",
    NoticeType.ORIGINAL_CREDITOR_REQUEST: "Original creditor's request",
    NoticeType.BANKRUPTCY: "Bankruptcy",
    NoticeType.DECEASED: "Deceased",
    NoticeType.ATTORNEY: "Represented by an attorney",
}
RESTRICTION_LABELS = {
    RestrictionKind.NO_CALLS: "No calls on any number",
    RestrictionKind.NUMBER: "No calls to one number",
    RestrictionKind.PLACE: "No calls at work",
    RestrictionKind.INCONVENIENT_TIME: "Inconvenient time",
}
SEARCH_LIMIT = 50


@dataclasses.dataclass(frozen=True)
class PersonRecord:
    person: Person
    debts: list[Debt]
    phones: list[Phone]
    notices: list[Notice]
    restrictions: list[ContactRestriction]
    consents: list[DirectConsent]


def find_people(db: Session, scope: ClientScope, text: str) -> list[Person]:
    digits = "".join(character for character in text if character.isdigit())
    matches = [
        Person.person_ref == text,
        Person.id.in_(sa.select(Debt.person_id).where(Debt.account_ref == text)),
    ]
    if len(digits) >= 7:
        matches.append(Person.id.in_(sa.select(Phone.person_id).where(Phone.number.like(f"%{digits}"))))
    return list(
        db.scalars(
            sa.select(Person)
            .where(scope.filter(Person.client_id), sa.or_(*matches))
            .order_by(Person.id)
            .limit(SEARCH_LIMIT)
        )
    )


def open_holds(db: Session, scope: ClientScope) -> list[tuple[Notice, Person]]:
    return [
        (notice, person)
        for notice, person in db.execute(
            sa.select(Notice, Person)
            .join(Person, Person.id == Notice.person_id)
            .where(scope.filter(Person.client_id), Notice.resolved_at.is_(None))
            .order_by(Notice.received_at.desc())
            .limit(SEARCH_LIMIT)
        )
    ]


def person_record(db: Session, scope: ClientScope, person_id: int) -> PersonRecord | None:
    person = db.scalar(sa.select(Person).where(Person.id == person_id, scope.filter(Person.client_id)))
    if person is None:
        return None

    def of(model: Any, order: Any) -> list[Any]:
        return list(db.scalars(sa.select(model).where(model.person_id == person_id).order_by(order)))

    return PersonRecord(
        person=person,
        debts=of(Debt, Debt.account_ref),
        phones=of(Phone, Phone.id),
        notices=of(Notice, Notice.received_at.desc()),
        restrictions=of(ContactRestriction, ContactRestriction.requested_at.desc()),
        consents=of(DirectConsent, DirectConsent.given_at.desc()),
    )


@dataclasses.dataclass(frozen=True)
class Change:
    """One submitted change to a person's compliance records."""

    viewer: Viewer
    record: PersonRecord
    form: FormData
    reason: str
    now: dt.datetime

    def moment(self, name: str) -> dt.datetime | None:
        text = form_text(self.form, name, 40)
        return self.now if not text else parse_local_moment(text)

    def debt_ids(self) -> list[int] | str:
        own = {debt.id for debt in self.record.debts}
        chosen = [int(text) for text in form_texts(self.form, "debt_ids") if text.isdigit()]
        if any(debt not in own for debt in chosen):
            return "choose among this person's debts"
        return sorted(chosen)

    def audit(self, db: Session, action: str, entity: str, entity_id: int, payload: dict[str, Any]) -> None:
        audit.record(
            db,
            actor=self.viewer.actor,
            action=action,
            entity_type=entity,
            entity_id=str(entity_id),
            payload={"person_id": self.record.person.id, "reason": self.reason, **payload},
            client_id=self.record.person.client_id,
        )


def _past(moment: dt.datetime | None, now: dt.datetime, what: str) -> str | None:
    if moment is None:
        return f"give {what} as a date and time"
    if moment > now:
        return f"{what} cannot be in the future"
    return None


def _add_notice(db: Session, change: Change) -> str | None:
    try:
        kind = NoticeType(form_text(change.form, "notice_type"))
    except ValueError:
        return "choose the kind of hold"
    received = change.moment("received_at")
    debts = change.debt_ids()
    problem = _past(received, change.now, "the time it was received")
    if problem or received is None:
        return problem
    if isinstance(debts, str):
        return debts
    notice = Notice(
        person_id=change.record.person.id,
        type=kind,
        received_at=received,
        debt_ids=debts,
        details=change.reason,
        created_by=change.viewer.user_id,
    )
    db.add(notice)
    db.flush()
    change.audit(
        db, "hold.add", "notice", notice.id, {"type": kind.value, "received_at": received, "debt_ids": debts}
    )
    return None


def _own(items: list[Any], form: FormData) -> Any:
    text = form_text(form, "item_id")
    return next((item for item in items if str(item.id) == text), None)


def _resolve_notice(db: Session, change: Change) -> str | None:
    notice = _own(change.record.notices, change.form)
    if notice is None or notice.resolved_at is not None:
        return "this hold is not open"
    db.add(notice)
    notice.resolved_at = change.now
    change.audit(db, "hold.resolve", "notice", notice.id, {"type": notice.type.value})
    return None


def _add_restriction(db: Session, change: Change) -> str | None:
    try:
        kind = RestrictionKind(form_text(change.form, "restriction_kind"))
    except ValueError:
        return "choose the kind of restriction"
    requested = change.moment("requested_at")
    problem = _past(requested, change.now, "the time it was asked for")
    if problem:
        return problem
    restriction = ContactRestriction(
        person_id=change.record.person.id,
        kind=kind,
        requested_at=requested,
        reason=change.reason,
        created_by=change.viewer.user_id,
        days=[],
    )
    if kind is RestrictionKind.NUMBER:
        number = form_text(change.form, "number", 20)
        if number not in {phone.number for phone in change.record.phones}:
            return "choose one of this person's numbers"
        restriction.number = number
    elif kind is RestrictionKind.PLACE:
        restriction.place = "work"
    elif kind is RestrictionKind.INCONVENIENT_TIME:
        start, end = form_text(change.form, "time_from", 5), form_text(change.form, "time_to", 5)
        if not (CLOCK.fullmatch(start) and CLOCK.fullmatch(end)):
            return "give the inconvenient time as HH:MM to HH:MM"
        days = [day for day in form_texts(change.form, "days") if day in WEEKDAYS]
        restriction.time_from, restriction.time_to = dt.time.fromisoformat(start), dt.time.fromisoformat(end)
        restriction.days = days
    db.add(restriction)
    db.flush()
    change.audit(
        db,
        "restriction.add",
        "contact_restriction",
        restriction.id,
        {
            "kind": kind.value,
            "number": restriction.number,
            "place": restriction.place,
            "time_from": restriction.time_from,
            "time_to": restriction.time_to,
            "days": restriction.days,
        },
    )
    return None


def _withdraw_restriction(db: Session, change: Change) -> str | None:
    restriction = _own(change.record.restrictions, change.form)
    if restriction is None or restriction.withdrawn_at is not None:
        return "this restriction is not in force"
    db.add(restriction)
    restriction.withdrawn_at = change.now
    change.audit(
        db, "restriction.withdraw", "contact_restriction", restriction.id, {"kind": restriction.kind.value}
    )
    return None


def _add_consent(db: Session, change: Change) -> str | None:
    given = change.moment("given_at")
    debts = change.debt_ids()
    problem = _past(given, change.now, "the time consent was given")
    if problem or given is None:
        return problem
    if isinstance(debts, str):
        return debts
    consent = DirectConsent(
        person_id=change.record.person.id, given_at=given, debt_ids=debts, created_by=change.viewer.user_id
    )
    db.add(consent)
    db.flush()
    change.audit(
        db, "consent.direct_add", "direct_consent", consent.id, {"given_at": given, "debt_ids": debts}
    )
    return None


def _phone_consent(db: Session, change: Change, *, give: bool) -> str | None:
    phone = _own(change.record.phones, change.form)
    if phone is None:
        return "choose one of this person's numbers"
    live = phone.consent_given_at is not None and phone.consent_revoked_at is None
    if give == live:
        return "consent to autodialled calls is already " + ("on record" if live else "absent or withdrawn")
    db.add(phone)
    if give:
        phone.consent_given_at, phone.consent_revoked_at = change.now, None
    else:
        phone.consent_revoked_at = change.now
    action = "consent.autodial_record" if give else "consent.autodial_withdraw"
    change.audit(db, action, "phone", phone.id, {"number": phone.number})
    return None


CHANGES: dict[str, tuple[str, Callable[[Session, Change], str | None]]] = {
    "notice_add": ("Hold added.", _add_notice),
    "notice_resolve": ("Hold resolved.", _resolve_notice),
    "restriction_add": ("Restriction added.", _add_restriction),
    "restriction_withdraw": ("Restriction withdrawn.", _withdraw_restriction),
    "consent_add": ("Direct consent recorded.", _add_consent),
    "phone_consent_record": (
        "Consent to autodialled calls recorded.",
        lambda db, change: _phone_consent(db, change, give=True),
    ),
    "phone_consent_withdraw": (
        "Consent to autodialled calls withdrawn.",
        lambda db, change: _phone_consent(db, change, give=False),
    ),
}


def _context() -> dict[str, Any]:
    return {
        "notice_types": NOTICE_LABELS,
        "restriction_kinds": RESTRICTION_LABELS,
        "weekdays": WEEKDAYS,
    }


async def holds_page(request: Request, viewer: Viewer) -> Response:
    text = request.query_params.get("find", "").strip()[:100]

    def load(db: Session) -> tuple[list[Person], list[tuple[Notice, Person]]]:
        return (find_people(db, viewer.scope, text) if text else []), open_holds(db, viewer.scope)

    people, holds = await services_of(request).run_db(load)
    return page(
        request, viewer, "compliance/holds.html", find=text, people=people, holds=holds, labels=NOTICE_LABELS
    )


async def _person_page(
    request: Request,
    viewer: Viewer,
    person_id: int,
    *,
    notice: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    record = await services_of(request).run_db(lambda db: person_record(db, viewer.scope, person_id))
    if record is None:
        return not_found(request, viewer, "person")
    return page(
        request,
        viewer,
        "compliance/person.html",
        status_code=status_code,
        record=record,
        notice=notice,
        error=error,
        debt_refs={debt.id: debt.account_ref for debt in record.debts},
        **_context(),
    )


async def person_page(request: Request, viewer: Viewer) -> Response:
    return await _person_page(request, viewer, request.path_params["person_id"])


async def change_records(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    person_id: int = request.path_params["person_id"]
    form = await request.form()
    kind = form_text(form, "change")
    reason = form_text(form, "reason", limit=1000)
    if kind not in CHANGES:
        return await _person_page(request, viewer, person_id, error="Unknown change.", status_code=422)
    if not reason:
        return await _person_page(
            request, viewer, person_id, error="Give a reason for the change.", status_code=422
        )
    done, apply = CHANGES[kind]

    def save(db: Session) -> str | None:
        record = person_record(db, viewer.scope, person_id)
        if record is None:
            return None
        return apply(db, Change(viewer, record, form, reason, utcnow())) or ""

    outcome = await services.run_db(save)
    if outcome is None:
        return not_found(request, viewer, "person")
    if outcome:
        return await _person_page(request, viewer, person_id, error=f"Not saved: {outcome}.", status_code=422)
    return await _person_page(request, viewer, person_id, notice=done)
