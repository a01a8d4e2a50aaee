"""The compliance case: everything the rules engine knows about one proposed call.

Field names and vocabularies follow `contracts/compliance-check.md`. Every timestamp is an aware
datetime. A case states what is known when it is asked: records that block (notices, requests,
revocations, calls already placed) apply whatever their date, so a process whose clock runs a
few seconds behind another's cannot let a call through; records that permit (a resolution, a
consent, the person's own contact) apply from their own timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from infra.vocabulary import Outcome as Outcome  # re-exported: the columns and events speak it


class NoticeType(StrEnum):
    CEASE_COMMUNICATION = "cease_communication"
    REFUSAL_TO_PAY = "refusal_to_pay"
    DISPUTE = "dispute"
    ORIGINAL_CREDITOR_REQUEST = "original_creditor_request"
    BANKRUPTCY = "bankruptcy"
    DECEASED = "deceased"


class PhoneType(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    WORK = "work"
    VOIP = "voip"
    UNKNOWN = "unknown"


class Place(StrEnum):
    WORK = "work"


class Weekday(StrEnum):
    """Declared in the order of `date.weekday()`: Monday is 0."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Party(StrEnum):
    CONSUMER = "consumer"
    THIRD_PARTY = "third_party"


class DialMode(StrEnum):
    MANUAL = "manual"
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"
    PRERECORDED = "prerecorded"


class ReassignedResult(StrEnum):
    YES = "yes"
    NO = "no"
    NO_DATA = "no_data"


@dataclass(frozen=True)
class Address:
    country: str
    state: str | None = None
    postal_code: str | None = None
    city: str | None = None


@dataclass(frozen=True)
class InconvenientTime:
    """A daily period the person called inconvenient, in minutes after local midnight.

    `end_minute` may be 1440 (24:00). A period whose end is not after its start runs past
    midnight; it belongs to the day it starts on, which is the day `days` names.
    """

    stated_at: datetime
    start_minute: int
    end_minute: int
    days: frozenset[Weekday]


@dataclass(frozen=True)
class Attorney:
    since: datetime
    debt_ids: frozenset[str] | None = None  # None: every debt


@dataclass(frozen=True)
class Notice:
    type: NoticeType
    received_at: datetime
    debt_ids: frozenset[str] | None = None  # None: every debt
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class MediumRestriction:
    """No number and no place: no telephone calls at all. A number: not that number.
    Place "work": not at work (that number if given, else every work number)."""

    requested_at: datetime
    number: str | None = None
    place: Place | None = None


@dataclass(frozen=True)
class Person:
    id: str
    address: Address | None = None
    time_zones: tuple[str, ...] = ()
    inconvenient_times: tuple[InconvenientTime, ...] = ()
    attorney: Attorney | None = None
    notices: tuple[Notice, ...] = ()
    medium_restrictions: tuple[MediumRestriction, ...] = ()


@dataclass(frozen=True)
class Debt:
    id: str
    kind: str
    student_loan_account: str | None = None


@dataclass(frozen=True)
class AutodialConsent:
    given_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class ReassignedCheck:
    checked_at: datetime
    result: ReassignedResult


@dataclass(frozen=True)
class Phone:
    number: str
    type: PhoneType
    autodial_consent: AutodialConsent | None = None
    reassigned_check: ReassignedCheck | None = None


@dataclass(frozen=True)
class Consent:
    """Consent given directly to the collector to be called about these debts."""

    given_at: datetime
    debt_ids: frozenset[str]


@dataclass(frozen=True)
class HistoryCall:
    at: datetime
    direction: Direction
    number: str
    debt_ids: frozenset[str]
    party: Party
    outcome: Outcome
    mode: DialMode | None = None


@dataclass(frozen=True)
class ProposedCall:
    at: datetime
    number: str
    debt_ids: frozenset[str]
    mode: DialMode
    party: Party = Party.CONSUMER


@dataclass(frozen=True)
class Case:
    person: Person
    debts: tuple[Debt, ...]
    phones: tuple[Phone, ...]
    call: ProposedCall
    consents: tuple[Consent, ...] = ()
    history: tuple[HistoryCall, ...] = ()
    policy: str | None = None
