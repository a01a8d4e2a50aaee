"""The attempt ledger's state machine: reserved → dialing → completed, or reserved → cancelled.

Pure: the database layer (compliance.gate) asks `next_status` before every write, so an attempt
can never go back, skip its outcome, or be completed twice.
"""

from __future__ import annotations

from compliance.models import AttemptStatus, Outcome


class LedgerError(ValueError):
    """A transition the ledger does not allow."""


# Outcomes that never reached the dialed number: they do not count toward Reg F frequency
# (12 CFR 1006.14(b)(3)(ii); comment 14(b)(3)(ii)-1: busy signal, not in service).
NOT_CONNECTED = frozenset({Outcome.BUSY, Outcome.NOT_IN_SERVICE, Outcome.NETWORK_FAILURE})

# A live person answered: the denominator of the abandon rate (abandoned / answered by a person).
LIVE_ANSWER = frozenset(
    {
        Outcome.CONVERSATION,
        Outcome.THIRD_PARTY_CONVERSATION,
        Outcome.ANSWERED_NO_CONVERSATION,
        Outcome.ABANDONED,
    }
)

_TRANSITIONS: dict[AttemptStatus, frozenset[AttemptStatus]] = {
    AttemptStatus.RESERVED: frozenset(
        {AttemptStatus.DIALING, AttemptStatus.CANCELLED, AttemptStatus.COMPLETED}
    ),
    AttemptStatus.DIALING: frozenset({AttemptStatus.COMPLETED}),
    AttemptStatus.COMPLETED: frozenset(),
    AttemptStatus.CANCELLED: frozenset(),
}


def next_status(current: AttemptStatus, wanted: AttemptStatus, outcome: Outcome | None) -> AttemptStatus:
    """Validate one transition; a completed attempt must carry its outcome, others must not."""
    if wanted not in _TRANSITIONS[current]:
        raise LedgerError(f"an attempt cannot go from {current} to {wanted}")
    if (wanted is AttemptStatus.COMPLETED) != (outcome is not None):
        raise LedgerError("an outcome is recorded exactly when the attempt completes")
    return wanted


def is_counted(status: AttemptStatus, outcome: Outcome | None) -> bool:
    """Whether an attempt counts toward frequency limits.

    An attempt still in flight counts (it may connect); a cancelled one never went out.
    """
    if status is AttemptStatus.CANCELLED:
        return False
    return outcome not in NOT_CONNECTED
