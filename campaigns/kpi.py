"""The collections KPIs, one definition each, with their denominators. Pure; no I/O.

Industry usage gives several meanings to "RPC rate", "PTP rate" or "kept rate"; the product
uses exactly these, and every report labels its denominator. A ratio whose denominator is zero
has no value (shown as a dash), never 0 %.

- Attempts: outbound calls placed (reserved or dialled, not cancelled).
- Connected: answered by a person or a machine. Connect rate = connected / attempts.
- Contact: a live person spoke (the debtor or a third party). Contact rate = contacts / attempts.
- Right-party contact (RPC): a conversation with the debtor. RPC rate = RPCs / attempts, also
  RPCs / contacts.
- PTP rate: promises created / RPCs (a promise a manager rejected was never made to the debtor).
- Amount promised: instalments of the promises created, as the first instalment and as the
  whole schedule.
- Kept rate: instalments due in the period, whose grace days are over, paid in full by the end
  of grace / those instalments (cancelled ones excluded). Broken rate = 1 − kept rate.
- Per hour: count / hours signed in. Occupancy: (talk + wrap) / (talk + wrap + ready idle).
- AHT: (talk + hold + wrap + dialling) / handled calls.
- Liquidation: collected / placed, for a placement cohort. Recovery: collected / outstanding.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence

from compliance.models import AttemptStatus, Outcome

CONNECTED = frozenset(
    {
        Outcome.CONVERSATION,
        Outcome.THIRD_PARTY_CONVERSATION,
        Outcome.ANSWERED_NO_CONVERSATION,
        Outcome.ABANDONED,
        Outcome.VOICEMAIL,
        Outcome.VOICEMAIL_MESSAGE_LEFT,
        Outcome.MACHINE,
    }
)
CONTACTS = frozenset({Outcome.CONVERSATION, Outcome.THIRD_PARTY_CONVERSATION})
RIGHT_PARTY = frozenset({Outcome.CONVERSATION})
DEFAULT_GRACE_DAYS = 3


@dataclasses.dataclass(frozen=True)
class Ratio:
    numerator: float
    denominator: float

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def percent(self, places: int = 1) -> str:
        value = self.value
        return "—" if value is None else f"{value * 100:.{places}f} %"

    def per(self, places: int = 1) -> str:
        value = self.value
        return "—" if value is None else f"{value:.{places}f}"


@dataclasses.dataclass(frozen=True)
class AttemptFact:
    status: AttemptStatus
    outcome: Outcome | None


@dataclasses.dataclass(frozen=True)
class CallFigures:
    attempts: int
    connected: int
    contacts: int
    right_party: int

    @property
    def connect_rate(self) -> Ratio:
        return Ratio(self.connected, self.attempts)

    @property
    def contact_rate(self) -> Ratio:
        return Ratio(self.contacts, self.attempts)

    @property
    def rpc_rate(self) -> Ratio:
        return Ratio(self.right_party, self.attempts)

    @property
    def rpc_per_contact(self) -> Ratio:
        return Ratio(self.right_party, self.contacts)


def call_figures(attempts: Iterable[AttemptFact]) -> CallFigures:
    placed = [attempt for attempt in attempts if attempt.status is not AttemptStatus.CANCELLED]
    outcomes = [attempt.outcome for attempt in placed]
    return CallFigures(
        attempts=len(placed),
        connected=sum(outcome in CONNECTED for outcome in outcomes),
        contacts=sum(outcome in CONTACTS for outcome in outcomes),
        right_party=sum(outcome in RIGHT_PARTY for outcome in outcomes),
    )


@dataclasses.dataclass(frozen=True)
class PromiseFact:
    rejected: bool
    instalments_minor: tuple[int, ...]  # in schedule order


@dataclasses.dataclass(frozen=True)
class PromiseFigures:
    created: int
    first_instalments_minor: int
    full_schedule_minor: int


def promise_figures(promises: Iterable[PromiseFact]) -> PromiseFigures:
    made = [promise for promise in promises if not promise.rejected]
    return PromiseFigures(
        created=len(made),
        first_instalments_minor=sum(
            promise.instalments_minor[0] for promise in made if promise.instalments_minor
        ),
        full_schedule_minor=sum(sum(promise.instalments_minor) for promise in made),
    )


def ptp_rate(promises_created: int, right_party_contacts: int) -> Ratio:
    return Ratio(promises_created, right_party_contacts)


@dataclasses.dataclass(frozen=True)
class InstalmentFact:
    due_on: dt.date
    amount_minor: int
    cancelled: bool
    payments: tuple[tuple[dt.date, int], ...]  # (paid on, amount) of the payments applied to it


@dataclasses.dataclass(frozen=True)
class KeptFigures:
    due: int
    kept: int

    @property
    def kept_rate(self) -> Ratio:
        return Ratio(self.kept, self.due)

    @property
    def broken_rate(self) -> Ratio:
        return Ratio(self.due - self.kept, self.due)


def kept_figures(
    instalments: Iterable[InstalmentFact],
    first_day: dt.date,
    last_day: dt.date,
    today: dt.date,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> KeptFigures:
    """Instalments due from `first_day` to `last_day` whose grace has ended by `today`."""
    grace = dt.timedelta(days=grace_days)
    due = kept = 0
    for instalment in instalments:
        if instalment.cancelled or not first_day <= instalment.due_on <= last_day:
            continue
        deadline = instalment.due_on + grace
        if deadline >= today:
            continue  # still within grace: neither kept nor broken yet
        due += 1
        paid = sum(amount for paid_on, amount in instalment.payments if paid_on <= deadline)
        kept += paid >= instalment.amount_minor
    return KeptFigures(due, kept)


def per_hour(count: int, signed_in_seconds: float) -> Ratio:
    return Ratio(count, signed_in_seconds / 3600)


def occupancy(talk_seconds: float, wrap_seconds: float, ready_idle_seconds: float) -> Ratio:
    busy = talk_seconds + wrap_seconds
    return Ratio(busy, busy + ready_idle_seconds)


def average_handle_time(
    talk_seconds: float, hold_seconds: float, wrap_seconds: float, dialing_seconds: float, handled: int
) -> Ratio:
    return Ratio(talk_seconds + hold_seconds + wrap_seconds + dialing_seconds, handled)


def liquidation_rate(collected_minor: int, placed_minor: int) -> Ratio:
    return Ratio(collected_minor, placed_minor)


def recovery_rate(collected_minor: int, outstanding_minor: int) -> Ratio:
    return Ratio(collected_minor, outstanding_minor)


def talk_seconds(spans: Sequence[tuple[dt.datetime | None, dt.datetime | None]]) -> float:
    """Seconds between bridging to an agent and hanging up, over the calls that have both."""
    return sum((end - start).total_seconds() for start, end in spans if start is not None and end is not None)
