"""Signing in and out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user, logout_user

from portal.extensions import db

bp = Blueprint("auth", __name__)


@bp.post("/sign-out")
def sign_out():
    if current_user.is_authenticated:
        # A new token means a copy of the old session cookie no longer loads anyone.
        current_user.rotate_session_token()
        db.session.commit()
    logout_user()
    flash("You have signed out.", "success")
    return redirect(url_for("main.index"))
