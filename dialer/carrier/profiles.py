"""Which behaviour a dialed number gets from the simulated carrier. Pure and deterministic."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class Profile(StrEnum):
    HUMAN = "human"  # rings, answers, says "Hello?", then listens (and echoes DTMF)
    HUMAN_HANGS_UP = "human_hangs_up"  # like HUMAN, then hangs up after a few seconds
    MACHINE = "machine"  # rings, answers with a long greeting and a beep
    BUSY = "busy"  # 486 with Q.850 cause 17
    NO_ANSWER = "no_answer"  # rings until the caller gives up
    NOT_IN_SERVICE = "not_in_service"  # 183 with a SIT and an announcement, then 404 (cause 1)
    UNAVAILABLE_SIT = "unavailable_sit"  # 183 with a SIT and an announcement, then a bare 480
    NETWORK_FAILURE = "network_failure"  # 503 with Q.850 cause 38
    AGENT = "agent"  # an agent's phone: answers at once and talks


# Fixed numbers that always get one profile, for tests and demos.
TEST_NUMBERS: dict[str, Profile] = {
    "+15005550001": Profile.HUMAN,
    "+15005550002": Profile.MACHINE,
    "+15005550003": Profile.BUSY,
    "+15005550004": Profile.NO_ANSWER,
    "+15005550005": Profile.NOT_IN_SERVICE,
    "+15005550006": Profile.UNAVAILABLE_SIT,
    "+15005550007": Profile.NETWORK_FAILURE,
    "+15005550008": Profile.HUMAN_HANGS_UP,
}

# Share of each profile among other numbers, in percent.
WEIGHTS: tuple[tuple[Profile, int], ...] = (
    (Profile.HUMAN, 40),
    (Profile.HUMAN_HANGS_UP, 5),
    (Profile.MACHINE, 25),
    (Profile.BUSY, 8),
    (Profile.NO_ANSWER, 12),
    (Profile.NOT_IN_SERVICE, 5),
    (Profile.UNAVAILABLE_SIT, 2),
    (Profile.NETWORK_FAILURE, 3),
)


@dataclass(frozen=True)
class Behaviour:
    profile: Profile
    ring_s: float  # time from 180 to answer (or to the final response for early-media profiles)


def _digest(user: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{user}".encode()).digest()[:8], "big")


def behaviour_for(user: str, seed: int) -> Behaviour:
    """The behaviour for the user part of a dialed URI (a number, or `agent-...`)."""
    digest = _digest(user, seed)
    if user.startswith("agent"):
        return Behaviour(Profile.AGENT, 0.0)
    fixed = TEST_NUMBERS.get(user)
    if fixed is not None:
        return Behaviour(fixed, 0.5)
    ticket = digest % 100
    for profile, weight in WEIGHTS:
        if ticket < weight:
            return Behaviour(profile, 0.5 + (digest >> 8) % 2500 / 1000)
        ticket -= weight
    raise AssertionError("WEIGHTS must add up to 100")
