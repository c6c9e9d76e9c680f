"""Flask-Login wiring and the rules every signed-in request obeys.

- Users are loaded by their rotating session token (User.session_token), so signing out,
  changing the password or deactivation makes every copy of an old cookie anonymous.
- Idle and absolute timeouts (SESSION_IDLE_TIMEOUT, SESSION_ABSOLUTE_TIMEOUT) are checked
  on every request from the session's "signed_in_at" and "last_seen_at" (epoch seconds,
  inside the signed cookie, so a replayed old cookie times out as well).
- Staff who have not passed their second factor in this session reach only the second
  factor pages, sign-out and the public pages.
- No remember-me cookie for anyone: a browser session ends with the browser.
- Every page for a signed-in user carries the seconds left (`session_timing`), so the
  timeout warning (static/timeout-warning.js) can offer "Stay signed in" in time; that
  button posts to auth.session_keep_alive (`keep_session_alive`).
"""

from __future__ import annotations

import math
import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from portal.access import mark_second_factor_passed, second_factor_passed
from portal.extensions import db, login_manager
from portal.models import User

login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Sign in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"

SIGNED_IN_AT = "signed_in_at"
LAST_SEEN_AT = "last_seen_at"
# Refresh last_seen_at at most this often, so not every response rewrites the cookie.
_LAST_SEEN_GRANULARITY = 30

# What staff can open before their second factor: the second-factor steps themselves,
# signing out, and pages that need no account.
OPEN_BEFORE_SECOND_FACTOR = {
    "auth.second_factor",
    "auth.second_factor_setup",
    "auth.sign_out",
    "auth.session_keep_alive",  # the timeout warning shows on the second-factor pages too
    "static",
    "assets",
    "main.index",
    "main.accessibility",
    "main.privacy",
    "main.cookies",
    "main.healthz",
    "main.readyz",
}
_SKIP_ENDPOINTS = {"static", "assets", "main.healthz", "main.readyz"}


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    user = db.session.execute(
        select(User).where(User.session_token == session_token)
    ).scalar_one_or_none()
    if user is None or not user.is_active:
        return None
    return user


def start_session(user: User, *, keep_signed_in_at: float | None = None,
                  second_factor: bool = False) -> None:
    """Sign `user` in to a fresh session (nothing of the previous session is kept)."""
    now = time.time()
    session.clear()
    login_user(user, remember=False, fresh=True)
    session[SIGNED_IN_AT] = keep_signed_in_at or now
    session[LAST_SEEN_AT] = now
    if second_factor:
        mark_second_factor_passed(user)


def end_session() -> None:
    logout_user()
    session.clear()


def _seconds(value) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def _duration(seconds: float) -> str:
    """'60 minutes', '1 minute', '20 seconds' (short limits are for tests and demos)."""
    if seconds < 60:
        count, unit = round(seconds), "second"
    else:
        count, unit = round(seconds / 60), "minute"
    return f"{count} {unit}" + ("" if count == 1 else "s")


def _timed_out(now: float) -> str | None:
    signed_in_at = session.get(SIGNED_IN_AT)
    last_seen_at = session.get(LAST_SEEN_AT)
    if not isinstance(signed_in_at, int | float) or not isinstance(last_seen_at, int | float):
        return "Sign in to continue."
    idle = _seconds(current_app.config["SESSION_IDLE_TIMEOUT"])
    absolute = _seconds(current_app.config["SESSION_ABSOLUTE_TIMEOUT"])
    if now - signed_in_at > absolute:
        hours = round(absolute / 3600, 1)
        hours_text = f"{hours:g} hour" + ("" if hours == 1 else "s")
        return f"You have been signed out because you signed in more than {hours_text} ago."
    if now - last_seen_at > idle:
        return (f"You have been signed out because you had not used the service for "
                f"{_duration(idle)}.")
    return None


def enforce_session_rules():
    """before_request: timeouts, then the staff second-factor gate."""
    endpoint = request.endpoint
    if endpoint in _SKIP_ENDPOINTS or endpoint is None:
        return None
    if not current_user.is_authenticated:
        return None
    now = time.time()
    reason = _timed_out(now)
    if reason:
        end_session()
        flash(reason, "info")
        return None  # carry on as anonymous: protected pages send them to sign in
    if now - session[LAST_SEEN_AT] >= _LAST_SEEN_GRANULARITY:
        session[LAST_SEEN_AT] = now
    if (
        current_user.is_staff
        and endpoint not in OPEN_BEFORE_SECOND_FACTOR
        and not second_factor_passed(current_user)
    ):
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("auth.second_factor", next=safe_next(target)))
    return None


def session_timing(now: float | None = None) -> dict | None:
    """How long this session has left, for the timeout warning: None when signed out.

    seconds_left is rounded up, so the page never warns late; extendable says whether
    activity can push the end back (the idle timeout comes first) or not (the absolute
    timeout does, and no "Stay signed in" can move it)."""
    if not current_user.is_authenticated:
        return None
    signed_in_at = session.get(SIGNED_IN_AT)
    last_seen_at = session.get(LAST_SEEN_AT)
    if not isinstance(signed_in_at, int | float) or not isinstance(last_seen_at, int | float):
        return None
    now = time.time() if now is None else now
    config = current_app.config
    idle = _seconds(config["SESSION_IDLE_TIMEOUT"])
    absolute = _seconds(config["SESSION_ABSOLUTE_TIMEOUT"])
    idle_left = last_seen_at + idle - now
    absolute_left = signed_in_at + absolute - now
    return {
        "seconds_left": max(0, math.ceil(min(idle_left, absolute_left))),
        "extendable": idle_left < absolute_left,
        "warning_seconds": math.ceil(_seconds(config["SESSION_TIMEOUT_WARNING"])),
        "idle_minutes": round(idle / 60),
        "absolute_hours": f"{round(absolute / 3600, 1):g}",
    }


def keep_session_alive() -> dict | None:
    """Restart the idle clock now, even inside the granularity `enforce_session_rules`
    keeps to (the timeout warning counts on the full idle time from this moment)."""
    if session_timing() is None:
        return None
    now = time.time()
    session[LAST_SEEN_AT] = now
    return session_timing(now)


def safe_next(target: str | None, default: str | None = None) -> str | None:
    """`target` if it is a path on this site, else `default`. Refuses absolute URLs,
    scheme-relative ones (//evil.example), backslashes (browsers read them as /),
    control characters and whitespace tricks."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return default
    if target != target.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    if "\\" in target or not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    if target.endswith("?"):
        target = target[:-1]  # request.full_path adds a bare "?"
    return target
