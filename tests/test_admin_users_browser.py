"""Team and administration pages in a real browser: axe-core finds nothing, including
the pages that show errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import OrganisationInvitation, utcnow
from portal.services.admin_users import staff_invitation_token
from portal.tokens import hash_secret_token
from tests.fixtures.browser import assert_no_axe_violations, sign_in_browser
from tests.fixtures.users import (
    OrganisationFactory,
    UserFactory,
    make_partnership_member,
    make_staff,
    make_supplier,
)

pytestmark = pytest.mark.browser


def _check(page, path: str, status: int = 200) -> None:
    response = page.goto(path)
    assert response.status == status, path
    assert page.get_by_role("heading", level=1).count() == 1, path
    assert_no_axe_violations(page)


def test_team_pages_are_accessible(page, live_server):
    organisation = OrganisationFactory(legal_name="Hartley Review Associates Ltd")
    owner = make_supplier(organisation, role="owner", name="Helen Hartley")
    member = make_supplier(organisation, role="member", name="Tom Fielding")
    db.session.add(OrganisationInvitation(
        organisation_id=organisation.id, email="new@hartley.example",
        token_hash=hash_secret_token("browser-token"), expires_at=utcnow() + timedelta(days=7),
    ))
    member_id = member.membership.id
    db.session.commit()
    sign_in_browser(page, owner)
    for path in ("/team/", "/team/invite", f"/team/members/{member_id}/remove",
                 f"/team/members/{member_id}/role", f"/team/members/{member_id}/transfer",
                 "/team/leave"):
        _check(page, path)
    # A form with errors.
    page.goto("/team/invite")
    page.locator("#email").fill("not an address")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".govuk-error-summary")).to_have_count(1)
    assert_no_axe_violations(page)

    page.context.clear_cookies()
    _check(page, "/team/join/browser-token")
    page.get_by_role("button", name="Create account and join").click()
    expect(page.locator(".govuk-error-summary")).to_have_count(1)
    assert_no_axe_violations(page)
    _check(page, "/team/join/unknown", 404)


def test_admin_pages_are_accessible(page, live_server):
    admin = make_staff("admin", name="Alex Morgan")
    evaluator = make_staff("evaluator", totp_secret="JBSWY3DPEHPK3PXP",
                           totp_enabled_at=utcnow())
    applicant = make_partnership_member(approved=False, name="Mark Ellison")
    partnership_id = applicant.partnership_id
    make_supplier(name="Sam Supplier")
    invited = UserFactory(email="invited@panel.example", password_hash=None)
    from portal.models import UserRole

    db.session.add(UserRole(user_id=invited.id, role="evaluator"))
    db.session.commit()
    token = staff_invitation_token(invited)
    ids = (admin.id, evaluator.id, applicant.id)
    db.session.commit()
    sign_in_browser(page, admin)
    _admin_id, evaluator_id, applicant_id = ids
    for path in ("/admin/users", "/admin/users?q=sam&role=supplier&status=active",
                 f"/admin/users/{evaluator_id}", f"/admin/users/{applicant_id}",
                 "/admin/users/invite", f"/admin/users/{evaluator_id}/roles",
                 f"/admin/users/{evaluator_id}/deactivate",
                 f"/admin/users/{evaluator_id}/reset-second-factor",
                 "/admin/partnerships", "/admin/partnerships/new",
                 f"/admin/partnerships/{partnership_id}/edit",
                 f"/admin/partnerships/accounts/{applicant_id}/refuse"):
        _check(page, path)
    page.goto(f"/admin/partnerships/accounts/{applicant_id}/refuse")
    page.get_by_role("button", name="Refuse account").click()
    expect(page.locator(".govuk-error-summary")).to_have_count(1)
    assert_no_axe_violations(page)

    page.context.clear_cookies()
    _check(page, f"/staff-invitation/{token}")
    _check(page, "/staff-invitation/forged", 404)
