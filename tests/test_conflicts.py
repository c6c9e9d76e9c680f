"""Potential conflicts of interest between an evaluator and a bidder."""

from __future__ import annotations

from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models.base import utcnow
from portal.models.evaluation import ConflictDeclaration, EvaluatorAssignment
from portal.services import award as award_service
from portal.services import conflicts
from portal.services import evaluation as service
from tests.award_support import admin, evaluated_commission
from tests.evaluation_support import add_panel, opened
from tests.fixtures.users import OrganisationFactory, login_as, make_staff, make_supplier


def test_domains():
    assert conflicts.organisation_domain("www.law.ox.ac.uk") == "ox.ac.uk"
    assert conflicts.organisation_domain("mail.example.com") == "example.com"
    assert conflicts.organisation_domain("co.uk") is None
    assert conflicts.organisation_domain("localhost") is None
    assert conflicts.website_domain("reviewco.co.uk") == "reviewco.co.uk"
    assert conflicts.website_domain("https://www.ReviewCo.co.uk/about") == "reviewco.co.uk"
    assert conflicts.website_domain("") is None
    assert conflicts.website_domain("http://[bad") is None
    assert conflicts.email_domain("ann@dept.reviewco.co.uk") == "reviewco.co.uk"
    assert conflicts.is_webmail("gmail.com") and not conflicts.is_webmail("reviewco.co.uk")


def test_email_domain_matches_the_bidder_website(app):
    org = OrganisationFactory(legal_name="Review Co", website="https://www.reviewco.co.uk")
    evaluator = make_staff("evaluator", email="ann@research.reviewco.co.uk")
    reasons = conflicts.potential_conflicts(evaluator, org)
    assert reasons == ["Your e-mail domain (reviewco.co.uk) matches the website of Review Co "
                       "(https://www.reviewco.co.uk)."]


def test_email_domain_matches_a_user_of_the_bidder(app):
    org = OrganisationFactory(legal_name="Uni Team")
    make_supplier(org, email="bob@sociology.ox.ac.uk")
    evaluator = make_staff("evaluator", email="ann@law.ox.ac.uk")
    assert conflicts.potential_conflicts(evaluator, org) == [
        "Your e-mail domain (ox.ac.uk) matches the e-mail domain of a user of Uni Team."]
    stranger = make_staff("evaluator", email="carl@cam.ac.uk")
    assert conflicts.potential_conflicts(stranger, org) == []


def test_webmail_domains_never_count(app):
    org = OrganisationFactory(legal_name="Solo Reviewer", website="https://gmail.com")
    make_supplier(org, email="solo.reviewer@gmail.com")
    evaluator = make_staff("evaluator", email="ann.panel@gmail.com")
    assert conflicts.potential_conflicts(evaluator, org) == []
    hotmail = make_staff("evaluator", email="ann.panel@hotmail.co.uk")
    make_supplier(org, email="x@hotmail.co.uk")
    assert conflicts.potential_conflicts(hotmail, org) == []


def test_current_and_former_members_of_the_bidder(app):
    org = OrganisationFactory(legal_name="Former Home Ltd")
    # a current member (a staff account that also belongs to the organisation)
    member = make_supplier(org, email="member@example.net")
    assert conflicts.potential_conflicts(member, org) == [
        "You are, or were, a user of Former Home Ltd."]
    # joined once and left: only the audit trail remembers
    evaluator = make_staff("evaluator", email="left@example.net")
    audit.record("organisation.member_joined", actor=evaluator, object_type="organisation_members",
                 object_id=12345, data={"organisation_id": org.id, "user_id": evaluator.id,
                                        "role": "member"})
    audit.record("organisation.member_left", actor=evaluator, obj=org,
                 data={"user_id": evaluator.id, "role": "member", "member_id": 12345})
    db.session.commit()
    assert conflicts.was_ever_member(evaluator, org)
    # created the organisation long ago (and handed it over)
    founder = make_staff("evaluator", email="founder@example.net")
    audit.record("organisation.created", actor=founder, obj=org,
                 data={"legal_name": org.legal_name, "owner_id": founder.id})
    db.session.commit()
    assert conflicts.was_ever_member(founder, org)
    other_org = OrganisationFactory()
    assert not conflicts.was_ever_member(founder, other_org)
    assert not conflicts.was_ever_member(make_staff("evaluator"), org)


def _awarded_to(winner_user, commissioner, approver, number: int = 2):
    """An earlier commission (category `number`) awarded to `winner_user`'s organisation
    and approved by `approver`."""
    earlier = evaluated_commission(commissioner, bidders=[winner_user], number=number,
                                   scores=((4, 4), (1, 1)))
    award = award_service.propose(commissioner, earlier.commission, None, "")
    db.session.commit()
    award_service.approve(approver, award)
    db.session.commit()
    return earlier, award


def test_bidder_who_worked_for_the_evaluator_on_an_earlier_commission(app):
    winner = make_supplier(OrganisationFactory(legal_name="Past Supplier Ltd"), role="owner",
                           email="owner@past-supplier.example")
    commissioner = make_staff("commissioner", "evaluator", email="cara@panel.example")
    approver = admin("approver@panel.example", "evaluator")
    earlier, award = _awarded_to(winner, commissioner, approver)
    loser = earlier.organisations[1]
    panel_member = make_staff("evaluator", email="pat@panel.example")
    removed = make_staff("evaluator", email="rem@panel.example")
    for user in (panel_member, removed):
        db.session.add(EvaluatorAssignment(commission_id=earlier.commission.id,
                                           user_id=user.id))
    db.session.commit()
    db.session.scalars(select(EvaluatorAssignment).where(
        EvaluatorAssignment.user_id == removed.id)).one().removed_at = utcnow()
    db.session.commit()
    organisation = winner.organisation
    said = f"Past Supplier Ltd was awarded {earlier.commission.reference} " \
           f"({earlier.commission.title}), a commission you"
    assert conflicts.potential_conflicts(commissioner, organisation) == [
        f"{said} commissioned."]
    assert conflicts.potential_conflicts(panel_member, organisation) == [f"{said} evaluated."]
    assert conflicts.potential_conflicts(approver, organisation) == [
        f"{said} took part in awarding."]
    # no hand in it, lost the competition, or left the panel: nothing to declare
    assert conflicts.potential_conflicts(make_staff("evaluator"), organisation) == []
    assert conflicts.potential_conflicts(commissioner, loser) == []
    assert conflicts.potential_conflicts(removed, organisation) == []
    # the commission being evaluated is not earlier work
    assert conflicts.potential_conflicts(commissioner, organisation, earlier.commission) == []
    # a withdrawn award means no work was done
    award_service.withdraw(earlier.commissioner, award, "The supplier could not start.")
    db.session.commit()
    assert conflicts.potential_conflicts(commissioner, organisation) == []


def test_previous_work_is_shown_when_declaring_and_kept(app, client):
    setup = opened(days=(10, 12), names=["Past Supplier Ltd", "New Bidder Ltd"])
    returning = setup.suppliers[0]
    evaluator = make_staff("commissioner", "evaluator", email="cara@panel.example")
    earlier, _ = _awarded_to(returning, evaluator, admin("approver@panel.example"))
    service.assign_evaluator(setup.commissioner, setup.commission, evaluator.id,
                             moderator=True)
    add_panel(setup, 1)
    db.session.commit()
    bid = setup.bids[0]
    login_as(client, evaluator)
    url = f"/evaluation/commissions/{setup.commission.id}/bids/{bid.id}/declaration"
    page = client.get(url)
    assert "We found a possible conflict of interest" in page.text
    assert f"was awarded {earlier.commission.reference}" in page.text
    assert client.post(url, data={"has_conflict": "no"}).status_code == 302
    declaration = db.session.query(ConflictDeclaration).one()
    assert not declaration.has_conflict
    assert declaration.potential == [
        f"Past Supplier Ltd was awarded {earlier.commission.reference} "
        f"({earlier.commission.title}), a commission you commissioned."]
    other = client.get(f"/evaluation/commissions/{setup.commission.id}/bids/"
                       f"{setup.bids[1].id}/declaration")
    assert other.status_code == 200
    assert "We found a possible conflict" not in other.text


def test_found_conflicts_are_shown_for_confirmation_and_kept(app, client):
    setup = opened(days=(10, 12), names=["Review Co", "Other Ltd"])
    bid = setup.bids[0]
    bid.organisation.website = "reviewco.co.uk"
    db.session.commit()
    moderator, evaluator = add_panel(setup, 2, start=False)
    evaluator.email = "eve@reviewco.co.uk"
    db.session.commit()
    # the commissioner sees it while setting up the panel
    login_as(client, setup.commissioner)
    panel = client.get(f"/commissioning/commissions/{setup.commission.id}/evaluation")
    assert "matches the website of Review Co" in panel.text
    service.start_evaluation(setup.commissioner, setup.commission)
    db.session.commit()
    login_as(client, evaluator)
    url = f"/evaluation/commissions/{setup.commission.id}/bids/{bid.id}/declaration"
    page = client.get(url)
    assert "We found a possible conflict of interest" in page.text
    assert "matches the website of Review Co" in page.text
    assert client.post(url, data={"has_conflict": "yes",
                                  "description": "I used to work there."}).status_code == 302
    declaration = db.session.query(ConflictDeclaration).one()
    assert declaration.has_conflict and declaration.potential == [
        "Your e-mail domain (reviewco.co.uk) matches the website of Review Co "
        "(reviewco.co.uk)."]
    other = client.get(f"/evaluation/commissions/{setup.commission.id}/bids/"
                       f"{setup.bids[1].id}/declaration")
    assert "We found a possible conflict" not in other.text
    assert moderator is not None
