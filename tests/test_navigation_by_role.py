"""The header's service navigation, role by role (portal/templating.py builds it).

Each role sees exactly its own links, in order, and every link it is shown opens (200)
for that role: the navigation never offers a page the person cannot use."""

from __future__ import annotations

import html
import re

import pytest

from tests.access_rules import ROLES
from tests.fixtures.users import (
    OrganisationFactory,
    login_as,
    make_partnership_member,
    make_staff,
    make_supplier,
)

SUPPLIER_LINKS = [
    ("Home", "/home"),
    ("Your organisation", "/organisation/details"),
    ("Pool membership", "/pool/memberships"),
    ("Your team", "/team/"),
    ("Opportunities", "/opportunities"),
    ("Enquiries", "/directory/enquiries"),
]

EXPECTED = {
    "anonymous": [("Home", "/"), ("Reviewer pool", "/pool")],
    "supplier_owner_a": SUPPLIER_LINKS,
    "supplier_member_b": SUPPLIER_LINKS,
    "partnership_pending": [("Home", "/home")],
    "partnership_approved": [
        ("Home", "/home"),
        ("Find a reviewer", "/directory"),
        ("Enquiries", "/directory/enquiries"),
    ],
    "commissioner": [
        ("Home", "/home"),
        ("Applications", "/commissioning/applications"),
        ("Pool members", "/commissioning/members"),
        ("Commissions", "/commissioning/commissions"),
        ("Find a reviewer", "/directory"),
    ],
    "evaluator": [("Home", "/home"), ("Evaluations", "/evaluation")],
    "admin": [
        ("Home", "/home"),
        ("Administration", "/admin/"),
        ("Find a reviewer", "/directory"),
    ],
}

_NAV_LIST = re.compile(
    r'<ul class="govuk-service-navigation__list"[^>]*>(.*?)</ul>', re.S
)
_NAV_LINK = re.compile(
    r'<a class="govuk-service-navigation__link" href="([^"]*)"[^>]*>(.*?)</a>', re.S
)
_TAG = re.compile(r"<[^>]+>")


def nav_links(page: str) -> list[tuple[str, str]]:
    """The header navigation's links, in order: (text, href)."""
    lists = _NAV_LIST.findall(page)
    assert len(lists) == 1, "expected one service navigation list in the header"
    return [
        (" ".join(html.unescape(_TAG.sub("", text)).split()), html.unescape(href))
        for href, text in _NAV_LINK.findall(lists[0])
    ]


def make_person(role: str):
    """One person per role, made as tests/test_access_matrix.py build_world makes them."""
    if role == "anonymous":
        return None
    if role == "supplier_owner_a":
        org = OrganisationFactory(legal_name="Organisation A Ltd")
        return make_supplier(org, role="owner", email="owner-a@a.example")
    if role == "supplier_member_b":
        org = OrganisationFactory(legal_name="Organisation B Ltd")
        return make_supplier(org, role="member", email="member-b@b.example")
    if role == "partnership_pending":
        return make_partnership_member(approved=False)
    if role == "partnership_approved":
        return make_partnership_member(approved=True)
    return make_staff(role)


def test_every_role_has_an_expectation():
    assert set(EXPECTED) == set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_navigation_shows_exactly_the_links_for_the_role(app, client, role):
    person = make_person(role)
    if person is not None:
        login_as(client, person)  # staff: second factor passed
    home = "/" if person is None else "/home"

    response = client.get(home)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert nav_links(page) == EXPECTED[role]
    # The page we are on is the one marked current.
    assert re.search(
        rf'<a class="govuk-service-navigation__link" href="{re.escape(home)}" '
        r'aria-current="page">',
        page,
    ), "Home is not marked as the current page"


@pytest.mark.parametrize("role", ROLES)
def test_every_navigation_link_opens_for_the_role(app, client, role):
    person = make_person(role)
    if person is not None:
        login_as(client, person)
    links = nav_links(client.get("/" if person is None else "/home").get_data(as_text=True))
    assert links, "no navigation links"

    answers = {href: client.get(href).status_code for _text, href in links}

    assert answers == {href: 200 for _text, href in links}
