"""The public pool list and CSV, and the admin pages for service categories."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.base import utcnow
from portal.models.profiles import ReviewerProfile
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier
from tests.pool_support import category, make_membership


@pytest.fixture
def pool(app):
    alpha = OrganisationFactory(legal_name="Alpha Reviews Ltd", trading_name="Alpha")
    beta = OrganisationFactory(legal_name="Beta University")
    gone = OrganisationFactory(legal_name="Gone Consulting")
    make_membership(alpha, 1)
    make_membership(alpha, 4)
    make_membership(beta, 2)
    make_membership(gone, 3, status="suspended")
    db.session.add(ReviewerProfile(organisation_id=alpha.id, name="Dr Ada Reviewer",
                                   professional_background="social_work"))
    db.session.commit()
    return alpha, beta, gone


def test_public_list_needs_no_sign_in_and_shows_active_members(client, pool):
    page = client.get("/pool")
    assert page.status_code == 200
    assert b"Alpha" in page.data and b"Beta University" in page.data
    assert b"Gone Consulting" not in page.data
    assert b"Dr Ada Reviewer" in page.data
    assert category(4).name.encode() in page.data
    assert b"2 members" in page.data


def test_public_list_search_and_filter(client, pool):
    assert b"Beta University" not in client.get("/pool?q=alp").data
    assert b"Alpha" in client.get("/pool?q=alp").data
    filtered = client.get(f"/pool?category={category(2).id}")
    assert b"Beta University" in filtered.data and b"Alpha Reviews" not in filtered.data
    assert b"No members match" in client.get("/pool?q=%25_").data
    assert client.get("/pool?page=999&category=abc").status_code == 200


def reviewer(organisation, name, **columns) -> ReviewerProfile:
    profile = ReviewerProfile(organisation_id=organisation.id, name=name,
                              professional_background="health", **columns)
    db.session.add(profile)
    db.session.commit()
    return profile


def members_listed(page) -> list[str]:
    """The organisation headings on /pool, in order (one per member listed)."""
    import re

    return re.findall(r'<h2 class="govuk-heading-m govuk-!-margin-bottom-1">(.*?)</h2>',
                      page.text)


def csv_rows(response) -> list[tuple[str, str]]:
    assert response.status_code == 200
    rows = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    return [(r["organisation"], r["category_number"]) for r in rows]


def test_public_search_matches_reviewer_names(client, pool):
    alpha, beta, gone = pool
    reviewer(alpha, "Ada Lovelace")  # a second match in one organisation: still one row
    reviewer(beta, "Zed Former", removed_at=utcnow())
    reviewer(gone, "Ada Suspended")  # the organisation is not in force in any category
    for query in ("ada", "ADA REV", "lovelace"):
        page = client.get(f"/pool?q={query}")
        assert members_listed(page) == ["Alpha"], query
        assert "1 member." in page.text
        assert csv_rows(client.get(f"/pool.csv?q={query}")) == [
            ("Alpha Reviews Ltd", "1"), ("Alpha Reviews Ltd", "4"),
        ]
    # A removed reviewer's name finds nothing, nor does a suspended member's reviewer.
    for query in ("zed", "suspended"):
        assert members_listed(client.get(f"/pool?q={query}")) == [], query
        assert csv_rows(client.get(f"/pool.csv?q={query}")) == [], query
    # Organisation names still match, and the category filter still applies.
    assert members_listed(client.get("/pool?q=university")) == ["Beta University"]
    assert members_listed(client.get(f"/pool?q=ada&category={category(2).id}")) == []
    assert csv_rows(client.get(f"/pool.csv?q=ada&category={category(4).id}")) == [
        ("Alpha Reviews Ltd", "4"),
    ]
    # The wildcards of LIKE typed in a search match only themselves, in names too.
    reviewer(beta, "Bo_b 100%")
    assert members_listed(client.get("/pool?q=o_b 100%25")) == ["Beta University"]
    assert members_listed(client.get("/pool?q=o_b 10_%25")) == []


def test_public_list_and_csv_never_show_private_details(client, pool):
    alpha, _beta, _gone = pool
    alpha.kind = "charity"
    alpha.companies_house_number = "SC987654"
    alpha.charity_number = "1187654"
    alpha.address_line_1 = "17 Quibble Lane"
    alpha.address_line_2 = "Unit Nine"
    alpha.town = "Zedbury"
    alpha.postcode = "ZE1 9QX"
    db.session.commit()
    make_supplier(alpha, role="owner", email="owner@alpha-private.example")
    ada = db.session.scalars(select(ReviewerProfile).filter_by(name="Dr Ada Reviewer")).one()
    ada.day_rate_pence = 73_900
    ada.summary = "Summary-marker-not-public"
    db.session.commit()
    private = ("SC987654", "1187654", "17 Quibble Lane", "Unit Nine", "Zedbury",
               "ZE1 9QX", "ze1 9qx", "owner@alpha-private.example", "alpha-private",
               "£739", "739.00", "73900", "73,900", "Summary-marker-not-public")
    for response in (client.get("/pool"), client.get("/pool?q=ada"),
                     client.get("/pool.csv"), client.get("/pool.csv?q=ada")):
        body = response.get_data(as_text=True)
        assert "Dr Ada Reviewer" in body and "Alpha" in body  # the right rows are there
        for value in private:
            assert value not in body, (response.request.path, value)
    # Searching for a private value finds nobody: only names are searched.
    for value in ("Quibble", "ZE1", "SC987654", "1187654", "alpha-private", "739"):
        assert members_listed(client.get(f"/pool?q={value}")) == [], value
        assert csv_rows(client.get(f"/pool.csv?q={value}")) == [], value


def test_public_list_paginates(client, app):
    for n in range(25):
        make_membership(OrganisationFactory(legal_name=f"Org {n:02d}"), 1)
    first = client.get("/pool")
    assert b"Org 19" in first.data and b"Org 20" not in first.data
    assert b"Org 20" in client.get("/pool?page=2").data


def test_public_csv(client, pool):
    response = client.get("/pool.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["organisation"], r["category_number"]) for r in rows] == [
        ("Alpha Reviews Ltd", "1"), ("Alpha Reviews Ltd", "4"), ("Beta University", "2"),
    ]
    assert rows[0]["reviewers"] == "Dr Ada Reviewer"
    assert set(rows[0]) == {"organisation", "trading_name", "category_number", "category",
                            "member_since", "membership_expires", "reviewers"}


def test_a_membership_past_its_expiry_leaves_the_list_before_the_nightly_job(client, pool):
    _alpha, beta, _gone = pool
    make_membership(beta, 5, expires_in_days=-3)  # still "active": `pool expire` not yet run
    lapsed = OrganisationFactory(legal_name="Lapsed Research Ltd")
    make_membership(lapsed, 1, expires_in_days=-1)
    page = client.get("/pool").text
    assert "Lapsed Research Ltd" not in page and "2 members" in page
    rows = list(csv.DictReader(io.StringIO(client.get("/pool.csv").get_data(as_text=True))))
    assert [(r["organisation"], r["category_number"]) for r in rows] == [
        ("Alpha Reviews Ltd", "1"), ("Alpha Reviews Ltd", "4"), ("Beta University", "2"),
    ]


def test_public_csv_neutralises_formulas(client, app):
    make_membership(OrganisationFactory(legal_name="=HYPERLINK(\"x\")"), 1)
    body = client.get("/pool.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body


def test_admin_edits_a_category(client, sign_in):
    admin = sign_in(make_staff("admin"))
    c = category(2)
    assert client.get("/admin/categories").status_code == 200
    response = client.post(f"/admin/categories/{c.id}", data={
        "name": "Literature and evidence reviews",
        "description": c.description,
        "membership_criteria": c.membership_criteria,
        "is_open": "no",
        "membership_months": "36",
    })
    assert response.status_code == 302
    db.session.refresh(c)
    assert (c.name, c.is_open, c.membership_months) == ("Literature and evidence reviews",
                                                        False, 36)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "service_category.updated")
    ).one()
    assert event.actor_id == admin.id
    assert set(event.data) == {"name", "is_open", "membership_months"}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"name": ""}, b"Enter a name"),
        ({"name": "x" * 201}, b"200 characters or fewer"),
        ({"is_open": "perhaps"}, b"Select whether the category is open"),
        ({"membership_months": "0"}, b"between 1 and 120 months"),
        ({"membership_months": "121"}, b"between 1 and 120 months"),
        ({"membership_months": "two"}, b"whole number of months"),
        ({"membership_months": ""}, b"Enter the membership period"),
    ],
)
def test_admin_category_bad_input(client, sign_in, change, message):
    sign_in(make_staff("admin"))
    c = category(1)
    data = {"name": c.name, "description": c.description,
            "membership_criteria": c.membership_criteria, "is_open": "yes",
            "membership_months": "24", **change}
    response = client.post(f"/admin/categories/{c.id}", data=data)
    assert response.status_code == 400
    assert message in response.data
    db.session.refresh(c)
    assert c.membership_months == 24 and c.is_open
    assert client.get("/admin/categories/999").status_code == 404
