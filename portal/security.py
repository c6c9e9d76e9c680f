"""Security headers on every response, error pages included."""

from __future__ import annotations

import secrets

from flask import Flask, has_request_context, request
from flask_login import current_user


def csp_nonce() -> str:
    """One nonce per request (kept in the WSGI environ, which a request never shares)."""
    if not has_request_context():
        return ""  # e-mails and CLI output carry no scripts
    environ = request.environ
    if "portal.csp_nonce" not in environ:
        environ["portal.csp_nonce"] = secrets.token_urlsafe(16)
    return environ["portal.csp_nonce"]


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


def set_security_headers(response):
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(csp_nonce())
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    # Pages for signed-in people must not sit in shared or browser caches.
    try:
        signed_in = current_user.is_authenticated
    except Exception:  # no user loader yet, or the request failed before it ran
        signed_in = False
    if signed_in and request.endpoint not in {"static", "assets"}:
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)
