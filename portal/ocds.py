"""Open Contracting Data Standard 1.1 releases for the commissions, and their packages.

A release is written (an `OcdsRelease` row) in the same transaction as the event it
reports, and is never rebuilt afterwards:

    tender              a commission is published
    tenderAmendment     its deadline is extended or its specification changes
    tenderCancellation  it is cancelled
    award               its award is approved (awards[].status "pending": standstill)
    awardCancellation   the approved award is withdrawn
    contract            the award is confirmed after the standstill (the contract)
    tenderUpdate        it closes with no suitable bid (tender.status "unsuccessful")

Every release of a commission has the same `ocid`: OCDS_PREFIX ("ocds-" and six lowercase
letters or digits, default "ocds-rvwpl1") + "-" + the commission id. Release ids are the
ocid + a sequence number + the tag; award and contract ids are the ocid + "-award-" /
"-contract-" + the award id, so they stay the same in every release.

What is published: the buyer, the tender (title, summary, maximum budget, deadlines,
criteria and weights), the number of tenderers and who they were (an individual's name
is withheld unless they won), the award (supplier and value), the contract. NEVER the
contents of a bid, a price other than the winning one, or any score.

Settings (app config, else environment): OCDS_PREFIX, OCDS_PUBLISHER_NAME,
OCDS_PUBLISHER_URI, OCDS_LICENSE, OCDS_PUBLICATION_POLICY, OCDS_BUYER_NAME.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.award import Award, OcdsRelease
from portal.models.base import utcnow

OCDS_VERSION = "1.1"
DEFAULT_PREFIX = "ocds-rvwpl1"
PREFIX_PATTERN = re.compile(r"^ocds-[a-z0-9]{6}$")
DEFAULT_PUBLISHER = "Child Safeguarding Practice Review Panel"
DEFAULT_LICENSE = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
PANEL_PARTY_ID = "GB-PANEL"
CURRENCY = "GBP"

TENDER = "tender"
TENDER_AMENDMENT = "tenderAmendment"
TENDER_CANCELLATION = "tenderCancellation"
TENDER_UPDATE = "tenderUpdate"
AWARD = "award"
AWARD_CANCELLATION = "awardCancellation"
CONTRACT = "contract"


def setting(name: str, default: str | None = None) -> str | None:
    try:
        value = current_app.config.get(name)
    except RuntimeError:
        value = None
    if value in (None, ""):
        value = os.environ.get(name) or default
    return value


def prefix() -> str:
    value = (setting("OCDS_PREFIX", DEFAULT_PREFIX) or "").strip()
    if not PREFIX_PATTERN.match(value):
        raise ValueError(
            f"OCDS_PREFIX must be 'ocds-' and six lowercase letters or digits, not {value!r}"
        )
    return value


def ocid_for(commission) -> str:
    """The commission's ocid: the one already published, else a new one from the prefix."""
    existing = db.session.scalar(
        select(OcdsRelease.ocid).where(OcdsRelease.commission_id == commission.id).limit(1)
    )
    return existing or f"{prefix()}-{commission.id}"


def award_ocds_id(ocid: str, award: Award) -> str:
    return f"{ocid}-award-{award.id}"


def contract_ocds_id(ocid: str, award: Award) -> str:
    return f"{ocid}-contract-{award.id}"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="seconds")


def money(pence: int | None) -> dict | None:
    if pence is None:
        return None
    return {"amount": round(pence / 100, 2), "currency": CURRENCY}


# --- parties ---------------------------------------------------------------------------


def buyer_party(commission) -> dict:
    partnership = commission.buyer_partnership
    if partnership is not None:
        return {
            "id": f"GB-LSCP-{partnership.id}",
            "name": partnership.name,
            "roles": ["buyer", "procuringEntity"],
        }
    return {
        "id": PANEL_PARTY_ID,
        "name": setting("OCDS_BUYER_NAME", DEFAULT_PUBLISHER),
        "roles": ["buyer", "procuringEntity"],
    }


def _reference(party: dict) -> dict:
    return {"id": party["id"], "name": party["name"]}


def organisation_party(organisation, roles: list[str], *, withhold_individual: bool) -> dict:
    """A supplier organisation as an OCDS party. An individual (an organisation of one)
    who did not win is listed without their name or address."""
    party_id = f"GB-RVWPL-ORG-{organisation.id}"
    if withhold_individual and organisation.kind == "individual":
        return {"id": party_id, "name": "An individual reviewer (name withheld)",
                "roles": roles}
    party: dict[str, Any] = {"id": party_id, "name": organisation.display_name,
                             "roles": roles}
    if organisation.companies_house_number:
        party["identifier"] = {"scheme": "GB-COH", "id": organisation.companies_house_number,
                               "legalName": organisation.legal_name}
    elif organisation.charity_number:
        party["identifier"] = {"scheme": "GB-CHC", "id": organisation.charity_number,
                               "legalName": organisation.legal_name}
    else:
        party["identifier"] = {"legalName": organisation.legal_name}
    if organisation.kind != "individual" and (organisation.town or organisation.postcode):
        address = {"countryName": "United Kingdom"}
        if organisation.town:
            address["locality"] = organisation.town
        if organisation.postcode:
            address["postalCode"] = organisation.postcode
        party["address"] = address
    return party


def tenderer_organisations(commission) -> list:
    """Organisations with a submitted (not withdrawn) bid."""
    from portal.models.accounts import Organisation
    from portal.models.bids import SUBMITTED_STATUSES, Bid

    return list(db.session.scalars(
        select(Organisation)
        .join(Bid, Bid.organisation_id == Organisation.id)
        .where(Bid.commission_id == commission.id, Bid.status.in_(SUBMITTED_STATUSES),
               Bid.submitted_at.is_not(None))
        .order_by(Organisation.id)
    ))


# --- the tender ------------------------------------------------------------------------


def award_criteria(commission) -> tuple[str, str]:
    parts = [f"{c.name}: {c.weight}%" for c in commission.criteria]
    if commission.price_weight:
        parts.append(f"Price: {commission.price_weight}%")
    kind = "ratedCriteria" if commission.price_weight else "qualityOnly"
    details = ("Most advantageous tender. Quality criteria scored 0 to 4 and weighted; "
               "price scored as lowest price / bid price x price weight. Weights: "
               + "; ".join(parts))
    return kind, details


def _amendments(commission) -> list[dict]:
    from portal.services.commissions import FIELD_LABELS

    items = []
    for version in commission.versions:
        if version.number <= 1 or version.kind == "cancelled":
            continue
        changed = [FIELD_LABELS.get(key, key) for key in (version.changes or {})]
        items.append({
            "id": str(version.number),
            "date": iso(version.created_at),
            "rationale": version.note or version.kind_label,
            "description": ("Changed: " + ", ".join(changed)) if changed
            else version.kind_label,
        })
    return items


def tender_block(commission, status: str) -> dict:
    criteria_kind, criteria_details = award_criteria(commission)
    category = commission.category
    tender: dict[str, Any] = {
        "id": commission.reference,
        "title": commission.title,
        "description": commission.summary,
        "status": status,
        "value": money(commission.max_budget_pence),
        "procurementMethod": "selective",
        "procurementMethodDetails": (
            "Call-off competition among the members of the Panel's dynamic purchasing "
            f"system admitted to service category {category.number}: {category.name}"
        ),
        "mainProcurementCategory": "services",
        "awardCriteria": criteria_kind,
        "awardCriteriaDetails": criteria_details,
        "submissionMethod": ["electronicSubmission"],
        "items": [{"id": "1", "description": category.name}],
        "tenderPeriod": {"startDate": iso(commission.published_at),
                         "endDate": iso(commission.submission_deadline)},
        "enquiryPeriod": {"startDate": iso(commission.published_at),
                          "endDate": iso(commission.clarification_deadline)},
    }
    if commission.max_budget_pence is None:
        del tender["value"]
    if commission.clarification_deadline is None:
        del tender["enquiryPeriod"]
    amendments = _amendments(commission)
    if amendments:
        tender["amendments"] = amendments
    return tender


def _base(commission, ocid: str, tag: str, now: datetime, sequence: int) -> dict:
    buyer = buyer_party(commission)
    return {
        "ocid": ocid,
        "id": f"{ocid}-{sequence:04d}-{tag}",
        "date": iso(now),
        "tag": [tag],
        "initiationType": "tender",
        "language": "en",
        "parties": [buyer],
        "buyer": _reference(buyer),
    }


def _next_sequence(commission_id: int) -> int:
    """Callers hold the commission row lock, so this cannot race."""
    return (db.session.scalar(
        select(func.max(OcdsRelease.sequence)).where(OcdsRelease.commission_id == commission_id)
    ) or 0) + 1


def _store(commission, release: dict, sequence: int, tag: str, now: datetime) -> OcdsRelease:
    row = OcdsRelease(
        commission_id=commission.id,
        ocid=release["ocid"],
        sequence=sequence,
        release_id=release["id"],
        tag=tag,
        date=now,
        data=release,
    )
    db.session.add(row)
    db.session.flush()
    return row


def _tender_release(commission, tag: str, status: str, now: datetime | None) -> OcdsRelease:
    now = now or utcnow()
    ocid = ocid_for(commission)
    sequence = _next_sequence(commission.id)
    release = _base(commission, ocid, tag, now, sequence)
    release["tender"] = tender_block(commission, status)
    release["tender"]["procuringEntity"] = release["buyer"]
    return _store(commission, release, sequence, tag, now)


# --- hooks called by the commissions service ------------------------------------------


def on_published(commission, now: datetime | None = None) -> OcdsRelease:
    return _tender_release(commission, TENDER, "active", now)


def on_amended(commission, now: datetime | None = None) -> OcdsRelease:
    return _tender_release(commission, TENDER_AMENDMENT, "active", now)


def on_cancelled(commission, now: datetime | None = None) -> OcdsRelease | None:
    """Only a published commission was ever released; a cancelled draft stays private."""
    if commission.published_at is None:
        return None
    return _tender_release(commission, TENDER_CANCELLATION, "cancelled", now)


# --- award events -------------------------------------------------------------------------


def _with_tenderers(commission, release: dict, winner_id: int | None) -> None:
    tenderers = tenderer_organisations(commission)
    references = []
    for organisation in tenderers:
        won = organisation.id == winner_id
        roles = ["tenderer", "supplier"] if won else ["tenderer"]
        party = organisation_party(organisation, roles, withhold_individual=not won)
        release["parties"].append(party)
        references.append(_reference(party))
    release["tender"]["numberOfTenderers"] = len(tenderers)
    release["tender"]["tenderers"] = references


def _award_block(ocid: str, award: Award, status: str, supplier_ref: dict | None) -> dict:
    commission = award.commission
    block: dict[str, Any] = {
        "id": award_ocds_id(ocid, award),
        "title": f"Award of {commission.reference}: {commission.title}",
        "status": status,
        "date": iso(award.approved_at),
    }
    if award.value_pence is not None:
        block["value"] = money(award.value_pence)
    if supplier_ref is not None:
        block["suppliers"] = [supplier_ref]
    return block


def _award_release(award: Award, tag: str, now: datetime | None,
                   award_status: str) -> tuple[dict, str, int]:
    commission = award.commission
    now = now or utcnow()
    ocid = ocid_for(commission)
    sequence = _next_sequence(commission.id)
    release = _base(commission, ocid, tag, now, sequence)
    release["tender"] = tender_block(commission, "complete")
    release["tender"]["procuringEntity"] = release["buyer"]
    _with_tenderers(commission, release, award.organisation_id)
    supplier = next(
        (p for p in release["parties"] if "supplier" in p["roles"]), None
    )
    block = _award_block(ocid, award, award_status,
                         _reference(supplier) if supplier else None)
    release["awards"] = [block]
    return release, ocid, sequence


def on_award_approved(award: Award, now: datetime | None = None) -> OcdsRelease:
    release, _ocid, sequence = _award_release(award, AWARD, now, "pending")
    if award.standstill_ends_at is not None:
        release["awards"][0]["description"] = (
            "Standstill period: no contract before "
            f"{iso(award.standstill_ends_at)}."
        )
    return _store(award.commission, release, sequence, AWARD, now or utcnow())


def on_award_withdrawn(award: Award, now: datetime | None = None) -> OcdsRelease:
    release, _ocid, sequence = _award_release(award, AWARD_CANCELLATION, now, "cancelled")
    release["tender"]["status"] = "active"
    release["awards"][0]["description"] = "The award was withdrawn before a contract was made."
    return _store(award.commission, release, sequence, AWARD_CANCELLATION, now or utcnow())


def on_award_confirmed(award: Award, now: datetime | None = None) -> OcdsRelease:
    now = now or utcnow()
    release, ocid, sequence = _award_release(award, CONTRACT, now, "active")
    commission = award.commission
    contract: dict[str, Any] = {
        "id": contract_ocds_id(ocid, award),
        "awardID": award_ocds_id(ocid, award),
        "title": f"{commission.reference}: {commission.title}",
        "status": "active",
        "dateSigned": iso(award.confirmed_at or now),
        "period": {"startDate": iso(award.confirmed_at or now)},
    }
    if award.value_pence is not None:
        contract["value"] = money(award.value_pence)
    release["contracts"] = [contract]
    return _store(commission, release, sequence, CONTRACT, now)


def on_no_suitable_bid(commission, now: datetime | None = None) -> OcdsRelease:
    now = now or utcnow()
    ocid = ocid_for(commission)
    sequence = _next_sequence(commission.id)
    release = _base(commission, ocid, TENDER_UPDATE, now, sequence)
    release["tender"] = tender_block(commission, "unsuccessful")
    release["tender"]["procuringEntity"] = release["buyer"]
    _with_tenderers(commission, release, None)
    return _store(commission, release, sequence, TENDER_UPDATE, now)


# --- packages --------------------------------------------------------------------------


def publisher() -> dict:
    data = {"name": setting("OCDS_PUBLISHER_NAME", DEFAULT_PUBLISHER)}
    uri = setting("OCDS_PUBLISHER_URI")
    if uri:
        data["uri"] = uri
    return data


def package_metadata(uri: str, policy_uri: str | None) -> dict:
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "publisher": publisher(),
        "license": setting("OCDS_LICENSE", DEFAULT_LICENSE),
        "publicationPolicy": setting("OCDS_PUBLICATION_POLICY") or policy_uri,
    }


def release_package(releases: list[dict], *, uri: str, published_date: datetime,
                    policy_uri: str | None = None, links: dict | None = None) -> dict:
    package = {
        **package_metadata(uri, policy_uri),
        "publishedDate": iso(published_date),
        "releases": releases,
    }
    if links:
        package["links"] = links
    return package


def page_of_releases(page: int, per_page: int) -> tuple[list[OcdsRelease], int]:
    """Releases oldest first (by row id: the order they were written)."""
    total = db.session.scalar(select(func.count(OcdsRelease.id))) or 0
    rows = list(db.session.scalars(
        select(OcdsRelease).order_by(OcdsRelease.id)
        .limit(per_page).offset((page - 1) * per_page)
    ))
    return rows, total


def latest_release_date() -> datetime | None:
    return db.session.scalar(select(func.max(OcdsRelease.date)))


def releases_for_ocid(ocid: str) -> list[OcdsRelease]:
    return list(db.session.scalars(
        select(OcdsRelease).where(OcdsRelease.ocid == ocid).order_by(OcdsRelease.sequence)
    ))


# --- records ---------------------------------------------------------------------------

# Fields whose value is not merged into a compiled release (omitWhenMerged).
_OMIT_WHEN_MERGED = {"tag"}


def _merge(into: Any, value: Any) -> Any:
    """OCDS merge, simplified: objects merge field by field; arrays of objects that all
    have an `id` merge by id; any other value replaces the old one; null removes it."""
    if isinstance(value, dict) and isinstance(into, dict):
        result = dict(into)
        for key, item in value.items():
            if item is None:
                result.pop(key, None)
            elif key in result:
                result[key] = _merge(result[key], item)
            else:
                result[key] = copy.deepcopy(item)
        return result
    if (isinstance(value, list) and isinstance(into, list) and value
            and all(isinstance(i, dict) and "id" in i for i in value)
            and all(isinstance(i, dict) and "id" in i for i in into)):
        merged = {str(item["id"]): item for item in into}
        order = [str(item["id"]) for item in into]
        for item in value:
            key = str(item["id"])
            if key in merged:
                merged[key] = _merge(merged[key], item)
            else:
                merged[key] = copy.deepcopy(item)
                order.append(key)
        return [merged[key] for key in order]
    return copy.deepcopy(value)


def compile_releases(releases: Iterable[dict]) -> dict:
    releases = sorted(releases, key=lambda r: r["date"])
    compiled: dict[str, Any] = {}
    for release in releases:
        compiled = _merge(compiled, {k: v for k, v in release.items()
                                     if k not in _OMIT_WHEN_MERGED})
    last = releases[-1]
    compiled["id"] = f"{last['ocid']}-compiled"
    compiled["date"] = last["date"]
    compiled["tag"] = ["compiled"]
    return compiled


def record_package(rows: list[OcdsRelease], *, uri: str, release_url, policy_uri=None) -> dict:
    """A record package for one ocid: the releases (linked by URL) and the compiled
    release. `release_url(row)` gives the URL of the package holding each release."""
    releases = [row.data for row in rows]
    record = {
        "ocid": rows[0].ocid,
        "releases": [
            {"url": f"{release_url(row)}#{row.release_id}", "date": row.data["date"],
             "tag": row.data["tag"]}
            for row in rows
        ],
        "compiledRelease": compile_releases(releases),
    }
    return {
        **package_metadata(uri, policy_uri),
        "publishedDate": iso(max(row.date for row in rows)),
        "packages": sorted({release_url(row) for row in rows}),
        "records": [record],
    }
