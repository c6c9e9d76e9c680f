"""Special-category and criminal-offence data: stored apart, shown only to owners of the
profile's organisation, never to staff or partnerships (on any page), never in the audit
trail, and reported to admins only as suppressed aggregates. Also the admin list of
expertise tags."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from flask import url_for
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import (
    AuditEvent,
    ExpertiseTag,
    ReviewerProfile,
    ReviewerRegion,
    ReviewerSensitiveData,
    User,
)
from portal.models.profiles import seed_expertise_tags
from portal.services import profiles as service
from tests.access_rules import ROLES, all_rules
from tests.fixtures.users import (
    OrganisationFactory,
    login_as,
    make_partnership_member,
    make_staff,
    make_supplier,
)

MARKER = "LIVED-EXPERIENCE-MARKER-7Q2"
CERTIFICATE = date(2024, 2, 29)
CERTIFICATE_FORMS = ("29 February 2024", "29/02/2024", "2024-02-29", "29 2 2024")


@pytest.fixture(autouse=True)
def _tags(app):
    seed_expertise_tags()
    db.session.commit()


def make_profile(organisation, name="Sam Reviewer") -> ReviewerProfile:
    profile = ReviewerProfile(
        organisation_id=organisation.id, name=name, professional_background="health",
        years_experience=8, summary="Reviewer.",
    )
    profile.region_links.append(ReviewerRegion(region="wales"))
    db.session.add(profile)
    db.session.commit()
    return profile


def text(response) -> str:
    return response.get_data(as_text=True)


GOOD_SENSITIVE = {
    "age_band": "40_49",
    "sex": "female",
    "gender_same_as_sex": "prefer_not_to_say",
    "ethnicity": "black",
    "religion": "none",
    "sexual_orientation": "",
    "disability": "no",
    "lived_experience": "yes",
    "lived_experience_detail": MARKER,
    "dbs_type": "enhanced",
    "dbs_certificate_date": ["29", "2", "2024"],
    "dbs_update_service": "yes",
}


def test_owner_saves_sensitive_data_apart_from_the_profile(client, sign_in):
    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    url = f"/organisation/reviewers/{profile.id}/sensitive"
    assert client.get(url).status_code == 200
    response = client.post(url, data=GOOD_SENSITIVE)
    assert response.status_code == 302, text(response)
    row = db.session.get(ReviewerSensitiveData, profile.id)
    assert row.ethnicity == "black" and row.sexual_orientation is None
    assert row.lived_experience_detail == MARKER
    assert row.dbs_certificate_date == CERTIFICATE and row.dbs_update_service is True
    db.session.expire_all()
    assert db.session.get(ReviewerProfile, profile.id).dbs_current is True
    # The owner sees the answers on the sensitive page, and the form is filled in.
    page = text(client.get(url))
    assert MARKER in page and 'value="29"' in page
    # The profile page shows only whether the DBS check is current.
    profile_page = text(client.get(f"/organisation/reviewers/{profile.id}"))
    assert MARKER not in profile_page
    assert not any(d in profile_page for d in CERTIFICATE_FORMS)
    # The audit trail names the fields, never the answers.
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "reviewer.sensitive_updated")
    ).one()
    assert "ethnicity" in event.data["fields"]
    assert "black" not in str(event.data) and MARKER not in str(event.data)
    assert "2024" not in str(event.data)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ethnicity": "martian"}, "Select an answer from the list"),
        ({"age_band": "12"}, "Select an answer from the list"),
        ({"lived_experience_detail": "x" * 2001}, "2,000 characters or fewer"),
        ({"dbs_type": ""}, "Select the type of DBS check, or that there is none"),
        ({"dbs_type": "basic"}, "Select an answer from the list"),
        ({"dbs_certificate_date": ["", "", ""]}, "Enter the date on the DBS certificate"),
        ({"dbs_certificate_date": ["30", "2", "2024"]}, "must be a real date"),
        ({"dbs_certificate_date": ["1", "1", "2999"]}, "must be today or in the past"),
        ({"dbs_update_service": ""}, "Select yes if the certificate is on the DBS update"),
    ],
)
def test_bad_sensitive_data_saves_nothing(client, sign_in, changes, message):
    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    response = client.post(f"/organisation/reviewers/{profile.id}/sensitive",
                           data={**GOOD_SENSITIVE, **changes})
    assert response.status_code == 200
    assert message in text(response)
    assert db.session.get(ReviewerSensitiveData, profile.id) is None
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


def test_no_dbs_check_and_erasure(client, sign_in):
    owner = sign_in(make_supplier())
    profile = make_profile(owner.organisation)
    url = f"/organisation/reviewers/{profile.id}/sensitive"
    response = client.post(url, data={"dbs_type": "none",
                                      "dbs_certificate_date": ["1", "1", "2020"]})
    assert response.status_code == 302
    row = db.session.get(ReviewerSensitiveData, profile.id)
    assert row.dbs_type is None and row.dbs_certificate_date is None
    assert client.post(f"{url}/erase").status_code == 302
    db.session.expire_all()
    assert db.session.get(ReviewerSensitiveData, profile.id) is None
    assert db.session.get(ReviewerProfile, profile.id).dbs_current is False


def test_a_member_who_is_not_an_owner_cannot_see_it(client, sign_in):
    owner = make_supplier()
    profile = make_profile(owner.organisation)
    profile.sensitive = ReviewerSensitiveData(lived_experience="yes",
                                              lived_experience_detail=MARKER)
    db.session.commit()
    sign_in(make_supplier(owner.organisation, role="member"))
    url = f"/organisation/reviewers/{profile.id}/sensitive"
    assert client.get(url).status_code == 403
    assert client.post(url, data=GOOD_SENSITIVE).status_code == 403
    assert client.post(f"{url}/erase").status_code == 403
    page = text(client.get(f"/organisation/reviewers/{profile.id}"))
    assert MARKER not in page and url not in page
    assert db.session.get(ReviewerSensitiveData, profile.id).lived_experience_detail == MARKER


def _readable(data: bytes) -> str:
    """A response as text to search: pages and CSV as they are; an XLSX export (a zip of
    XML parts) unpacked first, since its compressed bytes would hide any text."""
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace")
                           for name in archive.namelist())
    return data.decode("utf-8", "replace")


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_sensitive_data_never_appears_on_any_page(app, role):
    """Every GET route in the access matrix, for every role: the special-category answers
    of both organisations' reviewers appear nowhere, except to the owner of A on A's own
    sensitive-data page."""
    from tests.test_access_matrix import build_world

    world = build_world()
    for profile_id in (world.profile_of_a, world.profile_of_b):
        row = db.session.get(ReviewerSensitiveData, profile_id)
        row.lived_experience, row.lived_experience_detail = "yes", MARKER
        row.dbs_certificate_date = CERTIFICATE
    db.session.commit()
    person_id = world.people[role].id
    pages = []
    for r in all_rules():
        if r.method == "GET":
            with app.test_request_context():
                pages.append((r, url_for(r.endpoint, **(r.args(world) if r.args else {}))))
    checked = 0
    for r, url in pages:
        with app.test_client() as client:
            login_as(client, db.session.get(User, person_id))
            response = client.get(url)
            # Streamed exports read on their own connection after the request: let this
            # session (and SQLite's lock) go first, as a real request's teardown would.
            db.session.remove()
            body = _readable(response.get_data())
        checked += 1
        allowed = (role == "supplier_owner_a" and r.endpoint == "profiles.sensitive"
                   and url.endswith(f"/{world.profile_of_a}/sensitive"))
        if allowed:
            assert MARKER in body
            continue
        assert MARKER not in body, f"{role} saw special-category data at {url}"
        for shown in CERTIFICATE_FORMS:
            assert shown not in body, f"{role} saw a DBS certificate date at {url}"
    assert checked > 20
    events = db.session.scalars(select(AuditEvent)).all()
    assert all(MARKER not in str(e.data) for e in events)


def test_staff_and_partnerships_never_pass_the_sensitive_predicate(app):
    owner = make_supplier()
    profile = make_profile(owner.organisation)
    profile.sensitive = ReviewerSensitiveData(ethnicity="white")
    db.session.commit()
    people = [make_staff("admin"), make_staff("commissioner"), make_staff("evaluator"),
              make_staff("admin", "commissioner", "evaluator"),
              make_partnership_member(approved=True), make_supplier(OrganisationFactory())]
    assert profile.can_view_sensitive(owner) and profile.sensitive.can_view(owner)
    for person in people:
        assert not profile.can_view_sensitive(person)
        assert not profile.sensitive.can_view(person)
        with pytest.raises((service.NotFound, PermissionError)):
            service.sensitive_profile(person, profile.id)


# --- Admin: diversity report ---------------------------------------------------------------


def _respondents(n: int, **answers) -> None:
    org = OrganisationFactory()
    for i in range(n):
        profile = make_profile(org, name=f"R{i}")
        row = ReviewerSensitiveData()
        for name, values in answers.items():
            setattr(row, name, values[i] if i < len(values) else None)
        profile.sensitive = row
    db.session.commit()


def test_diversity_report_suppresses_small_numbers(client, sign_in):
    sexes = ["female"] * 7 + ["male"] * 6 + ["prefer_not_to_say"] * 5
    ethnicities = ["white"] * 12 + ["asian"] * 3 + ["black"] * 3
    _respondents(18, sex=sexes, ethnicity=ethnicities)
    report = service.diversity_report(make_staff("admin"))
    assert report.respondents == 18
    sex = {r.label: r.count for r in next(q for q in report.questions if q.name == "sex").rows}
    # "Not answered" (0) is suppressed, so the next smallest is too.
    assert sex == {"Female": 7, "Male": 6, "Prefer not to say": None, "Not answered": None}
    ethnic = {r.label: r.count
              for r in next(q for q in report.questions if q.name == "ethnicity").rows}
    assert ethnic["White"] == 12 and ethnic["Asian or Asian British"] is None

    sign_in(make_staff("admin"))
    page = text(client.get("/admin/reports/diversity"))
    assert "fewer than 5" in page and ">12<" in page


def test_diversity_report_with_few_respondents_shows_nothing(app):
    _respondents(4, sex=["female"] * 4)
    report = service.diversity_report(make_staff("admin"))
    assert report.respondents is None
    assert all(r.count is None for q in report.questions for r in q.rows)


def test_diversity_report_is_for_admins_only(client, sign_in):
    for person in (make_staff("commissioner"), make_staff("evaluator"), make_supplier(),
                   make_partnership_member()):
        sign_in(person)
        assert client.get("/admin/reports/diversity").status_code == 403
    with pytest.raises(PermissionError):
        service.diversity_report(make_staff("commissioner"))


# --- Admin: expertise tags ---------------------------------------------------------------


def test_admin_adds_renames_retires_and_restores_tags(client, sign_in):
    sign_in(make_staff("admin"))
    assert "Neglect" in text(client.get("/admin/expertise"))
    response = client.post("/admin/expertise/new", data={"name": "  Honour-based   abuse "})
    assert response.status_code == 302
    tag = db.session.scalars(select(ExpertiseTag).where(
        ExpertiseTag.name == "Honour-based abuse")).one()
    for bad, message in [("", "Enter the name"), ("x" * 81, "80 characters or fewer"),
                         ("neglect", "already exists"), ("NEGLECT", "already exists")]:
        response = client.post("/admin/expertise/new", data={"name": bad})
        assert response.status_code == 200 and message in text(response)
    response = client.post(f"/admin/expertise/{tag.id}/edit", data={"name": "Neglect"})
    assert "already exists" in text(response)
    response = client.post(f"/admin/expertise/{tag.id}/edit",
                           data={"name": "Honour-based abuse and forced marriage"})
    assert response.status_code == 302
    assert client.post(f"/admin/expertise/{tag.id}/retire").status_code == 302
    db.session.expire_all()
    tag = db.session.get(ExpertiseTag, tag.id)
    assert tag.is_retired and tag not in service.offered_tags()
    assert client.post(f"/admin/expertise/{tag.id}/restore").status_code == 302
    db.session.expire_all()
    assert not db.session.get(ExpertiseTag, tag.id).is_retired
    assert client.get("/admin/expertise/999999/edit").status_code == 404
    assert client.post("/admin/expertise/999999/retire").status_code == 404
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"expertise_tag.created", "expertise_tag.renamed", "expertise_tag.retired",
            "expertise_tag.restored"} <= actions


def test_only_admins_manage_tags(client, sign_in):
    tag = db.session.scalars(select(ExpertiseTag)).first()
    for person in (make_staff("commissioner"), make_supplier()):
        sign_in(person)
        assert client.post("/admin/expertise/new", data={"name": "New"}).status_code == 403
        assert client.post(f"/admin/expertise/{tag.id}/retire").status_code == 403
    assert db.session.scalar(select(func.count(ExpertiseTag.id).filter(
        ExpertiseTag.retired_at.is_not(None)))) == 0
