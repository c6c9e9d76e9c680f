"""portal/routing.py: one service call per route, committed; a refusal rolled back and
shown; a 'not found' from the service is a 404. Against the real database session."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound as HTTPNotFound

from portal import audit, routing
from portal.extensions import db
from portal.models.audit import AuditEvent


class Refused(Exception):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Missing(LookupError):
    pass


def _events() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def _change(then: Exception | None = None):
    def change():
        audit.record("test.changed", data={})
        db.session.flush()
        if then is not None:
            raise then
    return change


def _run(change, shown: list, **kwargs) -> bool:
    return routing.commit_unless_refused(
        change, refusal=Refused, on_refusal=lambda e: shown.append(e.message), **kwargs)


def test_a_change_is_committed(app):
    shown: list = []
    assert _run(_change(), shown) is True
    db.session.rollback()  # nothing left to undo: it was committed
    assert _events() == 1 and shown == []


def test_a_refusal_keeps_nothing_and_is_shown(app):
    shown: list = []
    assert _run(_change(Refused("Enter a name", "name")), shown) is False
    assert _events() == 0 and shown == ["Enter a name"]


@pytest.mark.parametrize("not_found", [Missing, (KeyError, Missing)])
def test_not_found_is_a_404(app, not_found):
    with pytest.raises(HTTPNotFound):
        _run(_change(Missing()), [], not_found=not_found)


def test_other_errors_are_not_swallowed(app):
    with pytest.raises(Missing):
        _run(_change(Missing()), [])
    with pytest.raises(ValueError):
        _run(_change(ValueError()), [], not_found=Missing)


def test_show_refusal_puts_the_message_by_its_field_or_the_button():
    form = SimpleNamespace(submit=SimpleNamespace(errors=[]), name=SimpleNamespace(errors=[]))
    routing.show_refusal(form, Refused("Enter a name", "name"))
    routing.show_refusal(form, Refused("Something went wrong"))
    routing.show_refusal(form, Refused("About no field of this form", "nope"))
    assert form.name.errors == ["Enter a name"]
    assert form.submit.errors == ["Something went wrong", "About no field of this form"]
