"""GOV.UK-style error pages. The 500 page shows a reference that is also in the log."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import db

log = logging.getLogger("portal.errors")

ERROR_PAGES = {
    400: ("Sorry, there is a problem with your request", "errors/400.html"),
    403: ("You do not have permission to view this page", "errors/403.html"),
    404: ("Page not found", "errors/404.html"),
    405: ("Sorry, that action is not allowed here", "errors/405.html"),
    413: ("The file or form you sent is too large", "errors/413.html"),
    429: ("Too many attempts", "errors/429.html"),
    500: ("Sorry, there is a problem with the service", "errors/500.html"),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in {"/healthz", "/readyz"}


def render_error(code: int, reference: str | None = None, description: str | None = None):
    title, template = ERROR_PAGES.get(code, ERROR_PAGES[500])
    if _wants_json():
        body = {"error": title, "status": code}
        if reference:
            body["reference"] = reference
        return body, code
    try:
        page = render_template(template, title=title, reference=reference, description=description)
    except Exception:
        # The error page itself failed (a broken template or database): fall back to text
        # rather than hide the first error behind a second.
        log.exception("Rendering the %s page failed (reference %s)", code, reference)
        page = f"{title}. Reference: {reference or 'none'}"
    return page, code


def handle_http_exception(error: HTTPException):
    code = error.code or 500
    if code >= 500:
        return handle_unexpected(error)
    if code not in ERROR_PAGES:
        return error
    response = render_error(code)
    if code == 405 and getattr(error, "valid_methods", None):
        body, status = response
        return body, status, {"Allow": ", ".join(error.valid_methods)}
    return response


def handle_csrf_error(error: CSRFError):
    return render_error(400, description="Your form expired or was sent from another site. "
                        "Go back, reload the page and try again.")


def handle_unexpected(error: Exception):
    reference = secrets.token_hex(6).upper()
    original = getattr(error, "original_exception", None) or error
    log.error("Unhandled error, reference %s", reference, exc_info=original)
    try:
        db.session.rollback()
    except Exception:
        log.exception("Rollback after error %s failed", reference)
    return render_error(500, reference=reference)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(Exception, handle_unexpected)
