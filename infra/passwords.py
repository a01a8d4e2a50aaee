"""Password hashing with argon2id.

Hashes carry their own parameters, so raising the cost later needs no migration: a stored hash
made with older parameters still verifies, and the login that verifies it stores a new one
(`PasswordCheck.rehashed`).
"""

from __future__ import annotations

import dataclasses

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106 §4, second recommended option (argon2id, t=3, 64 MiB, p=4): the memory-constrained
# choice, so that several web workers can check logins at once on a small server.
DEFAULT_HASHER = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)

# NIST SP 800-63B-4 §3.1.1.2: at least 15 characters for a password that is the only factor, and
# no composition rules. The upper bound only keeps absurd inputs out.
MIN_PASSWORD_LENGTH = 15
MAX_PASSWORD_LENGTH = 1024


class PasswordPolicyError(ValueError):
    """The password does not meet the policy; the message says why."""


@dataclasses.dataclass(frozen=True)
class PasswordCheck:
    matches: bool
    rehashed: str | None = None  # a new hash to store, when the old one used other parameters


def check_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str, *, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    check_policy(password)
    return hasher.hash(password)


def check_password(
    stored_hash: str, password: str, *, hasher: PasswordHasher = DEFAULT_HASHER
) -> PasswordCheck:
    """Whether the password matches; a stored value that is no argon2 hash matches nothing."""
    try:
        hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(matches=False)
    if hasher.check_needs_rehash(stored_hash):
        return PasswordCheck(matches=True, rehashed=hasher.hash(password))
    return PasswordCheck(matches=True)


def spend_verification_time(password: str, *, hasher: PasswordHasher = DEFAULT_HASHER) -> None:
    """Cost as much as a real check, for logins with unknown names: response time must not tell
    which usernames exist."""
    hasher.hash(password)
