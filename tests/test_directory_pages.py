"""Directory pages: the search page, profile pages, shortlists and their CSV export, the
query budget, and who may see what."""

from __future__ import annotations

import csv
import html
import io
import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from portal.extensions import db
from portal.models import AuditEvent, PoolMembership, ReviewerSensitiveData, Shortlist, utcnow
from tests.directory_support import member_organisation, reviewer, tag
from tests.fixtures.users import make_partnership_member, make_staff, make_supplier


@contextmanager
def count_queries():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def member(app):
    return make_partnership_member(name="Sarah Bennett")


@pytest.fixture
def many(app):
    """60 reviewers in three organisations, with expertise and publications."""
    organisations = [member_organisation(categories=(1, 2)), member_organisation(),
                     member_organisation(categories=(4,))]
    profiles = []
    for i in range(60):
        profiles.append(reviewer(
            f"Reviewer {i:02d}", organisations[i % 3], lcspr=i % 7, years=5 + i % 20,
            expertise=["Neglect", "Online harm"] if i % 2 else ["Domestic abuse"],
            regions=["london", "wales"] if i % 3 else ["north_east"],
            competences=["race"] if i % 4 else ["race", "poverty"],
            publications=[(f"Review of practice {i}", "lcspr")],
            summary="Experienced independent reviewer of practice.",
        ))
    return profiles


# --- the search page ---------------------------------------------------------------------------


def test_search_page_shows_results_facets_and_reasons(client, sign_in, member):
    organisation = member_organisation("Northern Reviews Ltd", categories=(1, 4))
    reviewer("Ada Achebe", organisation, expertise=["Neglect"], regions=["north_east"],
             lcspr=4, dbs=True, summary="Led reviews into neglect.")
    reviewer("Ben Baxter", organisation, expertise=["Criminal exploitation"], lcspr=1)
    sign_in(member)
    response = client.get("/directory?q=neglect&region=north_east&category=4")
    assert response.status_code == 200
    page = response.text
    assert "1 reviewer found" in page
    assert "Ada Achebe" in page and "Ben Baxter" not in page
    assert "Why this reviewer matched" in page
    assert "\u201cneglect\u201d matches their expertise or published reviews" in page
    assert "Works in North East" in page
    assert "Admitted to service category 4" in page
    assert "Experience: 4 reviews authored, 10 years in safeguarding" in page
    # Facet counts next to each choice.
    assert "North East (1)" in page
    assert "Current enhanced DBS check (1)" in page


def test_search_page_explains_bad_filters(client, sign_in, member):
    sign_in(member)
    response = client.get(
        "/directory?min_reviews=lots&available_from-day=31&available_from-month=2"
        "&available_from-year=2027&region=atlantis&per_page=7")
    assert response.status_code == 200
    page = response.text
    assert "There is a problem" in page
    assert "Minimum number of reviews must be a whole number between 0 and 200" in page
    assert "Available from must be a real date" in page
    assert "Select regions from the list" in page
    assert "Results per page must be 10, 20 or 50" in page
    assert page.count("<title>Error: ") == 1


@pytest.mark.parametrize("typed", ["'; DROP TABLE users; --", '"unbalanced', "x" * 20000,
                                   "<script>alert(1)</script>"])
def test_search_page_never_errors_on_text(client, sign_in, member, typed):
    reviewer("Ada Achebe")
    sign_in(member)
    response = client.get("/directory", query_string={"q": typed})
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text


def test_pagination_links_keep_the_filters(client, sign_in, member, many):
    sign_in(member)
    response = client.get("/directory?region=london&per_page=10&page=2")
    page = response.text
    assert "40 reviewers found" in page
    assert "Showing 11 to 20" in page
    assert "region=london" in page and "page=3" in page
    response = client.get("/directory?region=london&per_page=10&page=9")
    assert "40 reviewers found" in response.text


def _budget(client, url_10: str, url_50: str) -> tuple[int, int]:
    client.get(url_10)  # warm up
    with count_queries() as ten:
        assert client.get(url_10).status_code == 200
    with count_queries() as fifty:
        assert client.get(url_50).status_code == 200
    return len(ten), len(fifty)


REVIEW_TYPE_AND_DATE = "&review_type=lcspr&min_reviews=2&available_from=2030-01-01"


@pytest.mark.parametrize("query", ["", "&q=reviewer+practice", "&region=london&competence=race",
                                   REVIEW_TYPE_AND_DATE])
def test_query_budget_page_and_api(client, sign_in, member, many, query):
    sign_in(member)
    ten, fifty = _budget(client, f"/directory?per_page=10{query}",
                         f"/directory?per_page=50{query}")
    assert ten == fifty, (ten, fifty)
    assert ten <= 15
    ten, fifty = _budget(client, f"/api/directory/reviewers?per_page=10{query}",
                         f"/api/directory/reviewers?per_page=50{query}")
    assert ten == fifty, (ten, fifty)


def test_review_type_and_date_facets_add_no_query(client, sign_in, member, many):
    sign_in(member)
    for url in ("/directory?per_page=10", "/api/directory/reviewers?per_page=10"):
        plain, with_facets = _budget(client, url, url + REVIEW_TYPE_AND_DATE)
        assert plain == with_facets, (url, plain, with_facets)
    body = client.get("/api/directory/reviewers?per_page=10" + REVIEW_TYPE_AND_DATE).json
    assert len(body["results"]) == 10
    assert body["facets"]["review_type"]["lcspr"] == body["total"]
    assert body["facets"]["available_from"]["2030-01-01"] == body["total"]


# --- profile pages --------------------------------------------------------------------------------


def test_profile_page_shows_the_directory_fields_and_nothing_sensitive(client, sign_in, member):
    profile = reviewer(
        "Ada Achebe", expertise=["Neglect"], regions=["north_east", "london"], lcspr=4,
        serious_case=2, competences=["race"], dbs=True, day_rate=65000, unavailable=True,
        publications=[("Child Safeguarding Practice Review: Baby Q", "lcspr")],
    )
    profile.sensitive = ReviewerSensitiveData(
        ethnicity="asian", religion="muslim", lived_experience="yes",
        lived_experience_detail="Grew up in care", dbs_type="enhanced",
        dbs_certificate_date=date(2024, 5, 1), dbs_update_service=True,
    )
    db.session.commit()
    sign_in(member)
    page = client.get(f"/directory/reviewers/{profile.id}").text
    for shown in ("Ada Achebe", "Neglect", "North East, London", "£650",
                  "Current enhanced DBS check", "not taking on new work",
                  "Child Safeguarding Practice Review: Baby Q", "https://example.org/review",
                  "An example.", "No commissions awarded through this portal yet",
                  "Send an enquiry"):
        assert shown in page, shown
    for hidden in ("Asian", "Muslim", "Grew up in care", "2024", "update service",
                   "Enhanced DBS check issued"):
        assert hidden not in page, hidden


def test_profile_page_is_404_when_not_listed(client, sign_in, member):
    organisation = member_organisation()
    no_consent = reviewer("Nora", organisation, consent=False)
    withdrawn = reviewer("Wendy", organisation)
    withdrawn.consents[0].withdrawn_at = utcnow()
    suspended = reviewer("Sam", member_organisation(status="suspended"))
    expired = reviewer("Ed", member_organisation(expired=True))
    removed = reviewer("Rita", organisation)
    removed.removed_at = utcnow()
    db.session.commit()
    sign_in(member)
    for profile in (no_consent, withdrawn, suspended, expired, removed):
        assert client.get(f"/directory/reviewers/{profile.id}").status_code == 404
        assert client.get(f"/api/directory/reviewers/{profile.id}").status_code == 404
    assert client.get("/directory/reviewers/999999").status_code == 404


def test_staff_search_needs_the_second_factor(client, sign_in):
    commissioner = make_staff("commissioner")
    sign_in(commissioner, second_factor=False)
    response = client.get("/directory")
    assert response.status_code == 302
    assert "/second-factor" in response.headers["Location"] or "second" in response.headers[
        "Location"]
    # The portal-wide staff gate sends the API to the second factor too.
    assert client.get("/api/directory/reviewers").status_code == 302
    sign_in(commissioner)
    assert client.get("/directory").status_code == 200


def test_suppliers_evaluators_and_pending_members_cannot_search(client, sign_in):
    profile = reviewer("Ada Achebe")
    for person in (make_supplier(), make_partnership_member(approved=False),
                   make_staff("evaluator")):
        sign_in(person)
        assert client.get("/directory").status_code == 403
        assert client.get(f"/directory/reviewers/{profile.id}").status_code == 403
        assert client.get("/api/directory/reviewers").status_code == 403


# --- shortlists --------------------------------------------------------------------------------


def test_shortlist_journey_and_csv(client, sign_in, member):
    ada = reviewer("Ada Achebe", expertise=["Neglect"], lcspr=4, day_rate=65000)
    ben = reviewer("=HYPERLINK(\"http://evil.example\")", expertise=["Neglect"])
    sign_in(member)
    response = client.post(f"/directory/reviewers/{ada.id}/shortlist",
                           data={"new_name": "Child R review"})
    assert response.status_code == 302
    shortlist = db.session.scalar(select(Shortlist))
    assert shortlist.name == "Child R review"
    response = client.post(f"/directory/reviewers/{ben.id}/shortlist",
                           data={"shortlist": str(shortlist.id)})
    assert response.status_code == 302
    # Saving again is harmless.
    client.post(f"/directory/reviewers/{ada.id}/shortlist",
                data={"shortlist": str(shortlist.id)})
    db.session.expire_all()
    assert len(shortlist.entries) == 2

    page = client.get(f"/directory/shortlists/{shortlist.id}").text
    assert "Ada Achebe" in page
    response = client.get(f"/directory/shortlists/{shortlist.id}/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="shortlist-child-r-review.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][0] == "Name" and "LCSPRs" in rows[0]
    by_name = {row[0]: row for row in rows[1:]}
    assert "Ada Achebe" in by_name
    # Formula injection: the cell starts with an apostrophe.
    assert "'=HYPERLINK(\"http://evil.example\")" in by_name
    assert by_name["Ada Achebe"][rows[0].index("Day rate")] == "£650"
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"directory.shortlist_created", "directory.shortlist_reviewer_added"} <= actions


def test_shortlist_export_leaves_out_reviewers_who_left(client, sign_in, member):
    stays = reviewer("Stays Listed")
    withdraws = reviewer("Withdraws Consent")
    lapses = reviewer("Membership Lapses")
    suspended = reviewer("Member Suspended")
    sign_in(member)
    for profile in (stays, withdraws, lapses, suspended):
        client.post(f"/directory/reviewers/{profile.id}/shortlist", data={"new_name": "List"})
    shortlist = db.session.scalar(select(Shortlist))
    assert len(shortlist.entries) == 4
    withdraws.consents[0].withdrawn_at = utcnow()
    for profile, status in ((lapses, "expired"), (suspended, "suspended")):
        for membership in db.session.scalars(select(PoolMembership).where(
                PoolMembership.organisation_id == profile.organisation_id)):
            membership.status = status
    db.session.commit()
    gone = ("Withdraws Consent", "Membership Lapses", "Member Suspended")
    text = client.get(f"/directory/shortlists/{shortlist.id}/export.csv").text
    assert "Stays Listed" in text
    assert not any(name in text for name in gone)
    page = client.get(f"/directory/shortlists/{shortlist.id}").text
    assert "3 reviewers saved here are no longer in the directory" in page
    assert not any(name in page for name in gone)
    # And they cannot be added again.
    response = client.post(f"/directory/reviewers/{withdraws.id}/shortlist",
                           data={"shortlist": str(shortlist.id)})
    assert response.status_code == 404


def test_shortlists_are_private_to_their_owner(client, sign_in, member):
    profile = reviewer("Ada Achebe")
    sign_in(member)
    client.post(f"/directory/reviewers/{profile.id}/shortlist", data={"new_name": "Mine"})
    shortlist = db.session.scalar(select(Shortlist))
    colleague = make_partnership_member(partnership=member.partnership)
    sign_in(colleague)
    assert client.get(f"/directory/shortlists/{shortlist.id}").status_code == 404
    assert client.get(f"/directory/shortlists/{shortlist.id}/export.csv").status_code == 404
    assert client.post(f"/directory/shortlists/{shortlist.id}/delete").status_code == 404
    assert client.post(f"/directory/reviewers/{profile.id}/shortlist",
                       data={"shortlist": str(shortlist.id)}).status_code == 404


def test_shortlist_names_are_checked(client, sign_in, member):
    profile = reviewer("Ada Achebe")
    sign_in(member)
    assert client.post("/directory/shortlists", data={"name": "  "}).status_code == 400
    assert client.post("/directory/shortlists", data={"name": "x" * 101}).status_code == 400
    assert client.post("/directory/shortlists", data={"name": "Leeds"}).status_code == 302
    response = client.post("/directory/shortlists", data={"name": "leeds"})
    assert response.status_code == 400
    assert "You already have a shortlist with that name" in response.text
    response = client.post(f"/directory/reviewers/{profile.id}/shortlist", data={})
    assert response.status_code == 400
    assert "Choose a shortlist, or enter a name for a new one" in response.text
    assert db.session.scalar(select(db.func.count(Shortlist.id))) == 1


def test_remove_and_delete(client, sign_in, member):
    profile = reviewer("Ada Achebe")
    sign_in(member)
    client.post(f"/directory/reviewers/{profile.id}/shortlist", data={"new_name": "List"})
    shortlist = db.session.scalar(select(Shortlist))
    response = client.post(
        f"/directory/shortlists/{shortlist.id}/reviewers/{profile.id}/remove")
    assert response.status_code == 302
    db.session.expire_all()
    assert shortlist.entries == []
    assert client.post(f"/directory/shortlists/{shortlist.id}/delete").status_code == 302
    assert db.session.scalar(select(db.func.count(Shortlist.id))) == 0


def test_available_from_filter_from_the_page(client, sign_in, member):
    today = utcnow().date()
    reviewer("Soon Available", available_from=today + timedelta(days=10))
    reviewer("Later Available", available_from=today + timedelta(days=100))
    sign_in(member)
    when = today + timedelta(days=30)
    page = client.get(f"/directory?available_from-day={when.day}&available_from-month="
                      f"{when.month}&available_from-year={when.year}").text
    assert "Soon Available" in page and "Later Available" not in page
    # How many the date leaves, out of those the other filters leave, beside the field.
    by_then = f"{when.day} {when.strftime('%B %Y')}"
    assert (f"For example, 1 9 2027. 1 of the 2 reviewers matching your other filters is "
            f"available by {by_then}") in page
    assert "matching your other filters" not in client.get("/directory").text
    # The API has the same counts.
    facets = client.get(f"/api/directory/reviewers?available_from={when.isoformat()}"
                        ).json["facets"]
    assert facets["available_from"] == {when.isoformat(): 1, "any": 2}
    page = client.get(f"/directory?available_from-day={when.day}&available_from-month="
                      f"{when.month}&available_from-year={when.year}&region=wales").text
    assert "For example, 1 9 2027. No reviewers match your other filters" in page


def test_review_type_options_show_how_many_each_leaves(client, sign_in, member):
    reviewer("Ada Achebe", lcspr=4, serious_case=1)
    reviewer("Ben Baxter", lcspr=1)
    reviewer("Cy Cole", serious_case=2, regions=["wales"])
    sign_in(member)
    page = client.get("/directory").text
    assert "how many reviewers have authored at least 1 review of that type" in page
    assert ">Any type (3)</option>" in page
    assert "Local child safeguarding practice review (LCSPR) (2)</option>" in page
    assert "Serious case review (2)</option>" in page
    assert "Rapid review (0)</option>" in page
    # At the chosen minimum; the other filters still narrow the counts.
    page = client.get("/directory?review_type=serious_case&min_reviews=2").text
    assert "1 reviewer found" in page and "Cy Cole" in page
    assert "how many reviewers have authored at least 2 reviews of that type" in page
    assert "Local child safeguarding practice review (LCSPR) (1)</option>" in page
    assert "Serious case review (1)</option>" in page
    assert ">Any type (3)</option>" in page
    page = client.get("/directory?review_type=lcspr&min_reviews=1&region=london").text
    assert "Local child safeguarding practice review (LCSPR) (2)</option>" in page
    assert "Serious case review (1)</option>" in page
    assert ">Any type (2)</option>" in page
    body = client.get("/api/directory/reviewers?review_type=serious_case&min_reviews=2").json
    assert body["facets"]["review_type"] == {"lcspr": 1, "serious_case": 1, "any": 3}
    # No counts when the filters cannot be read.
    page = client.get("/directory?min_reviews=lots").text
    assert "Any type (" not in page and "authored at least" not in page


def test_expertise_all_from_the_page(client, sign_in, member):
    reviewer("Both Tags", expertise=["Neglect", "Online harm"])
    reviewer("One Tag", expertise=["Neglect"])
    sign_in(member)
    ids = f"expertise={tag('Neglect').id}&expertise={tag('Online harm').id}"
    assert "2 reviewers found" in client.get(f"/directory?{ids}").text
    page = client.get(f"/directory?{ids}&expertise_mode=all").text
    assert "1 reviewer found" in page and "Both Tags" in page


def test_track_record_lists_confirmed_awards_only(client, sign_in, member):
    from portal.models import Award, DirectoryConsent, ReviewerProfile
    from tests.award_support import evaluated_commission
    from tests.directory_support import listed_in

    evaluated = evaluated_commission(scores=((4, 3), (2, 2)), days=(10, 10),
                                     names=("Alpha Research Ltd", "Beta Reviews Ltd"))
    winner_bid, loser_bid = evaluated.bids
    winner_profile = db.session.get(ReviewerProfile, winner_bid.team[0].profile_id)
    loser_profile = db.session.get(ReviewerProfile, loser_bid.team[0].profile_id)
    for profile in (winner_profile, loser_profile):
        listed_in(profile.organisation, categories=(2,))
        profile.consents.append(DirectoryConsent(text_version="test"))
    now = utcnow()
    db.session.add(Award(
        commission_id=evaluated.commission.id, bid_id=winner_bid.id,
        organisation_id=winner_bid.organisation_id, status="confirmed",
        proposed_by_id=evaluated.commissioner.id, approved_at=now,
        standstill_ends_at=now, confirmed_at=now, reason="Highest score",
    ))
    db.session.commit()
    sign_in(member)
    body = client.get(f"/api/directory/reviewers/{winner_profile.id}").json
    assert body["track_record"] == [{"title": evaluated.commission.title,
                                     "awarded_on": now.date().isoformat(),
                                     "completed_on": None}]
    page = client.get(f"/directory/reviewers/{winner_profile.id}").text
    assert evaluated.commission.title in page and "In progress" in page
    assert client.get(f"/api/directory/reviewers/{loser_profile.id}").json["track_record"] == []

    # Once the commission is completed, its date is shown beside the award's.
    award = db.session.scalar(select(Award))
    awarded, completed = now - timedelta(days=90), now - timedelta(days=10)
    award.confirmed_at = awarded
    evaluated.commission.completed_at = completed
    db.session.commit()
    body = client.get(f"/api/directory/reviewers/{winner_profile.id}").json
    assert body["track_record"] == [{"title": evaluated.commission.title,
                                     "awarded_on": awarded.date().isoformat(),
                                     "completed_on": completed.date().isoformat()}]
    page = client.get(f"/directory/reviewers/{winner_profile.id}").text
    rows = _table_rows(page)
    header = rows.index(["Commission", "Awarded", "Completed"])
    # The page writes the API's dates the GOV.UK way ("2 March 2026").
    assert rows[header + 1] == [evaluated.commission.title, f"{awarded.date():%-d %B %Y}",
                                f"{completed.date():%-d %B %Y}"]
    assert awarded.date().isoformat() not in page
    assert "In progress" not in page


def _table_rows(page: str) -> list[list[str]]:
    """The cells of the page's table rows, as text."""
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
         for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)
    ]
