"""The dial gate: check and reserve in one step.

Every dial (predictive, progressive, preview or a manual click) goes through `DialGate.reserve`.
Inside one transaction it takes a lock per person, reads what the rules need (the person's
notices, restrictions, consents and recent attempts, plus account facts from the caller), asks
the pure rules engine, stores the decision, and, when allowed, inserts the attempt as
`reserved`. Because the reserved attempt is counted before the lock is released, any number of
processes racing for the same person can never exceed a cap.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from compliance import policy as rules
from compliance.batch_sql import among
from compliance.gate_writes import store_batch
from compliance.models import (
    AttemptDebt,
    AttemptStatus,
    ContactAttempt,
    ContactRestriction,
    DialingMode,
    DirectConsent,
    Notice,
    NoticeType,
    Outcome,
    RestrictionKind,
)
from compliance.policy import case as model

# Far enough back for every window the policies use (30-day state caps, 7-day Reg F windows).
HISTORY_LOOKBACK = dt.timedelta(days=35)
# Namespace of the PostgreSQL advisory locks the gate takes, one per person.
_LOCK_NAMESPACE = 0x4152  # "AR"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclasses.dataclass(frozen=True)
class PhoneFacts:
    number: str
    type: str
    consent_given_at: dt.datetime | None = None
    consent_revoked_at: dt.datetime | None = None
    reassigned_checked_at: dt.datetime | None = None
    reassigned_result: str | None = None


@dataclasses.dataclass(frozen=True)
class DebtFacts:
    id: int
    kind: str
    student_loan_account: str | None = None


@dataclasses.dataclass(frozen=True)
class AccountFacts:
    """What the account records (owned by `campaigns`) say about the person the gate needs."""

    person_id: int
    client_id: int
    address: model.Address | None
    extra_time_zones: tuple[str, ...]
    debts: tuple[DebtFacts, ...]
    phones: tuple[PhoneFacts, ...]


# Reads account facts of several people inside the gate's transaction; `campaigns` provides it.
AccountFactsLoader = Callable[[Session, Sequence[int]], dict[int, AccountFacts]]


@dataclasses.dataclass(frozen=True)
class DialRequest:
    person_id: int
    number: str
    debt_ids: tuple[int, ...]
    mode: DialingMode
    at: dt.datetime
    campaign_id: int | None = None
    agent_id: int | None = None
    phone_id: int | None = None


@dataclasses.dataclass(frozen=True)
class GateResult:
    allowed: bool
    verdict: dict[str, object]
    decision_id: int
    attempt_id: int | None
    attempt_uuid: str | None

    @property
    def next_allowed_at(self) -> dt.datetime | None:
        text = self.verdict.get("next_allowed_at")
        return dt.datetime.fromisoformat(text) if isinstance(text, str) else None


class DialGate:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        load_account: AccountFactsLoader,
        policy_name: str,
    ) -> None:
        self._sessions = sessions
        self._load_account = load_account
        self._policy = rules.load_policy(policy_name)

    def check(self, request: DialRequest) -> dict[str, object]:
        """The verdict for a what-if question; stores nothing."""
        with self._sessions() as session:
            [(case, _)] = self._cases(session, [request])
        return rules.evaluate(case, self._policy).to_json()

    def reserve(self, request: DialRequest) -> GateResult:
        [result] = self.reserve_many([request])
        return result

    def reserve_many(self, requests: Sequence[DialRequest]) -> list[GateResult]:
        """Decide several calls, to different people, in one transaction (a hopper's batch).

        A fixed number of statements whatever the batch size: one for the locks, one set-based
        read per record table, and the writes of `store_batch`.
        """
        people = [request.person_id for request in requests]
        if len(set(people)) != len(people):
            raise ValueError("one batch may hold one call per person")
        with self._sessions() as session, session.begin():
            lock_people(session, people)
            cases = self._cases(session, requests)
            verdicts = [rules.evaluate(case, self._policy) for case, _ in cases]
            documents = [verdict.to_json() for verdict in verdicts]
            decisions = [
                {
                    "decided_at": request.at,
                    "person_id": request.person_id,
                    "number": request.number,
                    "mode": request.mode,
                    "policy_name": self._policy.name,
                    "policy_version": self._policy.version_for(case),
                    "inputs_digest": rules.inputs_digest(case),
                    "allowed": verdict.allowed,
                    "rule": verdict.rule,
                    "reason": verdict.reason,
                    "next_allowed_at": verdict.next_allowed_at,
                    "verdict": document,
                }
                for request, (case, _), verdict, document in zip(
                    requests, cases, verdicts, documents, strict=True
                )
            ]
            uuids = {
                request.person_id: str(uuid.uuid4())
                for request, verdict in zip(requests, verdicts, strict=True)
                if verdict.allowed
            }
            attempts = [
                {
                    "uuid": uuids[request.person_id],
                    "client_id": account.client_id,
                    "campaign_id": request.campaign_id,
                    "person_id": request.person_id,
                    "phone_id": request.phone_id,
                    "number": request.number,
                    "direction": "outbound",
                    "mode": request.mode,
                    "status": AttemptStatus.RESERVED,
                    "agent_id": request.agent_id,
                    "reserved_at": request.at,
                }
                for request, (_, account), verdict in zip(requests, cases, verdicts, strict=True)
                if verdict.allowed
            ]
            stored = store_batch(
                session,
                decisions,
                attempts,
                {request.person_id: request.debt_ids for request in requests},
            )
            return [
                GateResult(
                    allowed=verdict.allowed,
                    verdict=document,
                    decision_id=stored.decisions[request.person_id],
                    attempt_id=stored.attempts.get(request.person_id),
                    attempt_uuid=uuids.get(request.person_id),
                )
                for request, verdict, document in zip(requests, verdicts, documents, strict=True)
            ]

    def _cases(
        self, session: Session, requests: Sequence[DialRequest]
    ) -> list[tuple[model.Case, AccountFacts]]:
        people = [request.person_id for request in requests]
        accounts = self._load_account(session, people)
        records = load_compliance_records(session, people, min(request.at for request in requests))
        return [
            (
                build_case(
                    accounts[request.person_id], records[request.person_id], request, self._policy.name
                ),
                accounts[request.person_id],
            )
            for request in requests
        ]


def lock_people(session: Session, person_ids: Sequence[int]) -> None:
    """Serialise gate decisions per person across processes (SQLite's BEGIN IMMEDIATE already does).

    Locks are taken in key order, so two batches that share people cannot deadlock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text(
                "SELECT pg_advisory_xact_lock(:namespace, key) "
                "FROM (SELECT DISTINCT unnest(CAST(:keys AS integer[])) AS key ORDER BY key) AS keys"
            ),
            {"namespace": _LOCK_NAMESPACE, "keys": [person_id & 0x7FFFFFFF for person_id in person_ids]},
        )


@dataclasses.dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What the rules need of one recent attempt: plain values, cheaper to load than an entity."""

    reserved_at: dt.datetime
    dialed_at: dt.datetime | None
    direction: str
    number: str
    party: str | None
    outcome: Outcome | None
    mode: DialingMode
    debt_ids: frozenset[int]


@dataclasses.dataclass(frozen=True)
class ComplianceRecords:
    notices: Sequence[Notice]
    restrictions: Sequence[ContactRestriction]
    consents: Sequence[DirectConsent]
    attempts: Sequence[AttemptRecord]


def load_compliance_records(
    session: Session, person_ids: Sequence[int], at: dt.datetime
) -> dict[int, ComplianceRecords]:
    """Each person's notices, live restrictions, recent consents and recent attempts.

    A fixed handful of queries whatever the number of people. Holds are rare, so they are loaded
    as entities; attempts are many, so they are loaded as plain rows.
    """
    notices = defaultdict(list)
    for notice in session.scalars(sa.select(Notice).where(among(session, Notice.person_id, person_ids))):
        notices[notice.person_id].append(notice)
    restrictions = defaultdict(list)
    for restriction in session.scalars(
        sa.select(ContactRestriction).where(
            among(session, ContactRestriction.person_id, person_ids),
            ContactRestriction.withdrawn_at.is_(None),
        )
    ):
        restrictions[restriction.person_id].append(restriction)
    consents = defaultdict(list)
    for consent in session.scalars(
        sa.select(DirectConsent).where(
            among(session, DirectConsent.person_id, person_ids),
            DirectConsent.given_at >= at - HISTORY_LOOKBACK,
        )
    ):
        consents[consent.person_id].append(consent)
    attempts = _recent_attempts(session, person_ids, at - HISTORY_LOOKBACK)
    return {
        person_id: ComplianceRecords(
            notices[person_id], restrictions[person_id], consents[person_id], attempts[person_id]
        )
        for person_id in person_ids
    }


def _recent_attempts(
    session: Session, person_ids: Sequence[int], since: dt.datetime
) -> dict[int, list[AttemptRecord]]:
    rows = session.execute(
        sa.select(
            ContactAttempt.id,
            ContactAttempt.person_id,
            ContactAttempt.reserved_at,
            ContactAttempt.dialed_at,
            ContactAttempt.direction,
            ContactAttempt.number,
            ContactAttempt.party,
            ContactAttempt.outcome,
            ContactAttempt.mode,
        ).where(
            among(session, ContactAttempt.person_id, person_ids),
            ContactAttempt.reserved_at >= since,
            ContactAttempt.status != AttemptStatus.CANCELLED,
        )
    ).all()
    # Debts by attempt id in a query of their own: joined to the attempts, the planner (which
    # cannot tell how few attempts a batch of people has) would scan the whole link table.
    debts: dict[int, set[int]] = defaultdict(set)
    if rows:
        for attempt_id, debt_id in session.execute(
            sa.select(AttemptDebt.attempt_id, AttemptDebt.debt_id).where(
                among(session, AttemptDebt.attempt_id, [row.id for row in rows])
            )
        ):
            debts[attempt_id].add(debt_id)
    attempts: dict[int, list[AttemptRecord]] = defaultdict(list)
    for attempt_id, person_id, reserved_at, dialed_at, direction, number, party, outcome, mode in rows:
        attempts[person_id].append(
            AttemptRecord(
                reserved_at=reserved_at,
                dialed_at=dialed_at,
                direction=direction,
                number=number,
                party=party,
                outcome=outcome,
                mode=mode,
                debt_ids=frozenset(debts.get(attempt_id, ())),
            )
        )
    return attempts


def _ids(debt_ids: Sequence[int] | frozenset[int]) -> frozenset[str]:
    return frozenset(str(debt) for debt in debt_ids)


def _scope(debt_ids: Sequence[int]) -> frozenset[str] | None:
    return _ids(debt_ids) if debt_ids else None


def _history_call(attempt: AttemptRecord) -> model.HistoryCall:
    # An attempt still in flight has no outcome yet: it is taken as a connected call without a
    # conversation, which counts toward the caps, the conservative reading until it resolves.
    # (Cancelled attempts never reach here: `load_compliance_records` leaves them out.)
    outcome = attempt.outcome or Outcome.NO_ANSWER
    return model.HistoryCall(
        at=attempt.dialed_at or attempt.reserved_at,
        direction=model.Direction(attempt.direction),
        number=attempt.number,
        debt_ids=_ids(attempt.debt_ids),
        party=model.Party(attempt.party or "consumer"),
        outcome=outcome,
        mode=model.DialMode(attempt.mode.value),
    )


def _person(account: AccountFacts, records: ComplianceRecords) -> model.Person:
    attorney = None
    notices = []
    for notice in records.notices:
        if notice.type is NoticeType.ATTORNEY:
            if notice.resolved_at is None and (attorney is None or notice.received_at < attorney.since):
                attorney = model.Attorney(since=notice.received_at, debt_ids=_scope(notice.debt_ids))
            continue
        notices.append(
            model.Notice(
                type=model.NoticeType(notice.type.value),
                received_at=notice.received_at,
                debt_ids=_scope(notice.debt_ids),
                resolved_at=notice.resolved_at,
            )
        )
    inconvenient = []
    restrictions = []
    for restriction in records.restrictions:
        if restriction.kind is RestrictionKind.INCONVENIENT_TIME:
            start, end = restriction.time_from, restriction.time_to
            if start is None or end is None:
                continue
            inconvenient.append(
                model.InconvenientTime(
                    stated_at=restriction.requested_at,
                    start_minute=start.hour * 60 + start.minute,
                    end_minute=(end.hour * 60 + end.minute) or 1440,
                    days=frozenset(model.Weekday(day) for day in (restriction.days or _WEEKDAYS)),
                )
            )
        else:
            restrictions.append(
                model.MediumRestriction(
                    requested_at=restriction.requested_at,
                    number=restriction.number if restriction.kind is RestrictionKind.NUMBER else None,
                    place=model.Place.WORK if restriction.kind is RestrictionKind.PLACE else None,
                )
            )
    return model.Person(
        id=str(account.person_id),
        address=account.address,
        time_zones=account.extra_time_zones,
        inconvenient_times=tuple(inconvenient),
        attorney=attorney,
        notices=tuple(notices),
        medium_restrictions=tuple(restrictions),
    )


def _phone(phone: PhoneFacts) -> model.Phone:
    consent = None
    if phone.consent_given_at is not None:
        consent = model.AutodialConsent(given_at=phone.consent_given_at, revoked_at=phone.consent_revoked_at)
    reassigned = None
    if phone.reassigned_checked_at is not None and phone.reassigned_result is not None:
        reassigned = model.ReassignedCheck(
            checked_at=phone.reassigned_checked_at, result=model.ReassignedResult(phone.reassigned_result)
        )
    return model.Phone(
        number=phone.number,
        type=model.PhoneType(phone.type),
        autodial_consent=consent,
        reassigned_check=reassigned,
    )


def build_case(
    account: AccountFacts, records: ComplianceRecords, request: DialRequest, policy_name: str
) -> model.Case:
    """The engine's case for one proposed call, from stored facts. Pure."""
    phones = [_phone(phone) for phone in account.phones]
    if request.number not in {phone.number for phone in phones}:
        phones.append(model.Phone(number=request.number, type=model.PhoneType.UNKNOWN))
    return model.Case(
        person=_person(account, records),
        debts=tuple(
            model.Debt(id=str(debt.id), kind=debt.kind, student_loan_account=debt.student_loan_account)
            for debt in account.debts
        ),
        phones=tuple(phones),
        call=model.ProposedCall(
            at=request.at,
            number=request.number,
            debt_ids=_ids(request.debt_ids),
            mode=model.DialMode(request.mode.value),
        ),
        consents=tuple(
            model.Consent(given_at=consent.given_at, debt_ids=_ids(consent.debt_ids))
            for consent in records.consents
        ),
        history=tuple(_history_call(attempt) for attempt in records.attempts),
        policy=policy_name,
    )
