"""Who may open which kind of page.

Object-level predicates (`can_view`, `can_edit`, ...) live on the models; this module
holds the page-level gates that routes put in front of them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, redirect, request, session, url_for
from flask_login import current_user

from portal.extensions import login_manager

# The session remembers that the second factor was passed for this session token; a new
# token (sign-out, password change, deactivation) forgets it.
SECOND_FACTOR_KEY = "second_factor_for"


def second_factor_passed(user) -> bool:
    return bool(user.is_authenticated and session.get(SECOND_FACTOR_KEY) == user.session_token)


def mark_second_factor_passed(user) -> None:
    session[SECOND_FACTOR_KEY] = user.session_token


def staff_required(*roles: str) -> Callable:
    """Staff pages: signed in, second factor passed, and holding one of `roles`
    (any staff role when none are named)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            wanted = set(roles) if roles else {"commissioner", "evaluator", "admin"}
            if not (current_user.roles & wanted):
                abort(403)
            if not second_factor_passed(current_user):
                return redirect(url_for("auth.second_factor", next=request.full_path))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def supplier_required(view):
    """Pages for members of a supplier organisation."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_supplier:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def org_owner_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_org_owner:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def partnership_required(view):
    """Pages for approved partnership members."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_approved_partnership_member:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
