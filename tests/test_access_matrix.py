"""Every route, every role: the answer each role gets is written down in
tests/access_rules/, and a route missing from there fails this test. No GET, for any
role, writes an audit event or queues an e-mail (no GET changes state)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.extensions import db
from tests.access_rules import ROLES, all_rules
from tests.fixtures.users import (
    OrganisationFactory,
    login_as,
    make_partnership_member,
    make_staff,
    make_supplier,
)

RULES = all_rules()


@dataclass
class World:
    """One person per role, and the objects each area's rules point at."""

    people: dict
    organisation_a: object
    organisation_b: object

    def __getattr__(self, name):
        # Areas attach their own objects with `world_builders` (see below).
        raise AttributeError(name)


def build_world() -> World:
    org_a = OrganisationFactory(legal_name="Organisation A Ltd")
    org_b = OrganisationFactory(legal_name="Organisation B Ltd")
    people = {
        "anonymous": None,
        "supplier_owner_a": make_supplier(org_a, role="owner", email="owner-a@a.example"),
        "supplier_member_b": make_supplier(org_b, role="member", email="member-b@b.example"),
        "partnership_pending": make_partnership_member(approved=False),
        "partnership_approved": make_partnership_member(approved=True),
        "commissioner": make_staff("commissioner"),
        "evaluator": make_staff("evaluator"),
        "admin": make_staff("admin"),
    }
    world = World(people=people, organisation_a=org_a, organisation_b=org_b)
    for module_rules in _world_builders():
        module_rules(world)
    db.session.commit()
    return world


def _world_builders():
    import importlib
    import pkgutil

    import tests.access_rules as package

    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"tests.access_rules.{info.name}")
        builder = getattr(module, "build_world", None)
        if builder:
            yield builder


def test_every_route_is_in_the_matrix(app):
    listed = {(r.endpoint, r.method) for r in RULES}
    missing = []
    for url_rule in app.url_map.iter_rules():
        for method in sorted((url_rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (url_rule.endpoint, method) not in listed:
                missing.append(f"{method} {url_rule.rule} ({url_rule.endpoint})")
    assert not missing, "Routes missing from tests/access_rules/:\n" + "\n".join(missing)


def test_matrix_has_no_stale_rules(app):
    known = {
        (r.endpoint, m)
        for r in app.url_map.iter_rules()
        for m in (r.methods or set())
    }
    stale = [f"{r.method} {r.endpoint}" for r in RULES if (r.endpoint, r.method) not in known]
    assert not stale, f"Rules for routes that no longer exist: {stale}"


def _state_rows() -> tuple[int, int]:
    """Audit events and queued e-mails so far. Every state change writes an audit event
    (and most tell someone), so a GET that adds to either has changed state."""
    from sqlalchemy import func, select

    from portal.models.audit import AuditEvent
    from portal.models.outbox import OutboxEmail

    counts = tuple(db.session.scalar(select(func.count()).select_from(model))
                   for model in (AuditEvent, OutboxEmail))
    db.session.commit()  # end the read: the next request may write
    return counts


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app, role):
    world = build_world()
    person = world.people[role]
    failures = []
    for r in RULES:
        with app.test_client() as client:
            if person is not None:
                login_as(client, person)
            with app.test_request_context():
                from flask import url_for

                url = url_for(r.endpoint, **(r.args(world) if r.args else {}))
            data = r.data(world) if r.data else {}
            before = _state_rows() if r.method == "GET" else None
            response = client.open(url, method=r.method, data=data)
            if before is not None and _state_rows() != before:
                failures.append(f"GET {url} ({r.endpoint}) changed state: "
                                f"{before} -> {_state_rows()}")
            expected = r.expectation(role)
            if response.status_code != expected:
                failures.append(
                    f"{r.method} {url} ({r.endpoint}{' ' + r.id if r.id else ''}): "
                    f"expected {expected}, got {response.status_code}"
                )
    assert not failures, f"as {role}:\n" + "\n".join(failures)
