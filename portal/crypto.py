"""Encryption at rest for the secrets the service must read back: the TOTP seeds of staff
accounts. (Passwords and recovery codes are hashed; nothing needs them back.)

A copy of the database alone no longer yields anyone's second factor: the key lives in
the environment, not in the database.

Keys come from DATA_ENCRYPTION_KEYS: comma-separated Fernet keys (AES-128-CBC with
HMAC-SHA256; `flask crypto new-key` prints one), newest first. The first key encrypts;
every key decrypts. To rotate: put a new key in front, deploy, run `flask crypto rotate`
(re-encrypts every stored secret with the new key), then drop the old key. Development
generates a key once into instance/; production refuses to start without one.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

EXTENSION_KEY = "portal.crypto"


class DecryptionError(RuntimeError):
    """A stored secret could not be decrypted with any configured key."""


def development_key(instance_path: Path) -> str:
    """A key generated once into instance/, like the development SECRET_KEY."""
    from portal.config import instance_secret

    return instance_secret(instance_path / "data_encryption_key",
                           lambda: Fernet.generate_key().decode())


def parse_keys(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [key.strip() for key in value if key and key.strip()]


def init_app(app: Flask, instance_path: Path) -> None:
    keys = parse_keys(app.config.get("DATA_ENCRYPTION_KEYS"))
    if not keys:
        if app.config["ENV_NAME"] == "production":
            raise RuntimeError(
                "DATA_ENCRYPTION_KEYS must be set in production; refusing to start.")
        keys = [development_key(instance_path)]
    try:
        fernet = MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise RuntimeError(
            "DATA_ENCRYPTION_KEYS holds a key that is not a Fernet key "
            "(32 url-safe base64-encoded bytes; `flask crypto new-key` makes one)"
        ) from error
    app.extensions[EXTENSION_KEY] = fernet


def _fernet() -> MultiFernet:
    return current_app.extensions[EXTENSION_KEY]


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret could not be decrypted: is its key missing from "
            "DATA_ENCRYPTION_KEYS?") from None


def rotate(token: str) -> str:
    """The same secret encrypted with the newest key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("A stored secret could not be decrypted with any key") from None


def new_key() -> str:
    return Fernet.generate_key().decode()
