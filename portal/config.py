"""Configuration classes. Every setting can come from the environment."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = Path(os.environ.get("INSTANCE_PATH", PROJECT_ROOT / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    if not value:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def instance_secret(path: Path, make: Callable[[], str]) -> str:
    """A development secret kept in a file under instance/: made once with `make()`, then
    read back. The file is created owner-only from the start (never readable by others,
    not even for a moment), and exclusively, so two processes starting together agree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def development_secret_key(instance_path: Path = INSTANCE_PATH) -> str:
    """A key generated once into instance/ so development sessions survive restarts."""
    return instance_secret(instance_path / "secret_key", lambda: secrets.token_hex(32))


class Config:
    ENV_NAME = "base"
    SERVICE_NAME = "Reviewer Pool Portal"

    SECRET_KEY = os.environ.get("SECRET_KEY")
    # Fernet keys, newest first, for secrets stored encrypted (portal/crypto.py).
    DATA_ENCRYPTION_KEYS = os.environ.get("DATA_ENCRYPTION_KEYS")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_PATH / 'portal.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    TRUSTED_HOSTS = _list("TRUSTED_HOSTS")
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    # Set when a proxy in front of the app terminates TLS (count of proxies to trust).
    PROXY_FIX_COUNT = _int("PROXY_FIX_COUNT", 0)

    # Sessions and cookies
    SESSION_COOKIE_NAME = "portal_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    SESSION_PROTECTION = "strong"
    SESSION_IDLE_TIMEOUT = timedelta(minutes=_int("SESSION_IDLE_MINUTES", 60))
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=_int("SESSION_ABSOLUTE_HOURS", 12))
    # How long before a timeout the page warns and offers "Stay signed in" (WCAG 2.2.1).
    SESSION_TIMEOUT_WARNING = timedelta(minutes=_int("SESSION_WARNING_MINUTES", 2))
    PERMANENT_SESSION_LIFETIME = SESSION_ABSOLUTE_TIMEOUT

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead

    # Uploads: the request limit sits a little above the per-file limit for form fields.
    UPLOAD_MAX_BYTES = _int("UPLOAD_MAX_BYTES", 25 * 1024 * 1024)
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 26 * 1024 * 1024)
    CLAMD_ADDRESS = os.environ.get("CLAMD_ADDRESS")  # host:port of clamd, optional

    # Commissions (issue 5): the shortest tender period a published commission may have
    MIN_TENDER_DAYS = _int("MIN_TENDER_DAYS", 10)

    # Evaluation (issue 6): panel size, justification length, abnormally low threshold
    EVALUATORS_MIN = _int("EVALUATORS_MIN", 2)
    SCORE_JUSTIFICATION_MIN = _int("SCORE_JUSTIFICATION_MIN", 50)
    ABNORMALLY_LOW_PERCENT = _int("ABNORMALLY_LOW_PERCENT", 30)

    # Storage
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    STORAGE_LOCAL_PATH = os.environ.get("STORAGE_LOCAL_PATH", str(INSTANCE_PATH / "storage"))
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL")
    S3_BUCKET = os.environ.get("S3_BUCKET")
    S3_REGION = os.environ.get("S3_REGION", "eu-west-2")
    S3_PRESIGN_SECONDS = _int("S3_PRESIGN_SECONDS", 60)

    # Mail: every message goes through the outbox table first.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "Reviewer Pool Portal <no-reply@reviewer-pool.example>"
    )
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 10)
    MAIL_SUPPRESS_SEND = False
    OUTBOX_MAX_ATTEMPTS = _int("OUTBOX_MAX_ATTEMPTS", 6)
    OUTBOX_BACKOFF_SECONDS = _int("OUTBOX_BACKOFF_SECONDS", 30)
    # Try to deliver right after the request commits (handy in development).
    OUTBOX_DELIVER_AFTER_REQUEST = _bool("OUTBOX_DELIVER_AFTER_REQUEST", False)

    # Rate limits
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = False
    # Flask-Limiter strings ("10 per minute", "5/hour;20/day"), per IP and per e-mail address.
    SIGN_IN_RATE_LIMIT = os.environ.get("SIGN_IN_RATE_LIMIT", "10 per minute")
    SIGN_IN_EMAIL_RATE_LIMIT = os.environ.get("SIGN_IN_EMAIL_RATE_LIMIT", "20 per hour")
    REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "10 per hour")
    REGISTER_EMAIL_RATE_LIMIT = os.environ.get("REGISTER_EMAIL_RATE_LIMIT", "3 per hour")
    RESET_RATE_LIMIT = os.environ.get("RESET_RATE_LIMIT", "5 per 15 minutes")
    RESET_EMAIL_RATE_LIMIT = os.environ.get("RESET_EMAIL_RATE_LIMIT", "3 per hour")
    SECOND_FACTOR_RATE_LIMIT = os.environ.get("SECOND_FACTOR_RATE_LIMIT", "10 per minute")
    # Failed sign-ins (and second-factor codes) before an account is locked, and for how long.
    LOCKOUT_THRESHOLD = _int("LOCKOUT_THRESHOLD", 5)
    LOCKOUT_MINUTES = _int("LOCKOUT_MINUTES", 15)
    # Base of the links in e-mails (https://host). Unset: the request's own host, which is
    # safe only when TRUSTED_HOSTS is set.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL")

    # Passwords
    PASSWORD_HASH_PROFILE = "default"  # noqa: S105 - argon2-cffi RFC 9106 low-memory profile

    AUDIT_PAGE_SIZE = 50


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    OUTBOX_DELIVER_AFTER_REQUEST = _bool("OUTBOX_DELIVER_AFTER_REQUEST", True)
    MAIL_PORT = _int("MAIL_PORT", 1025)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105
    # base64 of "testing-key-not-for-production!!"
    DATA_ENCRYPTION_KEYS = "dGVzdGluZy1rZXktbm90LWZvci1wcm9kdWN0aW9uISE="
    WTF_CSRF_ENABLED = False
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    RATELIMIT_ENABLED = False
    PASSWORD_HASH_PROFILE = "cheapest"  # noqa: S105
    SERVER_NAME = None


class ProductionConfig(Config):
    ENV_NAME = "production"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
