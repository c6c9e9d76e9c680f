"""Flask-Login wiring: users are loaded by their rotating session token."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db, login_manager
from portal.models import User

login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Sign in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    user = db.session.execute(
        select(User).where(User.session_token == session_token)
    ).scalar_one_or_none()
    if user is None or not user.is_active:
        return None
    return user
