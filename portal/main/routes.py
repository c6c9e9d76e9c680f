"""Public pages, the signed-in home page, and health checks."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required
from sqlalchemy import text

from portal.extensions import db
from portal.storage import get_storage

bp = Blueprint("main", __name__)
log = logging.getLogger(__name__)


@bp.get("/")
def index():
    return render_template("main/index.html")


@bp.get("/home")
@login_required
def dashboard():
    return render_template("main/dashboard.html", user=current_user)


@bp.get("/accessibility")
def accessibility():
    return render_template("main/accessibility.html")


@bp.get("/privacy")
def privacy():
    return render_template("main/privacy.html")


@bp.get("/cookies")
def cookies():
    return render_template("main/cookies.html")


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    checks = {"database": "ok", "storage": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception:
        log.exception("Readiness: database unreachable")
        checks["database"] = "unavailable"
    try:
        get_storage(current_app).check()
    except Exception:
        log.exception("Readiness: storage unreachable")
        checks["storage"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
