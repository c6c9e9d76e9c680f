"""OCDS 1.1 open data: every release and record package the service produces validates
against the official schemas (read from ../shared/ocds, never copied into the
repository); releases are written with the events; nothing of a bid's content, a losing
price or a score is ever published."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from urllib.parse import urlparse

import pytest
import time_machine
from sqlalchemy import select

from portal import ocds
from portal.extensions import db
from portal.models.award import OcdsRelease
from portal.services import award as service
from portal.services import commissions as commission_service
from tests.award_support import (
    OCDS_DIR,
    UNDERSTANDING_SECRET,
    admin,
    evaluated_commission,
)
from tests.commissions_support import make_open
from tests.fixtures.users import OrganisationFactory, make_staff

pytestmark = pytest.mark.skipif(not OCDS_DIR.is_dir(),
                                reason=f"OCDS schemas not found at {OCDS_DIR}")

RELEASE_SCHEMA_URL = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _validator(name: str):
    """A Draft 4 validator for one of the package schemas, with the release schema's URL
    resolved to the local file (no network) and strict date-time and uri formats."""
    from jsonschema import Draft4Validator, FormatChecker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    release_schema = json.loads((OCDS_DIR / "release-schema.json").read_text())
    registry = Registry().with_resource(
        RELEASE_SCHEMA_URL, Resource.from_contents(release_schema, default_specification=DRAFT4)
    )
    checker = FormatChecker()

    @checker.checks("date-time")
    def _date_time(value) -> bool:
        if not isinstance(value, str):
            return True
        return bool(RFC3339.match(value)) and datetime.fromisoformat(value) is not None

    @checker.checks("uri")
    def _uri(value) -> bool:
        if not isinstance(value, str):
            return True
        parsed = urlparse(value)
        return bool(parsed.scheme and parsed.netloc)

    schema = json.loads((OCDS_DIR / name).read_text())
    return Draft4Validator(schema, registry=registry, format_checker=checker)


def assert_valid(package: dict, schema: str = "release-package-schema.json") -> None:
    errors = sorted(_validator(schema).iter_errors(package), key=lambda e: list(e.path))
    assert not errors, "\n".join(
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors[:20])


def _feed(client, **args) -> dict:
    response = client.get("/api/ocds/releases", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def _awarded(confirm=True, **kw):
    ev = evaluated_commission(**kw)
    award = service.propose(ev.commissioner, ev.commission, None, "")
    db.session.commit()
    service.approve(admin(), award)
    db.session.commit()
    if confirm:
        with time_machine.travel(award.standstill_ends_at + timedelta(minutes=1), tick=False):
            service.confirm(ev.commissioner, award)
            db.session.commit()
    return ev, award


# --- the schemas themselves --------------------------------------------------------------


def test_the_validator_rejects_a_broken_release():
    package = {"uri": "https://example.org/p", "version": "1.1", "publishedDate":
               "2026-01-01T00:00:00+00:00", "publisher": {"name": "x"},
               "releases": [{"ocid": "ocds-abcdef-1", "id": "1", "date": "yesterday",
                             "tag": ["bogus"], "initiationType": "tender"}]}
    errors = list(_validator("release-package-schema.json").iter_errors(package))
    messages = " ".join(e.message for e in errors)
    assert "bogus" in messages and "yesterday" in messages


# --- the feed ----------------------------------------------------------------------------


def test_the_whole_journey_validates(app, client):
    ev, award = _awarded()
    package = _feed(client)
    assert_valid(package)
    assert package["version"] == "1.1"
    assert package["publisher"]["name"]
    assert package["license"].startswith("https://")
    assert package["publicationPolicy"].endswith("/open-data")
    assert package["uri"].startswith("http://localhost/api/ocds/releases")
    tags = [r["tag"] for r in package["releases"]]
    assert tags == [["tender"], ["award"], ["contract"]]
    ocid = f"ocds-rvwpl1-{ev.commission.id}"
    assert {r["ocid"] for r in package["releases"]} == {ocid}
    assert len({r["id"] for r in package["releases"]}) == 3

    tender, award_release, contract = package["releases"]
    assert tender["tender"]["status"] == "active"
    assert tender["buyer"]["name"] == "Child Safeguarding Practice Review Panel"
    assert tender["tender"]["value"] == {"amount": 25000.0, "currency": "GBP"}
    assert "Methodology: 40%" in tender["tender"]["awardCriteriaDetails"]
    assert "Price: 30%" in tender["tender"]["awardCriteriaDetails"]
    assert tender["tender"]["awardCriteria"] == "ratedCriteria"

    winner = ev.organisations[0]
    body = award_release
    assert body["tender"]["numberOfTenderers"] == 3
    assert len(body["tender"]["tenderers"]) == 3
    roles = {p["name"]: p["roles"] for p in body["parties"]}
    assert roles[winner.display_name] == ["tenderer", "supplier"]
    assert roles[ev.organisations[1].display_name] == ["tenderer"]
    assert "buyer" in roles["Child Safeguarding Practice Review Panel"]
    block = body["awards"][0]
    assert block["status"] == "pending"
    assert block["id"] == f"{ocid}-award-{award.id}"
    assert block["suppliers"][0]["name"] == winner.display_name
    assert block["value"]["amount"] == award.value_pence / 100

    assert contract["awards"][0]["status"] == "active"
    assert contract["awards"][0]["id"] == block["id"]  # a stable award id
    assert contract["contracts"][0]["awardID"] == block["id"]
    assert contract["contracts"][0]["id"] == f"{ocid}-contract-{award.id}"
    assert contract["contracts"][0]["status"] == "active"


def _keys(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        found.update(value)
        for item in value.values():
            _keys(item, found)
    elif isinstance(value, list):
        for item in value:
            _keys(item, found)
    return found


def test_no_bid_contents_losing_prices_or_scores_are_published(app, client):
    ev, _award = _awarded(days=(10, 12, 13))
    feed = _feed(client)
    record = client.get(f"/api/ocds/records/ocds-rvwpl1-{ev.commission.id}").get_json()
    text = json.dumps(feed) + json.dumps(record)
    assert UNDERSTANDING_SECRET not in text
    assert "Rationale for" not in text
    assert "Interviews and case file reading" not in text  # the methodology
    for bid in ev.bids[1:]:
        losing = bid.latest_version.total_price_pence / 100
        assert str(losing) not in text
    keys = _keys(feed, set()) | _keys(record, set())
    assert not keys & {"score", "scores", "points", "rationale", "justification",
                       "consensus", "bids", "methodology", "understanding"}


def test_an_individual_who_did_not_win_is_not_named(app, client):
    _ev, _award = _awarded(kinds=("company", "individual", "company"),
                          names=("Alpha Research Ltd", "Dr Private Person", "Gamma Ltd"))
    text = json.dumps(_feed(client))
    assert "Dr Private Person" not in text
    assert "name withheld" in text


def test_amendments_and_cancellation_validate(app, client):
    commissioner = make_staff("commissioner")
    commission = make_open(commissioner, members=[OrganisationFactory()])
    new_deadline = commission.submission_deadline + timedelta(days=3)
    commission_service.extend_deadline(commissioner, commission,
                                       commission.clarification_deadline, new_deadline,
                                       "More time for bidders")
    db.session.commit()
    commission_service.cancel(commissioner, commission, "The review is no longer needed.")
    db.session.commit()
    package = _feed(client)
    assert_valid(package)
    releases = package["releases"]
    assert [r["tag"] for r in releases] == [["tender"], ["tenderAmendment"],
                                            ["tenderCancellation"]]
    amendment = releases[1]["tender"]["amendments"][0]
    assert amendment["rationale"] == "More time for bidders"
    assert "Submission deadline" in amendment["description"]
    assert releases[1]["tender"]["tenderPeriod"]["endDate"] == new_deadline.isoformat(
        timespec="seconds")
    assert releases[2]["tender"]["status"] == "cancelled"


def test_a_cancelled_draft_publishes_nothing(app, client):
    from tests.commissions_support import make_draft

    commissioner = make_staff("commissioner")
    draft = make_draft(commissioner)
    commission_service.cancel(commissioner, draft, "Not needed")
    db.session.commit()
    assert client.get("/api/ocds/releases").status_code == 404


def test_withdrawal_and_no_suitable_bid_validate(app, client):
    ev, award = _awarded(confirm=False)
    service.withdraw(ev.commissioner, award, "An error in the scores")
    db.session.commit()
    other = evaluated_commission(ev.commissioner, number=2)
    service.close_no_suitable_bid(other.commissioner, other.commission, "None suitable")
    db.session.commit()
    package = _feed(client)
    assert_valid(package)
    by_tag = {r["tag"][0]: r for r in package["releases"]}
    assert by_tag["awardCancellation"]["awards"][0]["status"] == "cancelled"
    assert "An error in the scores" not in json.dumps(package)
    assert by_tag["tenderUpdate"]["tender"]["status"] == "unsuccessful"
    assert by_tag["tenderUpdate"]["tender"]["numberOfTenderers"] == 3


def test_cancelling_during_standstill_cancels_the_published_award(app, client):
    ev, _award = _awarded(confirm=False)
    commission_service.cancel(ev.commissioner, ev.commission, "The review is no longer needed.")
    db.session.commit()
    package = client.get(f"/api/ocds/records/ocds-rvwpl1-{ev.commission.id}").get_json()
    assert_valid(package, "record-package-schema.json")
    record = package["records"][0]
    assert [r["tag"] for r in record["releases"]][-2:] == [["awardCancellation"],
                                                          ["tenderCancellation"]]
    compiled = record["compiledRelease"]
    assert compiled["tender"]["status"] == "cancelled"
    assert [a["status"] for a in compiled["awards"]] == ["cancelled"]
    assert_valid(_feed(client))


def test_pagination(app, client):
    _ev, _award = _awarded()
    first = _feed(client, per_page=2)
    assert_valid(first)
    assert len(first["releases"]) == 2
    assert "prev" not in first["links"]
    assert first["links"]["next"].endswith("page=2&per_page=2")
    second = client.get(first["links"]["next"]).get_json()
    assert_valid(second)
    assert [r["tag"] for r in second["releases"]] == [["contract"]]
    assert "next" not in second["links"]
    assert client.get("/api/ocds/releases?page=3&per_page=2").status_code == 404
    for bad in ("page=0", "page=x", "per_page=1000", "per_page=-1"):
        response = client.get(f"/api/ocds/releases?{bad}")
        assert response.status_code == 400
        assert "error" in response.get_json()


def test_an_empty_feed_is_a_404_not_an_invalid_package(app, client):
    response = client.get("/api/ocds/releases")
    assert response.status_code == 404
    assert response.get_json() == {"error": "No releases have been published yet"}


def test_single_release_packages_validate(app, client):
    _awarded()
    for row in db.session.scalars(select(OcdsRelease)):
        response = client.get(f"/api/ocds/releases/{row.release_id}")
        assert response.status_code == 200
        package = response.get_json()
        assert_valid(package)
        assert package["releases"] == [row.data]


# --- records -----------------------------------------------------------------------------


def test_record_package_validates_with_a_compiled_release(app, client):
    ev, award = _awarded()
    ocid = f"ocds-rvwpl1-{ev.commission.id}"
    response = client.get(f"/api/ocds/records/{ocid}")
    assert response.status_code == 200
    package = response.get_json()
    assert_valid(package, "record-package-schema.json")
    record = package["records"][0]
    assert record["ocid"] == ocid
    assert [r["tag"] for r in record["releases"]] == [["tender"], ["award"], ["contract"]]
    for linked in record["releases"]:
        assert "/api/ocds/releases/" in linked["url"] and "#" in linked["url"]
    compiled = record["compiledRelease"]
    assert compiled["tag"] == ["compiled"]
    assert compiled["awards"][0]["status"] == "active"
    assert len(compiled["awards"]) == 1
    assert compiled["contracts"][0]["id"] == f"{ocid}-contract-{award.id}"
    assert compiled["tender"]["numberOfTenderers"] == 3
    assert client.get("/api/ocds/records/ocds-rvwpl1-999").status_code == 404


def test_every_record_validates_after_withdraw_and_award_again(app, client):
    ev, award = _awarded(confirm=False)
    service.withdraw(ev.commissioner, award, "Error")
    db.session.commit()
    again = service.propose(ev.commissioner, ev.commission, ev.bids[1].id, "The first "
                            "choice withdrew.")
    db.session.commit()
    service.approve(admin("admin2@panel.example"), again)
    db.session.commit()
    package = client.get(f"/api/ocds/records/ocds-rvwpl1-{ev.commission.id}").get_json()
    assert_valid(package, "record-package-schema.json")
    awards = {a["id"]: a["status"] for a in package["records"][0]["compiledRelease"]["awards"]}
    assert awards == {f"ocds-rvwpl1-{ev.commission.id}-award-{award.id}": "cancelled",
                      f"ocds-rvwpl1-{ev.commission.id}-award-{again.id}": "pending"}


# --- settings ----------------------------------------------------------------------------


def test_the_prefix_setting(app, client):
    app.config["OCDS_PREFIX"] = "ocds-abc123"
    assert ocds.prefix() == "ocds-abc123"
    for bad in ("ocds-ABCDEF", "ocds-abc", "abcdef", "ocds-abcdefg"):
        app.config["OCDS_PREFIX"] = bad
        with pytest.raises(ValueError, match="OCDS_PREFIX"):
            ocds.prefix()
    app.config["OCDS_PREFIX"] = "ocds-zzzzzz"
    commission = make_open(make_staff("commissioner"), members=[OrganisationFactory()])
    package = _feed(client)
    assert package["releases"][0]["ocid"] == f"ocds-zzzzzz-{commission.id}"
    # the ocid of a published commission never changes, even if the prefix does
    app.config["OCDS_PREFIX"] = "ocds-yyyyyy"
    assert ocds.ocid_for(commission) == f"ocds-zzzzzz-{commission.id}"


def test_the_openapi_document_describes_the_feed(app, client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/ocds/releases", "/api/ocds/releases/{release_id}",
                 "/api/ocds/records/{ocid}"):
        assert paths[path]["get"]["security"] == []


def test_the_policy_page_is_public(app, client):
    response = client.get("/open-data")
    assert response.status_code == 200
    assert "never publish the contents of a bid" in response.get_data(as_text=True)
