"""Organisation details, reviewer profiles, expertise tags, special-category data and
directory consent: one function per use case.

Every function takes the acting user, checks what that user may do with the object's
own predicate (another organisation's object is `NotFound`, which routes answer with
404), validates again what the form validated, writes an audit event and flushes.
Nothing here commits and nothing reads `flask.request`.

Audit events never carry special-category or personal values: only which fields changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.models import (
    DirectoryConsent,
    ExpertiseTag,
    Organisation,
    OrganisationRegion,
    ReviewerCompetence,
    ReviewerProfile,
    ReviewerPublication,
    ReviewerRegion,
    ReviewerSensitiveData,
    utcnow,
)
from portal.models.profiles import (
    CONSENT_TEXT_VERSION,
    DBS_TYPES,
    DIVERSITY_FIELDS,
    KIND_MAY_GIVE_CHARITY_NUMBER,
    KIND_MAY_GIVE_COMPANY_NUMBER,
    KIND_REQUIRES_CHARITY_NUMBER,
    KIND_REQUIRES_COMPANY_NUMBER,
    REGION_CODES,
    REVIEW_COUNT_COLUMNS,
    CompetenceArea,
    OrganisationKind,
    ProfessionalBackground,
    ReviewType,
    dbs_is_current,
)

UK = ZoneInfo("Europe/London")

MAX_PROFILES_PER_ORGANISATION = 200
MAX_PUBLICATIONS_PER_PROFILE = 50
SMALL_NUMBER = 5  # aggregate counts below this are suppressed


class ProfileError(Exception):
    """The change is refused; `message` is shown next to `field` when set."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(LookupError):
    """Not this person's to see (another organisation's, removed or unknown): 404."""


def uk_today() -> date:
    return utcnow().astimezone(UK).date()


# --- Format checks (the forms use them too) ----------------------------------------------

_POSTCODE = re.compile(
    r"^(GIR0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]"
    r"|[A-HK-Y][0-9][ABEHMNPRVWXY])[0-9][ABD-HJLNP-UW-Z]{2})$"
)
_COMPANY_NUMBER = re.compile(r"^(?:\d{8}|[A-Z]{2}\d{6})$")
_CHARITY_NUMBER = re.compile(r"^(?:\d{6,7}|SC\d{6})$")


def normalise_postcode(value: str | None) -> str:
    """'sw1a1aa ' -> 'SW1A 1AA'; raises ValueError when it is not a UK postcode."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if not _POSTCODE.match(compact):
        raise ValueError("Enter a real UK postcode, like SW1A 1AA")
    return f"{compact[:-3]} {compact[-3:]}"


def normalise_company_number(value: str | None) -> str:
    """Companies House numbers: 8 digits, or 2 letters then 6 digits (SC123456)."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if not _COMPANY_NUMBER.match(compact):
        raise ValueError(
            "Companies House number must be 8 characters: 8 digits, like 01234567, "
            "or 2 letters then 6 digits, like SC123456"
        )
    return compact


def normalise_charity_number(value: str | None) -> str:
    """England and Wales: 6 or 7 digits; Scotland: SC then 6 digits."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if not _CHARITY_NUMBER.match(compact):
        raise ValueError(
            "Charity number must be 6 or 7 digits, like 1234567, or for a Scottish "
            "charity SC then 6 digits, like SC012345"
        )
    return compact


def normalise_https_url(value: str | None, max_length: int = 300) -> str:
    text = (value or "").strip()
    if len(text) > max_length:
        raise ValueError(f"Web address must be {max_length} characters or fewer")
    if not text.lower().startswith("https://"):
        raise ValueError("Enter a web address that starts with https://")
    if any(c.isspace() for c in text) or any(ord(c) < 32 for c in text):
        raise ValueError("Enter a web address without spaces")
    try:
        parts = urlsplit(text)
        port = parts.port  # noqa: F841 - raises on a bad port
    except ValueError:
        raise ValueError("Enter a real web address, like https://www.example.org") from None
    host = parts.hostname or ""
    if "." not in host or host.startswith(".") or host.endswith(".") or parts.username:
        raise ValueError("Enter a real web address, like https://www.example.org")
    return "https://" + text[len("https://"):]


# --- Organisation details ----------------------------------------------------------------


@dataclass
class OrganisationDetails:
    legal_name: str
    trading_name: str | None
    kind: str
    companies_house_number: str | None
    charity_number: str | None
    address_line_1: str
    address_line_2: str | None
    town: str
    postcode: str
    regions: list[str]
    website: str | None
    is_sme: bool


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def check_registration_numbers(kind: str, company: str | None, charity: str | None
                               ) -> tuple[str | None, str | None]:
    """Which numbers this kind must or may give, in the right format. Raises ProfileError."""
    company, charity = _clean(company), _clean(charity)
    try:
        kind = OrganisationKind(kind)
    except ValueError:
        raise ProfileError("Select what kind of organisation it is", "kind") from None
    if company is not None:
        if kind not in KIND_MAY_GIVE_COMPANY_NUMBER:
            raise ProfileError(
                "Leave the Companies House number blank: an individual or sole trader "
                "does not have one",
                "companies_house_number",
            )
        try:
            company = normalise_company_number(company)
        except ValueError as error:
            raise ProfileError(str(error), "companies_house_number") from None
    elif kind in KIND_REQUIRES_COMPANY_NUMBER:
        raise ProfileError(
            "Enter the Companies House number of your company", "companies_house_number"
        )
    if charity is not None:
        if kind not in KIND_MAY_GIVE_CHARITY_NUMBER:
            raise ProfileError(
                "Leave the charity number blank: only charities, universities and other "
                "organisations have one",
                "charity_number",
            )
        try:
            charity = normalise_charity_number(charity)
        except ValueError as error:
            raise ProfileError(str(error), "charity_number") from None
    elif kind in KIND_REQUIRES_CHARITY_NUMBER:
        raise ProfileError("Enter the registered charity number", "charity_number")
    return company, charity


def organisation_of(user) -> Organisation:
    organisation = user.organisation if user is not None else None
    if organisation is None:
        raise NotFound("not in an organisation")
    return organisation


def update_organisation_details(user, details: OrganisationDetails) -> Organisation:
    organisation = organisation_of(user)
    if not organisation.can_edit_details(user):
        raise NotFound("not an owner")
    organisation = db.session.execute(
        select(Organisation).where(Organisation.id == organisation.id).with_for_update()
    ).scalar_one()

    legal_name = _clean(details.legal_name)
    if not legal_name:
        raise ProfileError("Enter the legal name of your organisation", "legal_name")
    if len(legal_name) > 200:
        raise ProfileError("Legal name must be 200 characters or fewer", "legal_name")
    trading_name = _clean(details.trading_name)
    if trading_name and len(trading_name) > 200:
        raise ProfileError("Trading name must be 200 characters or fewer", "trading_name")
    company, charity = check_registration_numbers(
        details.kind, details.companies_house_number, details.charity_number
    )
    line_1, line_2, town = (
        _clean(details.address_line_1),
        _clean(details.address_line_2),
        _clean(details.town),
    )
    if not line_1:
        raise ProfileError("Enter address line 1, typically the building and street",
                           "address_line_1")
    if not town:
        raise ProfileError("Enter the town or city", "town")
    for name, value, limit in (("address_line_1", line_1, 200), ("address_line_2", line_2, 200),
                               ("town", town, 100)):
        if value and len(value) > limit:
            raise ProfileError(f"This must be {limit} characters or fewer", name)
    try:
        postcode = normalise_postcode(details.postcode)
    except ValueError as error:
        raise ProfileError(str(error), "postcode") from None
    website = _clean(details.website)
    if website:
        try:
            website = normalise_https_url(website)
        except ValueError as error:
            raise ProfileError(str(error), "website") from None
    regions = _check_regions(details.regions, "regions", "Select at least one region you cover")
    if details.is_sme not in (True, False):
        raise ProfileError("Select whether your organisation is a small or medium-sized "
                           "enterprise", "is_sme")

    new = {
        "legal_name": legal_name,
        "trading_name": trading_name,
        "kind": str(OrganisationKind(details.kind)),
        "companies_house_number": company,
        "charity_number": charity,
        "address_line_1": line_1,
        "address_line_2": line_2,
        "town": town,
        "postcode": postcode,
        "website": website,
        "is_sme": details.is_sme,
    }
    changed = [name for name, value in new.items() if getattr(organisation, name) != value]
    for name, value in new.items():
        setattr(organisation, name, value)
    if set(organisation.regions) != set(regions):
        changed.append("regions")
        _replace_regions(organisation.region_links, regions, OrganisationRegion)
    organisation.details_updated_at = utcnow()
    db.session.flush()
    audit.record(
        "organisation.details_updated",
        actor=user,
        obj=organisation,
        data={"fields": sorted(changed)},
    )
    return organisation


def _check_regions(regions: Iterable[str] | None, field_name: str, missing: str | None
                   ) -> list[str]:
    chosen = list(dict.fromkeys(regions or []))
    unknown = [r for r in chosen if r not in REGION_CODES]
    if unknown:
        raise ProfileError("Select regions from the list", field_name)
    if missing and not chosen:
        raise ProfileError(missing, field_name)
    return chosen


def _replace_regions(links: list, regions: list[str], link_class) -> None:
    wanted = set(regions)
    for link in list(links):
        if link.region not in wanted:
            links.remove(link)
    have = {link.region for link in links}
    for region in regions:
        if region not in have:
            links.append(link_class(region=region))


# --- Reviewer profiles -------------------------------------------------------------------


@dataclass
class ProfileData:
    name: str
    professional_background: str
    years_experience: int
    summary: str
    regions: list[str]
    available_from: date | None = None
    days_per_month: int | None = None
    is_unavailable: bool = False
    day_rate_pence: int | None = None
    review_counts: dict[str, int] = field(default_factory=dict)


def profiles_of(user) -> list[ReviewerProfile]:
    organisation = organisation_of(user)
    return list(
        db.session.scalars(
            select(ReviewerProfile)
            .where(
                ReviewerProfile.organisation_id == organisation.id,
                ReviewerProfile.removed_at.is_(None),
            )
            .order_by(func.lower(ReviewerProfile.name), ReviewerProfile.id)
        )
    )


def profile_for(user, profile_id: int, *, for_update: bool = False) -> ReviewerProfile:
    """A profile this person may view, or NotFound."""
    query = select(ReviewerProfile).where(ReviewerProfile.id == profile_id)
    if for_update:
        query = query.with_for_update()
    profile = db.session.execute(query).scalar_one_or_none()
    if profile is None or profile.is_removed or not profile.can_view(user):
        raise NotFound(profile_id)
    return profile


def editable_profile(user, profile_id: int) -> ReviewerProfile:
    profile = profile_for(user, profile_id, for_update=True)
    if not profile.can_edit(user):
        raise NotFound(profile_id)
    return profile


def _check_profile(data: ProfileData) -> dict:
    name = _clean(data.name)
    if not name:
        raise ProfileError("Enter the reviewer's full name", "name")
    if len(name) > 200:
        raise ProfileError("Name must be 200 characters or fewer", "name")
    try:
        background = str(ProfessionalBackground(data.professional_background))
    except ValueError:
        raise ProfileError("Select a professional background", "professional_background") from None
    if not isinstance(data.years_experience, int) or not 0 <= data.years_experience <= 70:
        raise ProfileError("Years of experience must be a whole number from 0 to 70",
                           "years_experience")
    summary = (data.summary or "").strip()
    if not summary:
        raise ProfileError("Enter a summary of the reviewer's experience", "summary")
    if len(summary) > 3000:
        raise ProfileError("Summary must be 3,000 characters or fewer", "summary")
    counts = {}
    for review_type, column in REVIEW_COUNT_COLUMNS.items():
        value = data.review_counts.get(str(review_type), 0)
        if value is None:
            value = 0
        if not isinstance(value, int) or not 0 <= value <= 999:
            raise ProfileError("Number of reviews must be a whole number from 0 to 999", column)
        counts[column] = value
    if data.days_per_month is not None and not 0 <= data.days_per_month <= 31:
        raise ProfileError("Days per month must be a whole number from 0 to 31",
                           "days_per_month")
    if data.day_rate_pence is not None and not 0 <= data.day_rate_pence <= 10_000_00:
        raise ProfileError("Day rate must be between £0 and £10,000", "day_rate")
    regions = _check_regions(data.regions, "regions", "Select at least one region")
    return {
        "name": name,
        "professional_background": background,
        "years_experience": data.years_experience,
        "summary": summary,
        "available_from": data.available_from,
        "days_per_month": data.days_per_month,
        "is_unavailable": bool(data.is_unavailable),
        "day_rate_pence": data.day_rate_pence,
        **counts,
        "_regions": regions,
    }


def create_profile(user, data: ProfileData) -> ReviewerProfile:
    organisation = organisation_of(user)
    db.session.execute(
        select(Organisation.id).where(Organisation.id == organisation.id).with_for_update()
    )
    values = _check_profile(data)
    regions = values.pop("_regions")
    count = db.session.scalar(
        select(func.count(ReviewerProfile.id)).where(
            ReviewerProfile.organisation_id == organisation.id,
            ReviewerProfile.removed_at.is_(None),
        )
    )
    if count >= MAX_PROFILES_PER_ORGANISATION:
        raise ProfileError(
            f"An organisation can have up to {MAX_PROFILES_PER_ORGANISATION} reviewer "
            "profiles. Remove one before adding another.",
            "name",
        )
    profile = ReviewerProfile(organisation_id=organisation.id, **values)
    for region in regions:
        profile.region_links.append(ReviewerRegion(region=region))
    db.session.add(profile)
    db.session.flush()
    audit.record("reviewer.created", actor=user, obj=profile,
                 data={"organisation_id": organisation.id})
    return profile


def update_profile(user, profile_id: int, data: ProfileData) -> ReviewerProfile:
    profile = editable_profile(user, profile_id)
    values = _check_profile(data)
    regions = values.pop("_regions")
    changed = [name for name, value in values.items() if getattr(profile, name) != value]
    for name, value in values.items():
        setattr(profile, name, value)
    if set(profile.regions) != set(regions):
        changed.append("regions")
        _replace_regions(profile.region_links, regions, ReviewerRegion)
    if changed:
        profile.updated_at = utcnow()
    db.session.flush()
    audit.record("reviewer.updated", actor=user, obj=profile, data={"fields": sorted(changed)})
    return profile


def offered_tags(profile: ReviewerProfile | None = None) -> list[ExpertiseTag]:
    """Active tags, plus retired ones the profile already has (so saving keeps them)."""
    tags = list(
        db.session.scalars(
            select(ExpertiseTag).where(ExpertiseTag.retired_at.is_(None)).order_by(
                ExpertiseTag.name
            )
        )
    )
    if profile is not None:
        for tag in profile.expertise:
            if tag.is_retired:
                tags.append(tag)
    return sorted(tags, key=lambda t: t.name.lower())


def set_expertise(user, profile_id: int, tag_ids: Iterable[int]) -> ReviewerProfile:
    profile = editable_profile(user, profile_id)
    offered = {t.id: t for t in offered_tags(profile)}
    wanted = list(dict.fromkeys(tag_ids))
    if any(tag_id not in offered for tag_id in wanted):
        raise ProfileError("Select areas of expertise from the list", "tags")
    if len(wanted) > 30:
        raise ProfileError("Select up to 30 areas of expertise", "tags")
    before = {t.id for t in profile.expertise}
    profile.expertise = [offered[tag_id] for tag_id in wanted]
    profile.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "reviewer.expertise_updated",
        actor=user,
        obj=profile,
        data={"added": sorted(set(wanted) - before), "removed": sorted(before - set(wanted))},
    )
    return profile


def set_competences(user, profile_id: int, answers: dict[str, tuple[bool, str | None]]
                    ) -> ReviewerProfile:
    """answers: area -> (yes/no, example). Every area must be answered."""
    profile = editable_profile(user, profile_id)
    if set(answers) != {a.value for a in CompetenceArea}:
        raise ProfileError("Answer every question", "race")
    changed = []
    for area in CompetenceArea:
        has, example = answers[area.value]
        example = (example or "").strip() or None
        if has not in (True, False):
            raise ProfileError(f"Select yes or no for {area.value}", area.value)
        if has and not example:
            raise ProfileError(
                f"Give an example of analysing the impact of {area.value}",
                f"{area.value}_example",
            )
        if example and len(example) > 1500:
            raise ProfileError("Example must be 1,500 characters or fewer",
                               f"{area.value}_example")
        if not has:
            example = None
        current = profile.competence(area.value)
        if current is None:
            profile.competences.append(
                ReviewerCompetence(area=area.value, has_competence=has, example=example)
            )
            changed.append(area.value)
        elif (current.has_competence, current.example) != (has, example):
            current.has_competence, current.example = has, example
            changed.append(area.value)
    profile.updated_at = utcnow()
    db.session.flush()
    audit.record("reviewer.competences_updated", actor=user, obj=profile,
                 data={"areas": changed})
    return profile


@dataclass
class PublicationData:
    title: str
    url: str
    year: int | None
    review_type: str


def add_publication(user, profile_id: int, data: PublicationData) -> ReviewerPublication:
    profile = editable_profile(user, profile_id)
    title = _clean(data.title)
    if not title:
        raise ProfileError("Enter the title of the review", "title")
    if len(title) > 300:
        raise ProfileError("Title must be 300 characters or fewer", "title")
    try:
        url = normalise_https_url(data.url, max_length=500)
    except ValueError as error:
        raise ProfileError(str(error), "url") from None
    this_year = uk_today().year
    if not isinstance(data.year, int) or not 1950 <= data.year <= this_year:
        raise ProfileError(f"Year must be a year from 1950 to {this_year}", "year")
    try:
        review_type = str(ReviewType(data.review_type))
    except ValueError:
        raise ProfileError("Select the type of review", "review_type") from None
    if len(profile.publications) >= MAX_PUBLICATIONS_PER_PROFILE:
        raise ProfileError(
            f"A profile can list up to {MAX_PUBLICATIONS_PER_PROFILE} published reviews",
            "title",
        )
    publication = ReviewerPublication(title=title, url=url, year=data.year,
                                      review_type=review_type)
    profile.publications.append(publication)
    profile.updated_at = utcnow()
    db.session.flush()
    audit.record("reviewer.publication_added", actor=user, obj=profile,
                 data={"publication_id": publication.id})
    return publication


def remove_publication(user, profile_id: int, publication_id: int) -> None:
    profile = editable_profile(user, profile_id)
    publication = next((p for p in profile.publications if p.id == publication_id), None)
    if publication is None:
        raise NotFound(publication_id)
    profile.publications.remove(publication)
    profile.updated_at = utcnow()
    db.session.flush()
    audit.record("reviewer.publication_removed", actor=user, obj=profile,
                 data={"publication_id": publication_id})


def remove_profile(user, profile_id: int) -> ReviewerProfile:
    """Hide the profile for good: consent withdrawn and special-category data erased at
    once. The row stays because bids and applications may name the reviewer."""
    profile = editable_profile(user, profile_id)
    now = utcnow()
    consent = profile.active_consent
    if consent is not None:
        consent.withdrawn_at = now
        consent.withdrawn_by_id = user.id
    had_sensitive = profile.sensitive is not None
    profile.sensitive = None
    profile.dbs_current = False
    profile.removed_at = now
    db.session.flush()
    audit.record(
        "reviewer.removed",
        actor=user,
        obj=profile,
        data={"consent_withdrawn": consent is not None, "sensitive_erased": had_sensitive},
    )
    return profile


def attach_document(user, profile_id: int, slot: str, document) -> ReviewerProfile:
    """Point the CV or the sample of work at a stored Document (uploaded by the caller
    through the upload pipeline)."""
    profile = editable_profile(user, profile_id)
    if slot not in ("cv", "sample"):
        raise ProfileError("Choose which document this is", "slot")
    setattr(profile, f"{slot}_document_id", document.id)
    profile.updated_at = utcnow()
    db.session.flush()
    audit.record("reviewer.document_attached", actor=user, obj=profile,
                 data={"slot": slot, "document_id": document.id})
    return profile


def detach_document(user, profile_id: int, slot: str) -> ReviewerProfile:
    profile = editable_profile(user, profile_id)
    if slot not in ("cv", "sample"):
        raise NotFound(slot)
    if getattr(profile, f"{slot}_document_id") is None:
        raise NotFound(slot)
    setattr(profile, f"{slot}_document_id", None)
    profile.updated_at = utcnow()
    db.session.flush()
    audit.record("reviewer.document_removed", actor=user, obj=profile, data={"slot": slot})
    return profile


# --- Special-category and criminal-offence data ------------------------------------------


@dataclass
class SensitiveData:
    age_band: str | None = None
    sex: str | None = None
    gender_same_as_sex: str | None = None
    ethnicity: str | None = None
    religion: str | None = None
    sexual_orientation: str | None = None
    disability: str | None = None
    lived_experience: str | None = None
    lived_experience_detail: str | None = None
    dbs_type: str | None = None
    dbs_certificate_date: date | None = None
    dbs_update_service: bool | None = None


def sensitive_profile(user, profile_id: int, *, for_update: bool = False) -> ReviewerProfile:
    """The profile, if this person may see its special-category data. Someone who may not
    even see the profile gets NotFound; a colleague who may see the profile but not the
    data gets PermissionError (403)."""
    profile = profile_for(user, profile_id, for_update=for_update)
    if not profile.can_view_sensitive(user):
        if profile.can_edit(user):
            raise PermissionError(profile_id)
        raise NotFound(profile_id)
    return profile


def save_sensitive(user, profile_id: int, data: SensitiveData) -> ReviewerSensitiveData:
    profile = sensitive_profile(user, profile_id, for_update=True)
    values = {}
    for name, _question, choices in DIVERSITY_FIELDS:
        value = getattr(data, name) or None
        if value is not None and value not in {c for c, _ in choices}:
            raise ProfileError("Select an answer from the list", name)
        values[name] = value
    detail = (data.lived_experience_detail or "").strip() or None
    if detail and len(detail) > 2000:
        raise ProfileError("This must be 2,000 characters or fewer", "lived_experience_detail")
    if detail and values["lived_experience"] != "yes":
        detail = None
    values["lived_experience_detail"] = detail

    dbs_type = data.dbs_type or None
    if dbs_type is not None and dbs_type not in {c for c, _ in DBS_TYPES}:
        raise ProfileError("Select the type of DBS check", "dbs_type")
    today = uk_today()
    if dbs_type is None:
        if data.dbs_certificate_date is not None:
            raise ProfileError("Select the type of DBS check", "dbs_type")
        certificate_date, update_service = None, None
    else:
        certificate_date = data.dbs_certificate_date
        if certificate_date is None:
            raise ProfileError("Enter the date on the DBS certificate", "dbs_certificate_date")
        if certificate_date > today:
            raise ProfileError("Date on the DBS certificate must be today or in the past",
                               "dbs_certificate_date")
        if certificate_date.year < 2002:
            raise ProfileError("Date on the DBS certificate must be after 2002",
                               "dbs_certificate_date")
        if data.dbs_update_service not in (True, False):
            raise ProfileError("Select whether the check is on the DBS update service",
                               "dbs_update_service")
        update_service = data.dbs_update_service
    values.update(dbs_type=dbs_type, dbs_certificate_date=certificate_date,
                  dbs_update_service=update_service)

    row = profile.sensitive
    if row is None:
        row = ReviewerSensitiveData()
        profile.sensitive = row
        changed = [name for name, value in values.items() if value is not None]
    else:
        changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name, value in values.items():
        setattr(row, name, value)
    profile.dbs_current = dbs_is_current(dbs_type, certificate_date, update_service, today)
    db.session.flush()
    # Field names only: never the answers.
    audit.record("reviewer.sensitive_updated", actor=user, obj=profile,
                 data={"fields": sorted(changed)})
    return row


def erase_sensitive(user, profile_id: int) -> None:
    profile = sensitive_profile(user, profile_id, for_update=True)
    if profile.sensitive is None:
        return
    profile.sensitive = None
    profile.dbs_current = False
    db.session.flush()
    audit.record("reviewer.sensitive_erased", actor=user, obj=profile, data={})


def refresh_dbs_current(today: date | None = None) -> int:
    """Recompute `dbs_current` for every profile (certificates age past three years).
    Returns how many changed. For a daily CLI run; the caller commits."""
    today = today or uk_today()
    changed = 0
    rows = db.session.execute(
        select(ReviewerProfile, ReviewerSensitiveData).outerjoin(
            ReviewerSensitiveData,
            ReviewerSensitiveData.reviewer_id == ReviewerProfile.id,
        )
    )
    for profile, row in rows:
        current = bool(row) and dbs_is_current(
            row.dbs_type, row.dbs_certificate_date, row.dbs_update_service, today
        )
        if profile.dbs_current != current:
            profile.dbs_current = current
            changed += 1
    db.session.flush()
    if changed:
        audit.record("reviewer.dbs_current_refreshed", data={"changed": changed})
    return changed


# --- Directory consent -------------------------------------------------------------------


def give_consent(user, profile_id: int, text_version: str) -> DirectoryConsent:
    profile = editable_profile(user, profile_id)
    if text_version != CONSENT_TEXT_VERSION:
        # The page changed while it was open: ask again with the current wording.
        raise ProfileError("The consent wording has changed. Read it again and confirm.",
                           "consent")
    if profile.active_consent is not None:
        return profile.active_consent
    consent = DirectoryConsent(text_version=text_version, given_at=utcnow(),
                               given_by_id=user.id)
    profile.consents.append(consent)
    db.session.flush()
    audit.record("reviewer.directory_consent_given", actor=user, obj=profile,
                 data={"text_version": text_version, "consent_id": consent.id})
    return consent


def withdraw_consent(user, profile_id: int) -> DirectoryConsent | None:
    profile = editable_profile(user, profile_id)
    consent = profile.active_consent
    if consent is None:
        return None
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by_id = user.id
    db.session.flush()
    audit.record("reviewer.directory_consent_withdrawn", actor=user, obj=profile,
                 data={"consent_id": consent.id})
    return consent


# --- Expertise tags (admin) --------------------------------------------------------------


def _require_admin(user) -> None:
    if user is None or not user.is_admin:
        raise PermissionError("admins only")


def all_tags() -> list[ExpertiseTag]:
    return list(db.session.scalars(select(ExpertiseTag).order_by(func.lower(ExpertiseTag.name))))


def _check_tag_name(name: str | None, exclude_id: int | None = None) -> str:
    name = re.sub(r"\s+", " ", (name or "").strip())
    if not name:
        raise ProfileError("Enter the name of the area of expertise", "name")
    if len(name) > 80:
        raise ProfileError("Name must be 80 characters or fewer", "name")
    clash = db.session.scalar(
        select(ExpertiseTag).where(func.lower(ExpertiseTag.name) == name.lower())
    )
    if clash is not None and clash.id != exclude_id:
        raise ProfileError("An area of expertise with this name already exists", "name")
    return name


def tag_by_id(tag_id: int) -> ExpertiseTag:
    tag = db.session.get(ExpertiseTag, tag_id)
    if tag is None:
        raise NotFound(tag_id)
    return tag


def create_tag(user, name: str) -> ExpertiseTag:
    _require_admin(user)
    tag = ExpertiseTag(name=_check_tag_name(name))
    db.session.add(tag)
    db.session.flush()
    audit.record("expertise_tag.created", actor=user, obj=tag, data={"name": tag.name})
    return tag


def rename_tag(user, tag_id: int, name: str) -> ExpertiseTag:
    _require_admin(user)
    tag = tag_by_id(tag_id)
    new_name = _check_tag_name(name, exclude_id=tag.id)
    old_name = tag.name
    tag.name = new_name
    db.session.flush()
    audit.record("expertise_tag.renamed", actor=user, obj=tag,
                 data={"from": old_name, "to": new_name})
    return tag


def retire_tag(user, tag_id: int) -> ExpertiseTag:
    _require_admin(user)
    tag = tag_by_id(tag_id)
    if tag.retired_at is None:
        tag.retired_at = utcnow()
        db.session.flush()
        audit.record("expertise_tag.retired", actor=user, obj=tag, data={"name": tag.name})
    return tag


def restore_tag(user, tag_id: int) -> ExpertiseTag:
    _require_admin(user)
    tag = tag_by_id(tag_id)
    if tag.retired_at is not None:
        tag.retired_at = None
        db.session.flush()
        audit.record("expertise_tag.restored", actor=user, obj=tag, data={"name": tag.name})
    return tag


def tag_usage() -> dict[int, int]:
    """tag id -> number of active profiles with it."""
    from portal.models.profiles import reviewer_expertise

    rows = db.session.execute(
        select(reviewer_expertise.c.tag_id, func.count())
        .join(ReviewerProfile, ReviewerProfile.id == reviewer_expertise.c.reviewer_id)
        .where(ReviewerProfile.removed_at.is_(None))
        .group_by(reviewer_expertise.c.tag_id)
    )
    return {tag_id: count for tag_id, count in rows}


# --- Aggregates for admins ---------------------------------------------------------------


@dataclass
class ReportRow:
    label: str
    count: int | None  # None: suppressed


@dataclass
class ReportQuestion:
    name: str
    question: str
    rows: list[ReportRow]


@dataclass
class DiversityReport:
    profiles: int
    respondents: int | None  # None: suppressed
    questions: list[ReportQuestion]
    dbs_current: int | None


def _suppress(count: int) -> int | None:
    return None if count < SMALL_NUMBER else count


def diversity_report(user) -> DiversityReport:
    """Counts across every active profile, with counts under 5 suppressed, and a second
    cell suppressed where one alone would let the first be worked out from the total."""
    _require_admin(user)
    active = ReviewerProfile.removed_at.is_(None)
    profiles = db.session.scalar(select(func.count(ReviewerProfile.id)).where(active)) or 0
    respondents = db.session.scalar(
        select(func.count(ReviewerSensitiveData.reviewer_id))
        .join(ReviewerProfile, ReviewerProfile.id == ReviewerSensitiveData.reviewer_id)
        .where(active)
    ) or 0
    dbs_current = db.session.scalar(
        select(func.count(ReviewerProfile.id)).where(active, ReviewerProfile.dbs_current)
    ) or 0
    questions = []
    for name, question, choices in DIVERSITY_FIELDS:
        column = getattr(ReviewerSensitiveData, name)
        counts = dict(
            db.session.execute(
                select(column, func.count())
                .join(ReviewerProfile, ReviewerProfile.id == ReviewerSensitiveData.reviewer_id)
                .where(active)
                .group_by(column)
            ).all()
        )
        raw = [(label, counts.get(code, 0)) for code, label in choices]
        raw.append(("Not answered", counts.get(None, 0)))
        shown = [_suppress(c) for _, c in raw] if respondents >= SMALL_NUMBER else [None] * len(raw)
        hidden = [i for i, v in enumerate(shown) if v is None]
        if len(hidden) == 1:
            # Hide the next smallest too, so the total does not give the hidden one away.
            visible = sorted((c, i) for i, (_, c) in enumerate(raw) if shown[i] is not None)
            if visible:
                shown[visible[0][1]] = None
        questions.append(
            ReportQuestion(
                name=name,
                question=question,
                rows=[ReportRow(label, shown[i]) for i, (label, _) in enumerate(raw)],
            )
        )
    return DiversityReport(
        profiles=profiles,
        respondents=_suppress(respondents),
        questions=questions,
        dbs_current=_suppress(dbs_current),
    )
