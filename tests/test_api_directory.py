"""The directory JSON API and the OpenAPI document."""

from __future__ import annotations

import re
from datetime import date

from portal.api.openapi import document
from portal.extensions import db
from portal.models import ReviewerSensitiveData, utcnow
from portal.search import FACET_DIMENSIONS
from tests.directory_support import member_organisation, reviewer, tag
from tests.fixtures.users import make_partnership_member, make_staff, make_supplier


def _world():
    organisation = member_organisation("Northern Reviews Ltd", categories=(1, 4))
    ada = reviewer("Ada Achebe", organisation, expertise=["Neglect"], regions=["north_east"],
                   lcspr=4, dbs=True, competences=["race"],
                   publications=[("Review: Baby Q", "lcspr")])
    ada.sensitive = ReviewerSensitiveData(ethnicity="black", religion="christian",
                                          dbs_type="enhanced",
                                          dbs_certificate_date=date(2025, 1, 1),
                                          dbs_update_service=True)
    ben = reviewer("Ben Baxter", organisation, expertise=["Criminal exploitation"], lcspr=1)
    hidden = reviewer("Nora Noconsent", organisation, consent=False, expertise=["Neglect"])
    db.session.commit()
    return ada, ben, hidden


def test_search_returns_what_the_page_shows(client, sign_in):
    ada, _ben, _hidden = _world()
    sign_in(make_partnership_member())
    response = client.get("/api/directory/reviewers?q=neglect&region=north_east")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["total"] == 1 and body["pages"] == 1 and body["page"] == 1
    assert body["query"] == {"words": ["neglect"], "ignored_words": 0}
    (result,) = body["results"]
    assert result["name"] == "Ada Achebe"
    assert result["categories"] == [1, 4]
    assert result["dbs_current"] is True
    assert result["why"][0] == "\u201cneglect\u201d matches their expertise or published reviews"
    assert result["links"]["self"] == f"/api/directory/reviewers/{ada.id}"
    assert set(result) == {
        "id", "name", "organisation", "professional_background", "years_experience",
        "reviews_total", "reviews", "expertise", "regions", "categories", "availability",
        "day_rate", "dbs_current", "why", "links"}
    assert body["facets"]["region"]["north_east"] == 1
    assert body["facets"]["expertise"][str(tag("Neglect").id)] == 1
    # The same words are on the page.
    page = client.get("/directory?q=neglect&region=north_east").text
    for value in (result["name"], result["organisation"], result["day_rate"],
                  result["availability"]["text"], *result["why"],
                  f"{result['availability']['days_per_month']} days a month",
                  ", ".join(str(n) for n in result["categories"]), *result["expertise"],
                  *result["regions"], *(r["text"] for r in result["reviews"])):
        assert value in page, value


def test_detail_and_no_special_category_data(client, sign_in):
    ada, _ben, hidden = _world()
    sign_in(make_partnership_member())
    body = client.get(f"/api/directory/reviewers/{ada.id}").json
    assert body["name"] == "Ada Achebe"
    assert body["publications"][0]["title"] == "Review: Baby Q"
    assert body["competences"] == [{"area": "Race", "example": "An example."}]
    assert body["track_record"] == []
    text = str(body).lower()
    for word in ("black", "christian", "2025-01-01", "dbs_type", "update_service",
                 "ethnicity", "religion", "sensitive"):
        assert word not in text, word
    assert client.get(f"/api/directory/reviewers/{hidden.id}").status_code == 404
    assert client.get("/api/directory/reviewers/424242").json == {
        "error": "No reviewer with that id is in the directory"}


def test_excluded_reviewers_never_in_the_api(client, sign_in):
    _world()
    suspended = reviewer("Sam Suspended", member_organisation(status="suspended"))
    expired = reviewer("Ed Expired", member_organisation(expired=True))
    withdrawn = reviewer("Wendy Withdrawn")
    withdrawn.consents[0].withdrawn_at = utcnow()
    db.session.commit()
    sign_in(make_partnership_member())
    body = client.get("/api/directory/reviewers?per_page=50").json
    assert {r["name"] for r in body["results"]} == {"Ada Achebe", "Ben Baxter"}
    for profile in (suspended, expired, withdrawn):
        assert client.get(f"/api/directory/reviewers/{profile.id}").status_code == 404


def test_pagination_links(client, sign_in):
    organisation = member_organisation()
    for i in range(12):
        reviewer(f"Person {i:02d}", organisation)
    sign_in(make_partnership_member())
    body = client.get("/api/directory/reviewers?per_page=10&region=london").json
    assert body["pages"] == 2 and len(body["results"]) == 10
    assert body["links"]["prev"] is None
    assert "page=2" in body["links"]["next"] and "region=london" in body["links"]["next"]
    body = client.get(body["links"]["next"]).json
    assert len(body["results"]) == 2 and body["links"]["next"] is None


def test_bad_parameters_are_400_with_messages(client, sign_in):
    sign_in(make_partnership_member())
    response = client.get("/api/directory/reviewers?min_reviews=-1&available_from=yesterday"
                          "&competence=astrology&per_page=1000&page=0")
    assert response.status_code == 400
    errors = response.json["errors"]
    assert set(errors) == {"min_reviews", "available_from", "competence", "per_page", "page"}
    # Free text is never an error.
    response = client.get("/api/directory/reviewers", query_string={"q": "'\";--%_*" * 300})
    assert response.status_code == 200


def test_who_may_call_the_api(client, sign_in):
    ada, _, _ = _world()
    assert client.get("/api/directory/reviewers").status_code == 401
    assert client.get("/api/directory/reviewers").json["error"]
    for person, status in ((make_supplier(), 403), (make_partnership_member(approved=False), 403),
                           (make_staff("evaluator"), 403), (make_staff("commissioner"), 200),
                           (make_staff("admin"), 200), (make_partnership_member(), 200)):
        sign_in(person)
        assert client.get("/api/directory/reviewers").status_code == status
        assert client.get(f"/api/directory/reviewers/{ada.id}").status_code == status


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_every_api_route_is_in_the_openapi_document(app, client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.1")
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = _openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method.lower() not in spec["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert not missing, f"Not in /api/openapi.json: {missing}"
    # And nothing documented that does not exist.
    routes = {_openapi_path(r.rule) for r in app.url_map.iter_rules()}
    assert set(spec["paths"]) <= routes


def test_openapi_document_is_well_formed():
    spec = document()
    schemas = spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation["responses"], (path, method)
            assert operation.get("operationId"), (path, method)
            for parameter in operation.get("parameters", []):
                assert {"name", "in", "schema"} <= set(parameter)
                if parameter["in"] == "path":
                    assert "{" + parameter["name"] + "}" in path
    refs = re.findall(r"#/components/schemas/(\w+)", str(spec))
    assert refs and all(ref in schemas for ref in refs)
    # Every card field the API returns is described.
    described = set(schemas["ReviewerSummary"]["properties"])
    assert {"why", "links", "dbs_current", "availability"} <= described
    # And every facet, each with its own description.
    facets = schemas["ReviewerSearch"]["properties"]["facets"]
    assert set(facets["properties"]) == set(facets["required"]) == set(FACET_DIMENSIONS)
    assert {"review_type", "available_from"} <= set(FACET_DIMENSIONS)
    assert all(item["description"] for item in facets["properties"].values())


def test_facets_are_what_the_document_says(client, sign_in):
    _world()
    sign_in(make_partnership_member())
    facets_schema = document()["components"]["schemas"]["ReviewerSearch"]["properties"][
        "facets"]
    when = utcnow().date().isoformat()
    body = client.get(f"/api/directory/reviewers?available_from={when}&review_type=lcspr"
                      "&min_reviews=2").json
    facets = body["facets"]
    assert set(facets) == set(facets_schema["properties"])
    assert all(isinstance(n, int) and n >= 1 for counts in facets.values()
               for n in counts.values())
    # Ada (4 LCSPRs) and Ben (1): the minimum of 2 leaves one; both are available today.
    assert body["total"] == 1
    assert facets["review_type"] == {"lcspr": 1, "any": 2}
    assert facets["available_from"] == {when: 1, "any": 1}
    # No date, no availability counts.
    assert client.get("/api/directory/reviewers").json["facets"]["available_from"] == {}
