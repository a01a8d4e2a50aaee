"""Attempt search and the attempt record with its gate decision, shared by the compliance
console's pages and the JSON API.

A date range is read either in UTC or in the person's local time: an attempt matches a local
range when its local time in any zone the person may be in falls inside it (the same "every
plausible zone" reading the gate uses).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.models import Address, Campaign, Debt, Person
from compliance.models import AttemptDebt, ContactAttempt, GateDecision, Outcome
from compliance.policy import candidate_zones
from compliance.policy import case as model
from infra.models import User
from workbench.viewer import ClientScope

RESULT_LIMIT = 200
# Every UTC offset in use lies within this of UTC, so a local range maps inside this margin.
ZONE_MARGIN = dt.timedelta(hours=14)
DIGITS = re.compile(r"\D+")


class QueryError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


@dataclasses.dataclass(frozen=True)
class AttemptQuery:
    account_ref: str = ""
    person_ref: str = ""
    number: str = ""
    agent_id: int | None = None
    campaign_id: int | None = None
    outcome: Outcome | None = None
    start: dt.datetime | None = None  # naive when `local_time`, else UTC
    end: dt.datetime | None = None
    local_time: bool = False

    @property
    def empty(self) -> bool:
        return self == AttemptQuery(local_time=self.local_time)


def _moment(text: str, local: bool) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    if local:
        return moment.replace(tzinfo=None)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def parse_query(params: Mapping[str, str]) -> AttemptQuery:
    """Search filters from query parameters; every bad one is named."""
    problems: list[tuple[str, str]] = []

    def text(name: str, limit: int = 100) -> str:
        return params.get(name, "").strip()[:limit]

    def integer(name: str) -> int | None:
        value = text(name)
        if not value:
            return None
        if not value.isdigit():
            problems.append((name, "must be a whole number"))
            return None
        return int(value)

    zone_mode = text("zone") or "utc"
    if zone_mode not in {"utc", "local"}:
        problems.append(("zone", "must be utc or local"))
    local = zone_mode == "local"
    moments: dict[str, dt.datetime | None] = {}
    for name in ("from", "to"):
        value = text(name, 40)
        try:
            moments[name] = _moment(value, local) if value else None
        except ValueError:
            problems.append((name, "must be a date and time such as 2025-06-02T08:00"))
            moments[name] = None
    outcome_text = text("outcome")
    outcome = None
    if outcome_text:
        try:
            outcome = Outcome(outcome_text)
        except ValueError:
            problems.append(("outcome", "not an outcome"))
    number = text("phone", 30)
    if number:
        digits = DIGITS.sub("", number)
        number = (
            f"+{digits}" if number.startswith("+") else f"+1{digits}" if len(digits) == 10 else f"+{digits}"
        )
    query = AttemptQuery(
        account_ref=text("account"),
        person_ref=text("person"),
        number=number,
        agent_id=integer("agent"),
        campaign_id=integer("campaign"),
        outcome=outcome,
        start=moments["from"],
        end=moments["to"],
        local_time=local,
    )
    if query.start and query.end and query.start > query.end:
        problems.append(("to", "must not be before the start"))
    if problems:
        raise QueryError(problems)
    return query


@dataclasses.dataclass(frozen=True)
class AttemptRow:
    attempt: ContactAttempt
    person: Person
    decision: GateDecision | None
    campaign_name: str | None
    agent_name: str | None
    account_refs: tuple[str, ...]
    zones: tuple[str, ...]

    @property
    def placed_at(self) -> dt.datetime:
        return self.attempt.dialed_at or self.attempt.reserved_at

    def local_times(self) -> list[tuple[str, dt.datetime]]:
        return [(zone, self.placed_at.astimezone(ZoneInfo(zone))) for zone in self.zones]


def person_zones(person: Person, address: Address | None, number: str) -> tuple[str, ...]:
    """The zones the person may be in when called on `number`, as the rules engine reads them."""
    case = model.Case(
        person=model.Person(
            id=str(person.id),
            address=(
                model.Address(address.country, address.state, address.postal_code, address.city)
                if address is not None
                else None
            ),
            time_zones=tuple(person.extra_time_zones or ()),
        ),
        debts=(),
        phones=(),
        call=model.ProposedCall(
            at=dt.datetime.now(dt.UTC), number=number, debt_ids=frozenset(), mode=model.DialMode.MANUAL
        ),
    )
    return candidate_zones(case)


def _in_local_range(row: AttemptRow, query: AttemptQuery) -> bool:
    for _, local in row.local_times():
        wall = local.replace(tzinfo=None)
        if (query.start is None or wall >= query.start) and (query.end is None or wall <= query.end):
            return True
    return False


def search_attempts(
    db: Session, scope: ClientScope, query: AttemptQuery, limit: int = RESULT_LIMIT
) -> list[AttemptRow]:
    placed = sa.func.coalesce(ContactAttempt.dialed_at, ContactAttempt.reserved_at)
    statement = (
        sa.select(ContactAttempt, Person)
        .join(Person, Person.id == ContactAttempt.person_id)
        .where(scope.filter(ContactAttempt.client_id))
        .order_by(ContactAttempt.reserved_at.desc(), ContactAttempt.id.desc())
    )
    margin = ZONE_MARGIN if query.local_time else dt.timedelta()
    if query.start is not None:
        statement = statement.where(placed >= query.start.replace(tzinfo=dt.UTC) - margin)
    if query.end is not None:
        statement = statement.where(placed <= query.end.replace(tzinfo=dt.UTC) + margin)
    if query.account_ref:
        statement = statement.where(
            ContactAttempt.id.in_(
                sa.select(AttemptDebt.attempt_id)
                .join(Debt, Debt.id == AttemptDebt.debt_id)
                .where(Debt.account_ref == query.account_ref)
            )
        )
    if query.person_ref:
        statement = statement.where(Person.person_ref == query.person_ref)
    if query.number:
        statement = statement.where(ContactAttempt.number == query.number)
    if query.agent_id is not None:
        statement = statement.where(ContactAttempt.agent_id == query.agent_id)
    if query.campaign_id is not None:
        statement = statement.where(ContactAttempt.campaign_id == query.campaign_id)
    if query.outcome is not None:
        statement = statement.where(ContactAttempt.outcome == query.outcome)
    # A local range is settled in Python; fetch enough to fill the page after it.
    fetched = [
        (attempt, person)
        for attempt, person in db.execute(statement.limit(limit * 4 if query.local_time else limit))
    ]
    rows = _rows(db, fetched)
    if query.local_time:
        rows = [row for row in rows if _in_local_range(row, query)]
    return rows[:limit]


def _rows(db: Session, fetched: Sequence[tuple[ContactAttempt, Person]]) -> list[AttemptRow]:
    attempts = [attempt for attempt, _ in fetched]
    decision_ids = [attempt.gate_decision_id for attempt in attempts if attempt.gate_decision_id]
    decisions = {
        decision.id: decision
        for decision in db.scalars(sa.select(GateDecision).where(GateDecision.id.in_(decision_ids)))
    }
    campaigns = dict(
        db.execute(
            sa.select(Campaign.id, Campaign.name).where(
                Campaign.id.in_({attempt.campaign_id for attempt in attempts if attempt.campaign_id})
            )
        ).all()
    )
    agents = dict(
        db.execute(
            sa.select(User.id, User.display_name).where(
                User.id.in_({attempt.agent_id for attempt in attempts if attempt.agent_id})
            )
        ).all()
    )
    refs: dict[int, list[str]] = defaultdict(list)
    for attempt_id, account_ref in db.execute(
        sa.select(AttemptDebt.attempt_id, Debt.account_ref)
        .join(Debt, Debt.id == AttemptDebt.debt_id)
        .where(AttemptDebt.attempt_id.in_([attempt.id for attempt in attempts]))
        .order_by(Debt.account_ref)
    ):
        refs[attempt_id].append(account_ref)
    addresses: dict[int, Address] = {}
    for address in db.scalars(
        sa.select(Address)
        .where(Address.person_id.in_({person.id for _, person in fetched}), Address.is_current.is_(True))
        .order_by(Address.id)
    ):
        addresses[address.person_id] = address  # the newest current address wins, as in the gate
    return [
        AttemptRow(
            attempt=attempt,
            person=person,
            decision=decisions.get(attempt.gate_decision_id or 0),
            campaign_name=campaigns.get(attempt.campaign_id or 0),
            agent_name=agents.get(attempt.agent_id or 0),
            account_refs=tuple(refs[attempt.id]),
            zones=person_zones(person, addresses.get(person.id), attempt.number),
        )
        for attempt, person in fetched
    ]


def attempt_row(db: Session, scope: ClientScope, attempt_id: int) -> AttemptRow | None:
    fetched = [
        (attempt, person)
        for attempt, person in db.execute(
            sa.select(ContactAttempt, Person)
            .join(Person, Person.id == ContactAttempt.person_id)
            .where(ContactAttempt.id == attempt_id, scope.filter(ContactAttempt.client_id))
        )
    ]
    rows = _rows(db, fetched)
    return rows[0] if rows else None


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def decision_json(decision: GateDecision) -> dict[str, Any]:
    return {
        "id": decision.id,
        "decided_at": decision.decided_at.isoformat(),
        "allowed": decision.allowed,
        "rule": decision.rule,
        "reason": decision.reason,
        "policy_name": decision.policy_name,
        "policy_version": decision.policy_version,
        "inputs_digest": decision.inputs_digest,
        "next_allowed_at": _iso(decision.next_allowed_at),
        "verdict": decision.verdict,
    }


def attempt_json(row: AttemptRow) -> dict[str, Any]:
    attempt = row.attempt
    return {
        "id": attempt.id,
        "uuid": attempt.uuid,
        "client_id": attempt.client_id,
        "campaign_id": attempt.campaign_id,
        "campaign": row.campaign_name,
        "person_id": attempt.person_id,
        "person_ref": row.person.person_ref,
        "account_refs": list(row.account_refs),
        "number": attempt.number,
        "direction": attempt.direction,
        "mode": attempt.mode.value,
        "status": attempt.status.value,
        "outcome": attempt.outcome.value if attempt.outcome else None,
        "disposition_code": attempt.disposition_code,
        "agent_id": attempt.agent_id,
        "agent": row.agent_name,
        "reserved_at": attempt.reserved_at.isoformat(),
        "dialed_at": _iso(attempt.dialed_at),
        "answered_at": _iso(attempt.answered_at),
        "connected_at": _iso(attempt.connected_at),
        "ended_at": _iso(attempt.ended_at),
        "local_times": {zone: local.isoformat() for zone, local in row.local_times()},
        "gate_decision": decision_json(row.decision) if row.decision else None,
    }


OUTCOME_CHOICES = tuple(Outcome)
