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


# Placeholders replaced by the accounts work package (issue 3).
@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    return "Sign in", 200


@bp.route("/second-factor", methods=["GET", "POST"])
def second_factor():
    return "Second factor", 200
