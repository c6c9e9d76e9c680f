"""Password hashing (Argon2id) and strength rules (zxcvbn)."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass, field

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_SCORE = 3

_HASHERS = {
    "default": PasswordHasher(),  # argon2-cffi default: RFC 9106 low-memory Argon2id
    # Tests create many users; production parameters are checked in their own test.
    "cheapest": PasswordHasher.from_parameters(profiles.CHEAPEST),
}
# A hash to verify against when the e-mail is unknown, so both cases take as long. One per
# profile, made with that profile's parameters; init_app makes the configured one when the
# app starts, so that the first unknown address of a process does not pay for it.
_DUMMY_HASHES: dict[str, str] = {}


def init_app(app) -> None:
    _dummy_hash(app.config.get("PASSWORD_HASH_PROFILE", "default"))


def _profile() -> str:
    return current_app.config.get("PASSWORD_HASH_PROFILE", "default")


def hasher() -> PasswordHasher:
    return _HASHERS[_profile()]


def _dummy_hash(profile: str) -> str:
    if profile not in _DUMMY_HASHES:
        _DUMMY_HASHES[profile] = _HASHERS[profile].hash("dummy password for timing")
    return _DUMMY_HASHES[profile]


def normalise(password: str) -> str:
    """NFC, so the same password typed on two keyboards (composed or decomposed accents)
    gives the same hash. Nothing is stripped: every character counts."""
    return unicodedata.normalize("NFC", password)


def hash_password(password: str) -> str:
    return hasher().hash(normalise(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against its hash. With no hash (an unknown address), verify
    against the dummy hash anyway and say no: the same work, the same time."""
    h = hasher()
    if not password_hash:
        with contextlib.suppress(VerificationError):
            h.verify(_dummy_hash(_profile()), normalise(password))
        return False
    try:
        return h.verify(password_hash, normalise(password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


@dataclass
class StrengthResult:
    ok: bool
    problems: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        """All the problems as one error message for a form field."""
        return " ".join(p if p.endswith(".") else p + "." for p in self.problems)


def _words(values: list[str]) -> list[str]:
    """The person's own details, whole and in parts (ann.smith@smith-reviews.org gives
    ann, smith, reviews ...), for zxcvbn to treat as easy to guess."""
    words: set[str] = set()
    for value in values:
        if not value:
            continue
        value = value.lower()
        words.add(value)
        words.update(part for part in re.split(r"[\W_]+", value) if len(part) >= 3)
        if "@" in value:
            local, _, domain = value.partition("@")
            words.update({local, domain, domain.split(".")[0]})
    return sorted(words)


def check_strength(password: str, user_inputs: list[str] | None = None) -> StrengthResult:
    problems: list[str] = []
    password = normalise(password)
    if len(password) < MIN_LENGTH:
        problems.append(f"Password must be {MIN_LENGTH} characters or more")
    if len(password) > MAX_LENGTH:
        problems.append(f"Password must be {MAX_LENGTH} characters or fewer")
    if problems:
        return StrengthResult(False, problems)
    # zxcvbn refuses input over 72 characters (and is slow on long input): judge the
    # first 72, which is plenty to tell a strong password from a weak one.
    result = zxcvbn(password[:72], user_inputs=_words(user_inputs or []))
    if result["score"] < MIN_SCORE:
        feedback = result.get("feedback") or {}
        warning = feedback.get("warning")
        problems.append("Password is too easy to guess" + (f". {warning}" if warning else ""))
        problems.extend(feedback.get("suggestions") or [])
    return StrengthResult(not problems, problems)
