"""Team and admin forms with CSRF protection switched on, as in production."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import OrganisationInvitation, Partnership
from tests.fixtures.users import make_staff, make_supplier

pytestmark = pytest.mark.csrf


@pytest.fixture
def app_overrides():
    return {"WTF_CSRF_ENABLED": True}


def _token(page: str) -> str:
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page).group(0)
    return re.search(r'value="([^"]+)"', tag).group(1)


def invitations() -> int:
    return db.session.execute(select(func.count(OrganisationInvitation.id))).scalar_one()


def test_invite_without_token_is_refused(client, sign_in):
    sign_in(make_supplier(role="owner"))
    response = client.post("/team/invite", data={"email": "x@example.org"})
    assert response.status_code == 400
    assert invitations() == 0


def test_invite_with_token_works(client, sign_in):
    sign_in(make_supplier(role="owner"))
    token = _token(client.get("/team/invite").get_data(as_text=True))
    response = client.post("/team/invite", data={"email": "x@example.org", "csrf_token": token})
    assert response.status_code == 302
    assert invitations() == 1


def test_leave_and_admin_forms_need_the_token(client, sign_in):
    owner = make_supplier(role="owner")
    member = make_supplier(owner.organisation, role="member")
    sign_in(member)
    assert client.post("/team/leave", data={"confirm": "yes"}).status_code == 400
    db.session.expire_all()
    assert member.membership is not None

    sign_in(make_staff("admin"))
    response = client.post("/admin/partnerships/new", data={"name": "X", "areas": "Y"})
    assert response.status_code == 400
    assert db.session.execute(select(func.count(Partnership.id))).scalar_one() == 0
    response = client.post(f"/admin/users/{member.id}/deactivate")
    assert response.status_code == 400
    db.session.expire_all()
    assert member.deactivated_at is None
