"""The pool's rows of the access matrix, run on their own (tests/test_access_matrix.py
runs them with every other area's)."""

from __future__ import annotations

import pytest
from flask import url_for

from portal.extensions import db
from tests.access_rules import ROLES
from tests.access_rules import pool as pool_rules
from tests.fixtures.users import (
    OrganisationFactory,
    login_as,
    make_partnership_member,
    make_staff,
    make_supplier,
)
from tests.test_access_matrix import World


def _world() -> World:
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
    pool_rules.build_world(world)
    db.session.commit()
    return world


@pytest.mark.parametrize("role", ROLES)
def test_pool_access(app, role):
    world = _world()
    person = world.people[role]
    failures = []
    for r in pool_rules.RULES:
        with app.test_client() as client:
            if person is not None:
                login_as(client, person)
            with app.test_request_context():
                url = url_for(r.endpoint, **(r.args(world) if r.args else {}))
            response = client.open(url, method=r.method, data=r.data(world) if r.data else {})
            if response.status_code != r.expectation(role):
                failures.append(
                    f"{r.method} {url} ({r.endpoint} {r.id}): expected "
                    f"{r.expectation(role)}, got {response.status_code}"
                )
    assert not failures, f"as {role}:\n" + "\n".join(failures)
