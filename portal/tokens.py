"""Signed, purpose-bound, expiring tokens for links sent by e-mail."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class InvalidToken(Exception):
    """The link is forged, for another purpose, or broken."""


class ExpiredToken(InvalidToken):
    """The link was genuine but is too old."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    # The purpose is the salt: a token made for one purpose never verifies for another.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"portal:{purpose}")


def make_token(purpose: str, payload: Any) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age_seconds: int) -> Any:
    try:
        return _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise ExpiredToken(purpose) from exc
    except BadSignature as exc:
        raise InvalidToken(purpose) from exc


def fingerprint(value: str | None) -> str:
    """A short digest of a secret (a password hash, say) to bind a token to its state:
    when the secret changes, every token made before stops working."""
    return hashlib.sha256((value or "").encode()).hexdigest()[:16]


def hash_secret_token(token: str) -> str:
    """Store only the digest of random one-time tokens (invitations)."""
    return hashlib.sha256(token.encode()).hexdigest()
