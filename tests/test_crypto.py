"""Authenticator seeds are stored encrypted (portal/crypto.py): the database holds no
usable second factor, a wrong key fails loudly, keys rotate with `flask crypto rotate`,
and production refuses to start without a key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from portal import create_app, crypto
from portal.extensions import db
from portal.models import User
from portal.models.audit import AuditEvent
from tests.fixtures.users import make_staff

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _stored(user: User) -> str:
    return db.session.execute(
        text("SELECT totp_secret_encrypted FROM users WHERE id = :id"), {"id": user.id}
    ).scalar_one()


def _use_keys(app, *keys: str) -> None:
    app.config["DATA_ENCRYPTION_KEYS"] = ",".join(keys)
    crypto.init_app(app, app.instance_path)


def test_the_seed_is_stored_encrypted_and_read_back(app):
    user = make_staff("admin", totp_secret=SECRET)
    stored = _stored(user)
    assert SECRET not in stored and len(stored) > 100
    db.session.expire_all()
    reloaded = db.session.get(User, user.id)
    assert reloaded.totp_secret == SECRET
    # encryption is randomised: the same seed never gives the same stored value
    reloaded.totp_secret = SECRET
    db.session.commit()
    assert _stored(reloaded) != stored
    reloaded.totp_secret = None
    db.session.commit()
    assert _stored(reloaded) is None and reloaded.totp_secret is None


def test_a_missing_key_fails_loudly(app):
    user = make_staff("admin", totp_secret=SECRET)
    _use_keys(app, Fernet.generate_key().decode())
    db.session.expire_all()
    with pytest.raises(crypto.DecryptionError, match="DATA_ENCRYPTION_KEYS"):
        db.session.get(User, user.id).totp_secret  # noqa: B018


def test_rotation_re_encrypts_with_the_first_key(app):
    old_key = app.config["DATA_ENCRYPTION_KEYS"]
    user = make_staff("admin", totp_secret=SECRET)
    before = _stored(user)
    new_key = crypto.new_key()
    _use_keys(app, new_key, old_key)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["crypto", "rotate"])
    assert result.exit_code == 0, result.output
    assert "1 authenticator secret(s) re-encrypted" in result.output
    db.session.expire_all()
    assert _stored(user) != before
    _use_keys(app, new_key)  # the old key can go
    assert db.session.get(User, user.id).totp_secret == SECRET
    assert db.session.scalar(select(AuditEvent.data).where(
        AuditEvent.action == "crypto.keys_rotated")) == {"totp_secrets": 1}


def test_new_key_prints_a_usable_key(app):
    result = app.test_cli_runner().invoke(args=["crypto", "new-key"])
    assert result.exit_code == 0
    Fernet(result.output.strip().encode())


def test_production_refuses_to_start_without_a_key(monkeypatch):
    from portal.config import ProductionConfig

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 64)
    monkeypatch.setattr(ProductionConfig, "DATA_ENCRYPTION_KEYS", None)
    with pytest.raises(RuntimeError, match="DATA_ENCRYPTION_KEYS must be set"):
        create_app("production", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setattr(ProductionConfig, "DATA_ENCRYPTION_KEYS", "not-a-key")
    with pytest.raises(RuntimeError, match="not a Fernet key"):
        create_app("production", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
