"""Organisation details and reviewer profile journeys through the Flask client, with bad
input on every form: a clear error, and nothing saved."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    AuditEvent,
    DirectoryConsent,
    ExpertiseTag,
    Organisation,
    ReviewerProfile,
    ReviewerPublication,
    ReviewerRegion,
    ReviewerSensitiveData,
    utcnow,
)
from portal.models.profiles import CONSENT_TEXT_VERSION, seed_expertise_tags
from portal.services import profiles as service
from tests.fixtures.users import OrganisationFactory, make_partnership_member, make_staff
from tests.fixtures.users import make_supplier as _make_supplier


@pytest.fixture(autouse=True)
def _tags(app):
    seed_expertise_tags()
    db.session.commit()


def make_supplier(organisation=None, role="owner", **kw):
    return _make_supplier(organisation, role=role, **kw)


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.sequence)))


def last_event(action: str) -> AuditEvent:
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(
            AuditEvent.sequence.desc()
        )
    ).first()


def make_profile(organisation, name="Sam Reviewer", **kw) -> ReviewerProfile:
    profile = ReviewerProfile(
        organisation_id=organisation.id,
        name=name,
        professional_background=kw.pop("professional_background", "social_work"),
        years_experience=kw.pop("years_experience", 10),
        summary=kw.pop("summary", "Experienced independent reviewer."),
        **kw,
    )
    profile.region_links.append(ReviewerRegion(region="london"))
    db.session.add(profile)
    db.session.commit()
    return profile


def text(response) -> str:
    return response.get_data(as_text=True)


# --- Organisation details ------------------------------------------------------------------

GOOD_DETAILS = {
    "legal_name": "Northern Reviews Ltd",
    "trading_name": "Northern Reviews",
    "kind": "company",
    "companies_house_number": "sc123456",
    "charity_number": "",
    "address_line_1": "1 High Street",
    "address_line_2": "",
    "town": "Leeds",
    "postcode": "ls1 4ap",
    "regions": ["yorkshire_humber", "north_east"],
    "website": "https://northern-reviews.example.org",
    "is_sme": "yes",
}


def test_owner_completes_organisation_details(client, sign_in):
    owner = sign_in(make_supplier())
    org_id = owner.organisation.id
    assert client.get("/organisation/details").status_code == 200
    assert client.get("/organisation/details/edit").status_code == 200
    response = client.post("/organisation/details/edit", data=GOOD_DETAILS)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/organisation/details")
    db.session.expire_all()
    org = db.session.get(Organisation, org_id)
    assert org.kind == "company"
    assert org.companies_house_number == "SC123456"
    assert org.postcode == "LS1 4AP"
    assert org.regions == ["north_east", "yorkshire_humber"]
    assert org.is_sme is True
    assert org.details_complete
    event = last_event("organisation.details_updated")
    assert event.actor_id == owner.id
    assert "postcode" in event.data["fields"] and "regions" in event.data["fields"]
    # Only field names: no values in the audit trail.
    assert "LS1 4AP" not in str(event.data)
    page = text(client.get("/organisation/details"))
    assert "Northern Reviews Ltd" in page and "LS1 4AP" in page and "SC123456" in page
    # The edit form comes back filled in.
    form = text(client.get("/organisation/details/edit"))
    assert 'value="SC123456"' in form and "checked" in form


def test_details_return_to_a_safe_next_page(client, sign_in):
    sign_in(make_supplier())
    response = client.post("/organisation/details/edit?next=/pool/apply", data=GOOD_DETAILS)
    assert response.headers["Location"].endswith("/pool/apply")
    response = client.post("/organisation/details/edit?next=//evil.example", data=GOOD_DETAILS)
    assert response.headers["Location"].endswith("/organisation/details")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"legal_name": ""}, "Enter the legal name of your organisation"),
        ({"legal_name": "x" * 201}, "Legal name must be 200 characters or fewer"),
        ({"trading_name": "x" * 201}, "Trading name must be 200 characters or fewer"),
        ({"kind": ""}, "Select what kind of organisation it is"),
        ({"kind": "spaceship"}, "Select an answer from the list"),
        ({"companies_house_number": ""}, "Enter the Companies House number of your company"),
        ({"companies_house_number": "1234567"}, "Companies House number must be 8 characters"),
        ({"companies_house_number": "ABC12345"}, "Companies House number must be 8 characters"),
        ({"companies_house_number": "x" * 30}, "Companies House number must be 8 characters"),
        ({"kind": "charity", "companies_house_number": ""}, "Enter the registered charity number"),
        ({"kind": "charity", "charity_number": "12345"}, "Charity number must be 6 or 7 digits"),
        ({"kind": "charity", "charity_number": "SC12345"}, "Charity number must be 6 or 7"),
        ({"kind": "individual"}, "Leave the Companies House number blank"),
        ({"kind": "sole_trader", "companies_house_number": "", "charity_number": "1234567"},
         "Leave the charity number blank"),
        ({"address_line_1": ""}, "Enter address line 1"),
        ({"address_line_1": "x" * 201}, "Address line 1 must be 200 characters or fewer"),
        ({"town": ""}, "Enter the town or city"),
        ({"postcode": ""}, "Enter the postcode"),
        ({"postcode": "XYZ 123"}, "Enter a real UK postcode"),
        ({"postcode": "x" * 30}, "Enter a real UK postcode"),
        ({"regions": []}, "Select at least one region you cover"),
        ({"regions": ["london", "mars"]}, "Select regions from the list"),
        ({"website": "http://example.org"}, "starts with https://"),
        ({"website": "https://localhost"}, "Enter a real web address"),
        ({"is_sme": ""}, "Select yes if your organisation is a small or medium-sized"),
        ({"is_sme": "perhaps"}, "Select an answer from the list"),
    ],
)
def test_bad_organisation_details_save_nothing(client, sign_in, changes, message):
    owner = sign_in(make_supplier())
    org_id = owner.organisation.id
    before = audit_actions()
    data = {**GOOD_DETAILS, **changes}
    response = client.post("/organisation/details/edit", data=data)
    assert response.status_code == 200
    body = text(response)
    assert "There is a problem" in body
    assert message.replace("'", "&#39;") in body
    db.session.expire_all()
    org = db.session.get(Organisation, org_id)
    assert org.kind is None and org.postcode is None and not org.region_links
    assert audit_actions() == before


def test_service_refuses_what_the_form_would(app):
    owner = make_supplier()
    details = service.OrganisationDetails(
        legal_name="A", trading_name=None, kind="company", companies_house_number=None,
        charity_number=None, address_line_1="1 Street", address_line_2=None, town="Leeds",
        postcode="LS1 4AP", regions=["london"], website=None, is_sme=True,
    )
    with pytest.raises(service.ProfileError) as error:
        service.update_organisation_details(owner, details)
    assert error.value.field == "companies_house_number"
    details.kind, details.companies_house_number = "individual", None
    details.regions = ["atlantis"]
    with pytest.raises(service.ProfileError) as error:
        service.update_organisation_details(owner, details)
    assert error.value.field == "regions"
    db.session.rollback()


def test_database_refuses_a_company_without_a_number(app):
    org = OrganisationFactory()
    org.kind = "company"
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError on either database
        db.session.commit()
    db.session.rollback()


def test_member_cannot_change_organisation_details(client, sign_in):
    owner = make_supplier()
    member = make_supplier(owner.organisation, role="member")
    sign_in(member)
    assert client.get("/organisation/details").status_code == 200
    assert client.post("/organisation/details/edit", data=GOOD_DETAILS).status_code == 403
    db.session.expire_all()
    assert db.session.get(Organisation, owner.organisation.id).kind is None


# --- Reviewer profiles ---------------------------------------------------------------------

GOOD_PROFILE = {
    "name": "Dr Priya Shah",
    "professional_background": "academic_research",
    "years_experience": "14",
    "reviews_national": "2",
    "reviews_lcspr": "7",
    "reviews_serious_case": "",
    "reviews_rapid": "3",
    "reviews_thematic": "1",
    "reviews_literature": "0",
    "summary": "Led seven LCSPRs on neglect and criminal exploitation.",
    "regions": ["london", "south_east"],
    "available_from": ["1", "3", "2027"],
    "days_per_month": "6",
    "day_rate": "£650.50",
}


def profile_count(org_id=None) -> int:
    query = select(func.count(ReviewerProfile.id))
    if org_id:
        query = query.where(ReviewerProfile.organisation_id == org_id)
    return db.session.scalar(query)


def test_add_a_reviewer_journey(client, sign_in):
    owner = sign_in(make_supplier())
    assert client.get("/organisation/reviewers").status_code == 200
    assert client.get("/organisation/reviewers/new").status_code == 200
    response = client.post("/organisation/reviewers/new", data=GOOD_PROFILE)
    assert response.status_code == 302, text(response)
    profile = db.session.scalars(select(ReviewerProfile)).one()
    assert response.headers["Location"].endswith(
        f"/organisation/reviewers/{profile.id}/expertise?journey=new"
    )
    assert profile.organisation_id == owner.organisation.id
    assert profile.reviews_lcspr == 7 and profile.reviews_serious_case == 0
    assert profile.reviews_total == 13
    assert profile.available_from == date(2027, 3, 1)
    assert profile.day_rate_pence == 65050
    assert profile.regions == ["london", "south_east"]
    assert not profile.in_directory
    assert "reviewer.created" in audit_actions()

    # Expertise, then competences, then the profile page.
    tags = db.session.scalars(select(ExpertiseTag).order_by(ExpertiseTag.name)).all()
    response = client.post(f"/organisation/reviewers/{profile.id}/expertise?journey=new",
                           data={"tags": [tags[0].id, tags[3].id]})
    assert response.headers["Location"].endswith(
        f"/organisation/reviewers/{profile.id}/competences?journey=new"
    )
    answers = {area: "no" for area in ("race", "ethnicity", "religion", "gender", "sexuality",
                                        "disability", "poverty")}
    answers.update(race="yes", race_example="Child Q: analysed adultification bias.")
    response = client.post(f"/organisation/reviewers/{profile.id}/competences", data=answers)
    assert response.status_code == 302
    db.session.expire_all()
    profile = db.session.get(ReviewerProfile, profile.id)
    assert {t.id for t in profile.expertise} == {tags[0].id, tags[3].id}
    assert profile.competence("race").has_competence
    assert profile.competence("poverty").has_competence is False
    page = text(client.get(f"/organisation/reviewers/{profile.id}"))
    assert "Dr Priya Shah" in page and "£650.50" in page and "adultification" in page
    assert tags[0].name in page
    listing = text(client.get("/organisation/reviewers"))
    assert "Dr Priya Shah" in listing


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter the reviewer&#39;s full name"),
        ({"name": "x" * 201}, "Full name must be 200 characters or fewer"),
        ({"professional_background": ""}, "Select a professional background"),
        ({"professional_background": "astrology"}, "Select an answer from the list"),
        ({"years_experience": ""}, "Enter the years of safeguarding experience"),
        ({"years_experience": "ten"}, "must be a whole number"),
        ({"years_experience": "71"}, "must be between 0 and 70"),
        ({"reviews_lcspr": "-1"}, "Number of LCSPRs must be a whole number"),
        ({"reviews_national": "1000"}, "Number of national reviews must be between 0 and 999"),
        ({"summary": ""}, "Enter a summary"),
        ({"summary": "x" * 3001}, "Summary must be 3,000 characters or fewer"),
        ({"regions": []}, "Select at least one region"),
        ({"regions": ["wales", "narnia"]}, "Select regions from the list"),
        ({"available_from": ["31", "2", "2027"]}, "must be a real date"),
        ({"available_from": ["", "2", "2027"]}, "must include a day"),
        ({"available_from": ["1", "2", "27"]}, "must be a real date"),
        ({"days_per_month": "40"}, "Days per month must be between 0 and 31"),
        ({"day_rate": "lots"}, "Day rate must be an amount in pounds"),
        ({"day_rate": "£20000"}, "Day rate must be £10,000 or less"),
    ],
)
def test_bad_reviewer_profile_saves_nothing(client, sign_in, changes, message):
    sign_in(make_supplier())
    before = audit_actions()
    response = client.post("/organisation/reviewers/new", data={**GOOD_PROFILE, **changes})
    assert response.status_code == 200
    body = text(response)
    assert "There is a problem" in body
    assert message in body
    assert profile_count() == 0
    assert audit_actions() == before


def test_edit_a_reviewer_and_bad_edit_changes_nothing(client, sign_in):
    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    form = text(client.get(f"/organisation/reviewers/{profile.id}/edit"))
    assert "Sam Reviewer" in form
    response = client.post(f"/organisation/reviewers/{profile.id}/edit",
                           data={**GOOD_PROFILE, "years_experience": "abc"})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(ReviewerProfile, profile.id).name == "Sam Reviewer"
    response = client.post(f"/organisation/reviewers/{profile.id}/edit", data=GOOD_PROFILE)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ReviewerProfile, profile.id).name == "Dr Priya Shah"
    event = last_event("reviewer.updated")
    assert "name" in event.data["fields"]
    assert "Priya" not in str(event.data)


def test_change_a_reviewer_from_check_your_answers_comes_back_there(client, sign_in):
    from tests.pool_support import complete_details, make_application
    from tests.summary_list import change_links

    owner = sign_in(make_supplier())
    complete_details(owner.organisation)
    profile = make_profile(owner.organisation)
    application = make_application(owner.organisation, status="draft")
    check = f"/pool/apply/{application.id}/check"

    # The "Change" link on check your answers carries the way back.
    edit = change_links(text(client.get(check)))["Change the profile of Sam Reviewer"]
    assert edit == f"/organisation/reviewers/{profile.id}/edit?next={check}"
    form = client.get(edit)
    assert form.status_code == 200
    assert f'<a href="{check}" class="govuk-back-link"' in text(form)
    # A failed save keeps the way back (the form posts to the same URL), saves nothing.
    response = client.post(edit, data={**GOOD_PROFILE, "years_experience": "abc"})
    assert response.status_code == 200 and "There is a problem" in text(response)
    db.session.expire_all()
    assert db.session.get(ReviewerProfile, profile.id).name == "Sam Reviewer"
    # Saving returns to check your answers, which shows the change.
    response = client.post(edit, data=GOOD_PROFILE)
    assert response.status_code == 302
    assert response.headers["Location"] == check
    assert "Dr Priya Shah" in text(client.get(check))
    assert last_event("reviewer.updated").object_id == str(profile.id)
    # A forged next is ignored: back to the profile page, not off the site.
    for forged in ("//evil.example", "https://evil.example/x", "/\\evil.example"):
        response = client.post(f"/organisation/reviewers/{profile.id}/edit?next={forged}",
                               data=GOOD_PROFILE)
        assert response.headers["Location"] == f"/organisation/reviewers/{profile.id}", forged


def test_another_organisations_profile_is_404_and_unchanged(client, sign_in):
    other = make_profile(OrganisationFactory(), name="Other Org Reviewer")
    sign_in(make_supplier())
    pid = other.id
    publication = ReviewerPublication(reviewer_id=pid, title="T", url="https://x.example",
                                      year=2020, review_type="lcspr")
    db.session.add(publication)
    db.session.commit()
    before = audit_actions()
    for method, url, data in [
        ("get", f"/organisation/reviewers/{pid}", None),
        ("get", f"/organisation/reviewers/{pid}/edit", None),
        ("post", f"/organisation/reviewers/{pid}/edit", GOOD_PROFILE),
        ("post", f"/organisation/reviewers/{pid}/expertise", {"tags": []}),
        ("post", f"/organisation/reviewers/{pid}/competences", {}),
        ("post", f"/organisation/reviewers/{pid}/publications/new", {}),
        ("post", f"/organisation/reviewers/{pid}/publications/{publication.id}/remove", {}),
        ("get", f"/organisation/reviewers/{pid}/sensitive", None),
        ("post", f"/organisation/reviewers/{pid}/sensitive", {"dbs_type": "none"}),
        ("post", f"/organisation/reviewers/{pid}/sensitive/erase", {}),
        ("post", f"/organisation/reviewers/{pid}/consent",
         {"consent": "y", "text_version": CONSENT_TEXT_VERSION}),
        ("post", f"/organisation/reviewers/{pid}/consent/withdraw", {}),
        ("post", f"/organisation/reviewers/{pid}/remove", {}),
        ("get", "/organisation/reviewers/999999", None),
    ]:
        response = getattr(client, method)(url, data=data)
        assert response.status_code == 404, (method, url)
    db.session.expire_all()
    other = db.session.get(ReviewerProfile, pid)
    assert other.name == "Other Org Reviewer" and other.removed_at is None
    assert len(other.publications) == 1 and not other.consents
    assert audit_actions() == before
    assert "Other Org Reviewer" not in text(client.get("/organisation/reviewers"))


def test_expertise_choices_not_offered_are_refused(client, sign_in):
    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    tags = db.session.scalars(select(ExpertiseTag).order_by(ExpertiseTag.id)).all()
    retired = tags[-1]
    retired.retired_at = utcnow()
    db.session.commit()
    url = f"/organisation/reviewers/{profile.id}/expertise"
    for bad in ([retired.id], [999999], ["abc"]):
        response = client.post(url, data={"tags": bad})
        assert response.status_code == 200
        assert "Select areas of expertise from the list" in text(response)
    db.session.expire_all()
    assert db.session.get(ReviewerProfile, profile.id).expertise == []
    # The form does not offer the retired tag...
    assert retired.name not in text(client.get(url))
    # ...but a profile that already has it keeps it when saving.
    profile = db.session.get(ReviewerProfile, profile.id)
    profile.expertise = [retired]
    db.session.commit()
    assert retired.name in text(client.get(url))
    assert client.post(url, data={"tags": [retired.id, tags[0].id]}).status_code == 302
    db.session.expire_all()
    assert len(db.session.get(ReviewerProfile, profile.id).expertise) == 2


ALL_NO = {a: "no" for a in ("race", "ethnicity", "religion", "gender", "sexuality",
                            "disability", "poverty")}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"poverty": ""}, "Select yes or no for poverty"),
        ({"poverty": "maybe"}, "Select an answer from the list"),
        ({"religion": "yes"}, "Give an example of analysing the impact of religion"),
        ({"religion": "yes", "religion_example": "   "}, "Give an example"),
        ({"gender": "yes", "gender_example": "x" * 1501}, "1,500 characters or fewer"),
    ],
)
def test_bad_competences_save_nothing(client, sign_in, changes, message):
    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    response = client.post(f"/organisation/reviewers/{profile.id}/competences",
                           data={**ALL_NO, **changes})
    assert response.status_code == 200
    assert message in text(response)
    db.session.expire_all()
    assert db.session.get(ReviewerProfile, profile.id).competences == []


def test_competence_example_dropped_when_no(client, sign_in):
    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    response = client.post(f"/organisation/reviewers/{profile.id}/competences",
                           data={**ALL_NO, "race_example": "left over"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ReviewerProfile, profile.id).competence("race").example is None


GOOD_PUBLICATION = {
    "title": "Child Safeguarding Practice Review: Child Q",
    "url": "https://www.example.gov.uk/child-q.pdf",
    "year": "2022",
    "review_type": "lcspr",
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, "Enter the title of the review"),
        ({"title": "x" * 301}, "Title must be 300 characters or fewer"),
        ({"url": ""}, "Enter the web address where the review is published"),
        ({"url": "http://www.example.gov.uk/a.pdf"}, "starts with https://"),
        ({"url": "javascript:alert(1)"}, "starts with https://"),
        ({"url": "https://" + "a" * 500 + ".org"}, "500 characters or fewer"),
        ({"year": ""}, "Enter the year the review was published"),
        ({"year": "1900"}, "Year published must be between 1950 and 2100"),
        ({"year": "2099"}, "Year must be a year from 1950 to"),
        ({"review_type": "gossip"}, "Select an answer from the list"),
        ({"review_type": ""}, "Select the type of review"),
    ],
)
def test_bad_publications_save_nothing(client, sign_in, changes, message):
    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    response = client.post(f"/organisation/reviewers/{profile.id}/publications/new",
                           data={**GOOD_PUBLICATION, **changes})
    assert response.status_code == 200
    assert message in text(response)
    assert db.session.scalar(select(func.count(ReviewerPublication.id))) == 0


def test_add_and_remove_a_publication(client, sign_in):
    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    other_profile = make_profile(OrganisationFactory())
    response = client.post(f"/organisation/reviewers/{profile.id}/publications/new",
                           data=GOOD_PUBLICATION)
    assert response.status_code == 302
    publication = db.session.scalars(select(ReviewerPublication)).one()
    page = text(client.get(f"/organisation/reviewers/{profile.id}"))
    assert "Child Q" in page and 'href="https://www.example.gov.uk/child-q.pdf"' in page
    # The publication id through a profile it does not belong to: 404.
    their = ReviewerPublication(reviewer_id=other_profile.id, title="Theirs",
                                url="https://x.example", year=2020, review_type="lcspr")
    db.session.add(their)
    db.session.commit()
    assert client.post(
        f"/organisation/reviewers/{profile.id}/publications/{their.id}/remove"
    ).status_code == 404
    assert client.post(
        f"/organisation/reviewers/{profile.id}/publications/{publication.id}/remove"
    ).status_code == 302
    assert db.session.scalar(select(func.count(ReviewerPublication.id))) == 1
    assert "reviewer.publication_removed" in audit_actions()


def test_member_may_maintain_profiles(client, sign_in):
    owner = make_supplier()
    member = sign_in(make_supplier(owner.organisation, role="member"))
    assert member.is_supplier
    response = client.post("/organisation/reviewers/new", data=GOOD_PROFILE)
    assert response.status_code == 302
    assert profile_count(owner.organisation.id) == 1


# --- Directory consent ---------------------------------------------------------------------


def test_directory_consent_is_opt_in_recorded_and_withdrawn_at_once(client, sign_in):
    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    url = f"/organisation/reviewers/{profile.id}/consent"
    page = text(client.get(url))
    assert 'name="consent"' in page
    assert "checked" not in page  # unticked
    assert CONSENT_TEXT_VERSION in page
    # Not ticked: an error and nothing saved.
    response = client.post(url, data={"text_version": CONSENT_TEXT_VERSION})
    assert response.status_code == 200
    assert "Tick the box to agree" in text(response)
    # Wording changed while the page was open: asked again.
    response = client.post(url, data={"consent": "y", "text_version": "2019-old"})
    assert response.status_code == 200
    assert "The consent wording has changed" in text(response)
    assert db.session.scalar(select(func.count(DirectoryConsent.id))) == 0

    response = client.post(url, data={"consent": "y", "text_version": CONSENT_TEXT_VERSION})
    assert response.status_code == 302
    consent = db.session.scalars(select(DirectoryConsent)).one()
    assert consent.text_version == CONSENT_TEXT_VERSION
    assert consent.given_by_id == owner.id and consent.given_at is not None
    # Giving it twice does not make a second active consent.
    client.post(url, data={"consent": "y", "text_version": CONSENT_TEXT_VERSION})
    assert db.session.scalar(select(func.count(DirectoryConsent.id))) == 1
    db.session.expire_all()
    assert db.session.get(ReviewerProfile, profile.id).in_directory

    # One click withdraws it.
    response = client.post(f"/organisation/reviewers/{profile.id}/consent/withdraw")
    assert response.status_code == 302
    db.session.expire_all()
    profile = db.session.get(ReviewerProfile, profile.id)
    assert not profile.in_directory
    assert profile.consents[0].withdrawn_at is not None
    # Consent again: history kept.
    client.post(url, data={"consent": "y", "text_version": CONSENT_TEXT_VERSION})
    db.session.expire_all()
    assert len(db.session.get(ReviewerProfile, profile.id).consents) == 2
    actions = audit_actions()
    assert actions.count("reviewer.directory_consent_given") == 2
    assert actions.count("reviewer.directory_consent_withdrawn") == 1


def test_database_allows_one_active_consent(app):
    profile = make_profile(OrganisationFactory())
    db.session.add_all([
        DirectoryConsent(reviewer_id=profile.id, text_version="v"),
        DirectoryConsent(reviewer_id=profile.id, text_version="v"),
    ])
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError on either database
        db.session.commit()
    db.session.rollback()


def test_partnership_sees_a_profile_only_while_it_is_in_the_directory(app):
    profile = make_profile(OrganisationFactory())
    partner = make_partnership_member(approved=True)
    pending = make_partnership_member(approved=False)
    evaluator = make_staff("evaluator")
    commissioner = make_staff("commissioner")
    assert not profile.can_view(partner)
    profile.consents.append(DirectoryConsent(text_version="v"))
    db.session.commit()
    assert profile.can_view(partner) and not profile.can_view(pending)
    assert profile.can_view(commissioner) and not profile.can_view(evaluator)
    for user in (partner, evaluator, commissioner, make_staff("admin")):
        assert not profile.can_view_sensitive(user)
        assert not profile.can_edit(user)


# --- Removing a reviewer -------------------------------------------------------------------


def test_remove_a_reviewer_withdraws_consent_and_erases_sensitive_data(client, sign_in):
    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    profile.consents.append(DirectoryConsent(text_version=CONSENT_TEXT_VERSION))
    profile.sensitive = ReviewerSensitiveData(ethnicity="white")
    db.session.commit()
    assert "Are you sure" in text(client.get(f"/organisation/reviewers/{profile.id}/remove"))
    response = client.post(f"/organisation/reviewers/{profile.id}/remove")
    assert response.status_code == 302
    db.session.expire_all()
    profile = db.session.get(ReviewerProfile, profile.id)
    assert profile.removed_at is not None and not profile.in_directory
    assert db.session.get(ReviewerSensitiveData, profile.id) is None
    assert client.get(f"/organisation/reviewers/{profile.id}").status_code == 404
    assert "Sam Reviewer" not in text(client.get("/organisation/reviewers"))
    event = last_event("reviewer.removed")
    assert event.data == {"consent_withdrawn": True, "sensitive_erased": True}


# --- CV and sample of work ---------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_upload_download_and_remove_a_cv(client, sign_in):
    import io

    from portal.models import Document

    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    url = f"/organisation/reviewers/{profile.id}/documents"
    assert client.get(url).status_code == 200
    # No file: an error, nothing stored.
    response = client.post(url, data={"slot": "cv"})
    assert "Select a file to upload" in text(response)
    # A file that lies about its type: refused, nothing stored or attached.
    response = client.post(url, data={"slot": "cv", "file": (io.BytesIO(b"MZ\x90\x00" * 50),
                                                             "cv.pdf")})
    assert response.status_code in (400, 415, 422)
    assert "There is a problem" in text(response)
    # A slot not offered.
    response = client.post(url, data={"slot": "passport", "file": (io.BytesIO(PDF), "cv.pdf")})
    assert "Select an answer from the list" in text(response)
    assert db.session.scalar(select(func.count(Document.id))) == 0

    response = client.post(url, data={"slot": "cv", "file": (io.BytesIO(PDF), "my cv.pdf")})
    assert response.status_code == 302
    db.session.expire_all()
    profile = db.session.get(ReviewerProfile, profile.id)
    document = profile.cv_document
    assert document.area == "profiles" and document.original_name == "my cv.pdf"
    assert "my cv.pdf" in text(client.get(f"/organisation/reviewers/{profile.id}"))
    assert client.get(f"/documents/{document.id}").data == PDF
    assert "reviewer.document_attached" in audit_actions()

    # Commissioners may download it; partnerships, evaluators and other suppliers may not.
    for person, status in [(make_staff("commissioner"), 200), (make_staff("evaluator"), 404),
                           (make_partnership_member(approved=True), 404),
                           (make_supplier(OrganisationFactory()), 404)]:
        sign_in(person)
        assert client.get(f"/documents/{document.id}").status_code == status
    sign_in(owner)
    assert client.post(f"/organisation/reviewers/{profile.id}/documents/cv/remove"
                       ).status_code == 302
    db.session.expire_all()
    assert db.session.get(ReviewerProfile, profile.id).cv_document_id is None
    # A detached document belongs to nothing: nobody downloads it.
    assert client.get(f"/documents/{document.id}").status_code == 404
