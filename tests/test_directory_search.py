"""Directory search correctness. Runs on SQLite FTS5 by default and on PostgreSQL
full-text search when TEST_DATABASE_URL is set: the expectations are the same."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from portal.extensions import db
from portal.models import (
    DirectorySearchDocument,
    ExpertiseTag,
    PoolMembership,
    ReviewerProfile,
    ReviewerPublication,
    ReviewerSensitiveData,
    utcnow,
)
from portal.search import SearchParams, search
from portal.search.tokens import MAX_QUERY_WORDS, index_text, parse_query
from tests.directory_support import member_organisation, reviewer, tag


def names(result) -> list[str]:
    return [h.profile.name for h in result.hits]


def tag_id(name: str) -> int:
    return tag(name).id


@pytest.fixture
def world(app):
    """Eight listed reviewers with known attributes, and seven that must never appear."""
    today = utcnow().date()
    leeds = member_organisation("Leeds Reviews Ltd", categories=(1, 4))
    bristol = member_organisation("Bristol Research CIC", categories=(2,))
    people = {
        "ada": reviewer(
            "Ada Achebe", leeds, background="social_work", years=20, lcspr=6, rapid=2,
            expertise=["Neglect", "Domestic abuse"], regions=["yorkshire_humber", "north_east"],
            competences=["race", "poverty"], dbs=True,
            summary="Independent chair who led practice reviews into neglect.",
            publications=[("Child Safeguarding Practice Review: Baby Q", "lcspr")],
        ),
        "ben": reviewer(
            "Ben Baxter", leeds, background="police", years=25, serious_case=4, lcspr=2,
            expertise=["Criminal exploitation"], regions=["yorkshire_humber"],
            competences=["race"], dbs=True,
            summary="Retired detective; county lines and exploitation of adolescents.",
        ),
        "cat": reviewer(
            "Catherine Neglectford", bristol, background="academic_research", years=8,
            literature=5, expertise=["Online harm"], regions=["south_west"],
            competences=["gender", "sexuality", "race"],
            summary="Researcher in online harm.",
        ),
        "dev": reviewer(
            "Dev Zieliński", bristol, background="health", years=12, lcspr=1, rapid=5,
            expertise=["Neglect", "Mental health"], regions=["south_west", "london"],
            competences=["disability"], available_from=today + timedelta(days=60),
            summary="Former designated nurse.",
        ),
        "eve": reviewer(
            "Eve O'Connor", leeds, background="social_work", years=30, lcspr=9,
            expertise=["Domestic abuse"], regions=["london"], unavailable=True,
            summary="Writes about the \"toxic trio\" & 100% multi-agency working.",
        ),
        "fay": reviewer(
            "Fay Green", leeds, background="education", years=5, lcspr=0,
            expertise=["Neglect", "Domestic abuse", "Criminal exploitation"],
            regions=["north_west"], dbs=True, summary="Designated safeguarding lead.",
        ),
        "gus": reviewer(
            "Gus Hall", bristol, background="law", years=15, serious_case=3,
            expertise=["Sudden unexpected death in infancy"], regions=["wales"],
            summary="Family law barrister.",
            publications=[("Thematic review of sudden infant deaths", "thematic")],
        ),
        "hal": reviewer(
            "Hal Iqbal", leeds, background="social_work", years=10, lcspr=3,
            expertise=["Neglect"], regions=["yorkshire_humber"],
            available_from=today - timedelta(days=5), summary="Systems methodology.",
        ),
    }
    # Never listed.
    reviewer("Nora Noconsent", leeds, consent=False, expertise=["Neglect"], lcspr=50)
    withdrawn = reviewer("Wendy Withdrawn", leeds, expertise=["Neglect"], lcspr=50)
    withdrawn.consents[0].withdrawn_at = utcnow()
    removed = reviewer("Rita Removed", leeds, expertise=["Neglect"], lcspr=50)
    removed.removed_at = utcnow()
    reviewer("Sam Suspended", member_organisation(status="suspended"),
             expertise=["Neglect"], lcspr=50)
    reviewer("Ed Expired", member_organisation(expired=True), expertise=["Neglect"], lcspr=50)
    # Status still "active" but past its expiry date (the expiry job has not run yet).
    stale = member_organisation()
    for membership in db.session.scalars(
        select(PoolMembership).where(PoolMembership.organisation_id == stale.id)
    ):
        membership.expires_at = utcnow() - timedelta(minutes=1)
    reviewer("Stan Stale", stale, expertise=["Neglect"], lcspr=50)
    reviewer("Remy Removedmember", member_organisation(status="removed"),
             expertise=["Neglect"], lcspr=50)
    db.session.commit()
    return people


ALL_LISTED = {"Ada Achebe", "Ben Baxter", "Catherine Neglectford", "Dev Zieliński",
              "Eve O'Connor", "Fay Green", "Gus Hall", "Hal Iqbal"}


def test_only_consented_reviewers_of_active_members_appear(world):
    result = search(SearchParams(per_page=50))
    assert set(names(result)) == ALL_LISTED
    assert result.total == 8
    for word in ("neglect", "noconsent", "withdrawn", "removed", "suspended", "expired",
                 "stale", "removedmember"):
        assert not set(names(search(SearchParams(text=word)))) - ALL_LISTED


NEVER_LISTED = ("Nora Noconsent", "Wendy Withdrawn", "Rita Removed", "Sam Suspended",
                "Ed Expired", "Stan Stale", "Remy Removedmember")


def test_the_page_the_api_and_profiles_hide_the_same_reviewers(world, client, sign_in):
    """What search() leaves out never reaches a person either: not the results page,
    the JSON API, a profile page nor its API twin."""
    from tests.fixtures.users import make_partnership_member

    hidden_ids = {r.id: r.name for r in db.session.scalars(
        select(ReviewerProfile).where(ReviewerProfile.name.in_(NEVER_LISTED)))}
    assert sorted(hidden_ids.values()) == sorted(NEVER_LISTED)
    sign_in(make_partnership_member())
    page = client.get("/directory?per_page=50")
    assert page.status_code == 200
    for name in ALL_LISTED:
        assert name.replace("'", "&#39;") in page.text, name
    api = client.get("/api/directory/reviewers?per_page=50").json
    assert {r["name"] for r in api["results"]} == ALL_LISTED
    for word in ("", "neglect"):
        body = client.get(f"/directory?per_page=50&q={word}").text
        for name in NEVER_LISTED:
            assert name not in body, (word, name)
    listed = world["ada"]
    assert client.get(f"/directory/reviewers/{listed.id}").status_code == 200
    assert client.get(f"/api/directory/reviewers/{listed.id}").status_code == 200
    for reviewer_id, name in hidden_ids.items():
        assert client.get(f"/directory/reviewers/{reviewer_id}").status_code == 404, name
        assert client.get(f"/api/directory/reviewers/{reviewer_id}").status_code == 404, name


def test_no_text_ranks_by_experience(world):
    result = search(SearchParams(per_page=50))
    # Total reviews authored, then years of experience, then id.
    assert names(result) == [
        "Eve O'Connor",  # 9
        "Ada Achebe",  # 8
        "Ben Baxter",  # 6 (25 years)
        "Dev Zieliński",  # 6 (12 years)
        "Catherine Neglectford",  # 5
        "Gus Hall",  # 3 (15 years)
        "Hal Iqbal",  # 3 (10 years)
        "Fay Green",  # 0
    ]


def test_text_ranking_name_then_expertise_then_text(world):
    result = search(SearchParams(text="neglect"))
    # Name match (3) first; then expertise (2) by experience; summary-only matches (1)
    # would follow. Eve has no neglect anywhere.
    assert names(result) == [
        "Catherine Neglectford", "Ada Achebe", "Dev Zieliński", "Hal Iqbal", "Fay Green",
    ]
    assert [h.relevance for h in result.hits] == [3, 2, 2, 2, 2]
    assert result.hits[0].matched == [("neglect", 3)]
    assert result.hits[1].matched == [("neglect", 2)]


def test_text_matches_every_field(world):
    assert names(search(SearchParams(text="Baby Q"))) == ["Ada Achebe"]  # publication title
    assert names(search(SearchParams(text="barrister"))) == ["Gus Hall"]  # summary
    assert names(search(SearchParams(text="police"))) == ["Ben Baxter"]  # background
    assert names(search(SearchParams(text="Bristol Research gus"))) == ["Gus Hall"]  # org
    assert names(search(SearchParams(text="sudden infant"))) == ["Gus Hall"]
    # Every word must match somewhere.
    assert names(search(SearchParams(text="neglect police"))) == []
    # Prefixes and case.
    assert names(search(SearchParams(text="EXPLOIT"))) == ["Ben Baxter", "Fay Green"]


def test_accents_and_apostrophes(world):
    assert names(search(SearchParams(text="zielinski"))) == ["Dev Zieliński"]
    assert names(search(SearchParams(text="Zieliński"))) == ["Dev Zieliński"]
    assert names(search(SearchParams(text="O'Connor"))) == ["Eve O'Connor"]
    assert names(search(SearchParams(text="oconnor"))) == []


AWKWARD_INPUT = [
    '"toxic trio"', "'; DROP TABLE reviewer_profiles; --", "neglect OR 1=1", "100%",
    "a AND b NOT c", 'NEAR(neglect, abuse)', "neglect*", "name_text:ada", "ada:*A | ben",
    "(((", '"', "\\", "\x00neglect", "-neglect", "^ada", "{name_text}: ada", "& | ! <->",
    "🙂 neglect", "ﬁ ligature", "x" * 5000, "neglect " * 500, "   ", "",
]


def test_any_input_gives_a_clear_result(world):
    for typed in AWKWARD_INPUT:
        result = search(SearchParams(text=typed))
        assert result.total >= len(result.hits), typed
        assert len(result.query.words) <= MAX_QUERY_WORDS
    # The database is untouched.
    assert db.session.scalar(select(db.func.count(ReviewerProfile.id))) == 15


def test_quotes_and_punctuation_are_words(world):
    assert names(search(SearchParams(text='"toxic trio"'))) == ["Eve O'Connor"]
    assert names(search(SearchParams(text="multi-agency 100%"))) == ["Eve O'Connor"]
    assert names(search(SearchParams(text="neglect OR 1=1"))) == []


def test_very_long_input_is_cut_to_its_first_words(world):
    parsed = parse_query(" ".join(f"word{i}" for i in range(50)))
    assert len(parsed.words) == MAX_QUERY_WORDS
    assert parsed.ignored == 50 - MAX_QUERY_WORDS
    result = search(SearchParams(text="neglect " + "z" * 10_000))
    assert result.total == 0
    assert result.query.ignored >= 1  # cut short


def test_category_filter(world):
    assert set(names(search(SearchParams(categories=[2])))) == {
        "Catherine Neglectford", "Dev Zieliński", "Gus Hall"}
    assert len(search(SearchParams(categories=[1, 2])).hits) == 8
    assert names(search(SearchParams(categories=[3]))) == []


def test_expertise_any_and_all(world):
    neglect, domestic = tag_id("Neglect"), tag_id("Domestic abuse")
    any_ = search(SearchParams(expertise=[neglect, domestic], per_page=50))
    assert set(names(any_)) == {"Ada Achebe", "Dev Zieliński", "Eve O'Connor", "Fay Green",
                                "Hal Iqbal"}
    all_ = search(SearchParams(expertise=[neglect, domestic], expertise_mode="all"))
    assert set(names(all_)) == {"Ada Achebe", "Fay Green"}


def test_region_filter(world):
    assert set(names(search(SearchParams(regions=["london"])))) == {
        "Dev Zieliński", "Eve O'Connor"}
    assert set(names(search(SearchParams(regions=["wales", "north_west"])))) == {
        "Gus Hall", "Fay Green"}


def test_minimum_reviews_of_a_type_and_ranking_by_that_type(world):
    result = search(SearchParams(review_type="lcspr", min_reviews=3))
    assert names(result) == ["Eve O'Connor", "Ada Achebe", "Hal Iqbal"]
    assert names(search(SearchParams(review_type="serious_case", min_reviews=3))) == [
        "Ben Baxter", "Gus Hall"]
    # A type without a minimum ranks by that type.
    assert names(search(SearchParams(review_type="rapid")))[:2] == ["Dev Zieliński",
                                                                    "Ada Achebe"]


def test_competences_all_of(world):
    assert set(names(search(SearchParams(competences=["race"])))) == {
        "Ada Achebe", "Ben Baxter", "Catherine Neglectford"}
    assert names(search(SearchParams(competences=["race", "poverty"]))) == ["Ada Achebe"]


def test_background_filter(world):
    assert set(names(search(SearchParams(backgrounds=["social_work"])))) == {
        "Ada Achebe", "Eve O'Connor", "Hal Iqbal"}
    assert set(names(search(SearchParams(backgrounds=["law", "police"])))) == {
        "Gus Hall", "Ben Baxter"}


def test_available_from(world):
    today = utcnow().date()
    soon = search(SearchParams(available_from=today + timedelta(days=7), per_page=50))
    # Dev is available in 60 days; Eve is not taking on work.
    assert set(names(soon)) == ALL_LISTED - {"Dev Zieliński", "Eve O'Connor"}
    later = search(SearchParams(available_from=today + timedelta(days=90), per_page=50))
    assert set(names(later)) == ALL_LISTED - {"Eve O'Connor"}


def test_dbs_current(world):
    assert set(names(search(SearchParams(dbs_current=True)))) == {
        "Ada Achebe", "Ben Baxter", "Fay Green"}


def test_combinations(world):
    result = search(SearchParams(
        text="neglect", regions=["yorkshire_humber"], categories=[1], dbs_current=True))
    assert names(result) == ["Ada Achebe"]
    result = search(SearchParams(
        expertise=[tag_id("Neglect")], backgrounds=["social_work"], review_type="lcspr",
        min_reviews=1))
    assert names(result) == ["Ada Achebe", "Hal Iqbal"]
    result = search(SearchParams(text="designated", competences=["disability"]))
    assert names(result) == ["Dev Zieliński"]


def test_facet_counts(world):
    neglect = tag_id("Neglect")
    result = search(SearchParams(regions=["london"]))
    facets = result.facets
    # "Any of" facets count without their own filter: every region still shows.
    assert facets["region"]["yorkshire_humber"] == 3
    assert facets["region"]["london"] == 2
    # Other facets count within the current results (london: Dev and Eve).
    assert facets["expertise"][str(neglect)] == 1
    assert facets["background"] == {"health": 1, "social_work": 1}
    assert facets["category"] == {"1": 1, "2": 1, "4": 1}
    assert facets["competence"] == {"disability": 1}
    assert "current" not in facets["dbs"]
    # Competences narrow: their counts keep the filter.
    result = search(SearchParams(competences=["race"]))
    assert result.facets["competence"]["poverty"] == 1
    assert result.facets["competence"]["race"] == 3
    # Free text limits every facet.
    result = search(SearchParams(text="exploitation"))
    assert result.facets["dbs"] == {"current": 2}


def test_review_type_facet_counts_each_type_at_the_chosen_minimum(world):
    # No minimum: reviewers with at least one review of each type; "any" is everyone.
    facets = search(SearchParams()).facets
    assert facets["review_type"] == {"lcspr": 5, "serious_case": 2, "rapid": 2,
                                     "literature": 1, "any": 8}
    # A minimum counts every type at that minimum, without the type's own filter, so the
    # other choices still show what they would leave.
    result = search(SearchParams(review_type="lcspr", min_reviews=3))
    assert result.total == 3
    assert result.facets["review_type"] == {"lcspr": 3, "serious_case": 2, "rapid": 1,
                                            "literature": 1, "any": 8}
    # Each count is what choosing that type leaves.
    for review_type, count in result.facets["review_type"].items():
        if review_type != "any":
            assert search(SearchParams(review_type=review_type, min_reviews=3)).total == count
    # The other filters and the free text limit it.
    result = search(SearchParams(review_type="lcspr", min_reviews=3,
                                 regions=["yorkshire_humber"]))
    assert result.facets["review_type"] == {"lcspr": 2, "serious_case": 1, "any": 3}
    assert search(SearchParams(text="neglect")).facets["review_type"] == {
        "lcspr": 3, "rapid": 2, "literature": 1, "any": 5}
    # A minimum of 0 filters nothing, so it counts like no minimum.
    assert search(SearchParams(review_type="lcspr", min_reviews=0)).facets[
        "review_type"]["lcspr"] == 5
    # And it narrows the other facets as a filter does.
    result = search(SearchParams(review_type="serious_case", min_reviews=1))
    assert result.facets["background"] == {"police": 1, "law": 1}


def test_available_from_facet_counts_who_is_available_by_the_date(world):
    today = utcnow().date()
    assert search(SearchParams()).facets["available_from"] == {}
    soon = today + timedelta(days=7)
    result = search(SearchParams(available_from=soon))
    # Dev is available in 60 days and Eve is not taking on work: 6 of the 8.
    assert result.facets["available_from"] == {soon.isoformat(): 6, "any": 8}
    assert result.facets["available_from"][soon.isoformat()] == result.total
    later = today + timedelta(days=90)
    assert search(SearchParams(available_from=later)).facets["available_from"] == {
        later.isoformat(): 7, "any": 8}
    # Within the other filters (London: Dev and Eve, neither available within a week).
    assert search(SearchParams(available_from=soon, regions=["london"])).facets[
        "available_from"] == {"any": 2}
    result = search(SearchParams(available_from=soon, review_type="lcspr", min_reviews=3))
    assert result.facets["available_from"] == {soon.isoformat(): 2, "any": 3}
    # The date limits the review type counts (Eve is not available).
    assert result.facets["review_type"]["lcspr"] == 2
    assert result.facets["review_type"]["any"] == 6


def test_pagination_boundaries(app):
    organisation = member_organisation()
    for i in range(25):
        reviewer(f"Person {i:02d}", organisation, lcspr=25 - i)
    pages = [search(SearchParams(per_page=10, page=n)) for n in (1, 2, 3, 4)]
    assert [len(p.hits) for p in pages] == [10, 10, 5, 0]
    assert all(p.total == 25 for p in pages)
    assert [p.pages for p in pages] == [3, 3, 3, 3]
    assert (pages[2].first, pages[2].last) == (21, 25)
    seen = [n for p in pages for n in names(p)]
    assert seen == [f"Person {i:02d}" for i in range(25)]
    exact = search(SearchParams(per_page=50))
    assert exact.total == 25 and exact.pages == 1


def test_index_follows_every_write(world):
    ada = world["ada"]
    ada.name = "Ada Okonkwo"
    db.session.commit()
    assert names(search(SearchParams(text="okonkwo"))) == ["Ada Okonkwo"]
    assert names(search(SearchParams(text="achebe"))) == []

    # A renamed expertise tag.
    tag_row = db.session.scalar(select(ExpertiseTag).where(ExpertiseTag.name == "Online harm"))
    tag_row.name = "Online and technology-assisted harm"
    db.session.commit()
    assert names(search(SearchParams(text="technology assisted"))) == [
        "Catherine Neglectford"]

    # A new publication, then its removal.
    gus = world["gus"]
    publication = ReviewerPublication(reviewer_id=gus.id, title="Learning from Child Zephyr",
                                      url="https://example.org/z", year=2024,
                                      review_type="lcspr")
    db.session.add(publication)
    db.session.commit()
    assert names(search(SearchParams(text="zephyr"))) == ["Gus Hall"]
    db.session.delete(publication)
    db.session.commit()
    assert names(search(SearchParams(text="zephyr"))) == []

    # Expertise changes on a profile.
    hal = world["hal"]
    hal.expertise = [tag("Radicalisation")]
    db.session.commit()
    assert names(search(SearchParams(text="radicalisation"))) == ["Hal Iqbal"]

    # An organisation renamed.
    ben = world["ben"]
    ben.organisation.trading_name = "Pennine Practice Reviews"
    db.session.commit()
    assert "Ben Baxter" in names(search(SearchParams(text="pennine")))


def test_losing_consent_or_membership_removes_at_once(world):
    ada = world["ada"]
    assert "Ada Achebe" in names(search(SearchParams(text="achebe")))
    ada.consents[0].withdrawn_at = utcnow()
    db.session.commit()
    assert names(search(SearchParams(text="achebe"))) == []

    gus = world["gus"]
    for membership in db.session.scalars(
        select(PoolMembership).where(PoolMembership.organisation_id == gus.organisation_id)
    ):
        membership.status = "suspended"
    db.session.commit()
    assert names(search(SearchParams(text="gus"))) == []
    assert "Gus Hall" not in names(search(SearchParams(per_page=50)))


def test_special_category_data_is_never_indexed_or_searchable(world):
    ada = world["ada"]
    ada.sensitive = ReviewerSensitiveData(
        ethnicity="asian", religion="muslim", sexual_orientation="bisexual",
        lived_experience="yes", lived_experience_detail="Grew up in foster care in Kirklees",
        dbs_type="enhanced", dbs_certificate_date=date(2024, 5, 1), dbs_update_service=True,
    )
    db.session.commit()
    for word in ("muslim", "asian", "bisexual", "kirklees", "foster", "enhanced", "2024"):
        assert names(search(SearchParams(text=word))) == [], word
    row = db.session.get(DirectorySearchDocument, ada.id)
    stored = " ".join([row.name_text, row.expertise_text, row.body_text])
    for word in ("muslim", "asian", "bisexual", "kirklees", "foster"):
        assert word not in stored


def test_index_text_is_plain_ascii_words():
    assert index_text("Zieliński, O'Brien — “neglect”!") == "zielinski o brien neglect"
    assert index_text("Łódź") == "z000142odz"
    assert index_text("日本") == "z0065e5z00672c"


def test_engine_schema_exists(app):
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        found = db.session.execute(text(
            "SELECT name FROM sqlite_master WHERE name = 'directory_search_fts'")).scalar()
        assert found == "directory_search_fts"
    else:
        indexdef = db.session.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = "
            "'ix_directory_search_documents_vector'")).scalar()
        assert "gin" in indexdef.lower()
        column_type = db.session.execute(text(
            "SELECT data_type FROM information_schema.columns WHERE table_name = "
            "'directory_search_documents' AND column_name = 'search_vector'")).scalar()
        assert column_type == "tsvector"
