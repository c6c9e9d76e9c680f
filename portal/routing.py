"""What route modules share when they hand a change to a service.

A route calls one service function and commits once. A service refuses a change by raising
its own error, with a `message` for the person and, on a form, the `field` it is about. By
then the service may already have added rows or audit events to the session, so a refusal
is rolled back before it is shown: nothing of a refused change is kept.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort

from portal.extensions import db


def show_refusal(form, error) -> None:
    """Show a service refusal on the form: next to its field, or at the top."""
    field = getattr(form, error.field, None) if error.field else None
    if field is None:
        # Not about one answer: the error summary links to the button.
        field = form.submit
    field.errors = [*field.errors, error.message]


def commit_unless_refused(
    change: Callable[[], object],
    *,
    refusal: type[Exception],
    on_refusal: Callable[[Exception], None],
    not_found: type[Exception] | tuple[type[Exception], ...] = (),
) -> bool:
    """Run `change` (one service call) and commit it: True.

    A `refusal` is rolled back and handed to `on_refusal` (shown on the form, or flashed):
    False. A `not_found` error means the object is not this person's: 404, exactly as if it
    did not exist.
    """
    try:
        change()
    except not_found:
        abort(404)
    except refusal as error:
        db.session.rollback()
        on_refusal(error)
        return False
    db.session.commit()
    return True
