"""The partnership directory: searching, profile pages, shortlists and their CSV export.

The page and the JSON API both build their output from `reviewer_card()` and
`reviewer_detail()`, so the API never returns more than the page shows. Nothing here
reads ReviewerSensitiveData: DBS status is the derived `dbs_current` flag only.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.extensions import db
from portal.models.base import utcnow
from portal.models.categories import ServiceCategory
from portal.models.directory import Shortlist, ShortlistEntry, can_search_directory
from portal.models.profiles import (
    COMPETENCE_AREA_LABELS,
    PROFESSIONAL_BACKGROUND_LABELS,
    REGION_CODES,
    REGION_LABELS,
    REVIEW_TYPE_LABELS,
    CompetenceArea,
    ExpertiseTag,
    ProfessionalBackground,
    ReviewerProfile,
    ReviewType,
)
from portal.search import SearchParams, SearchResult, eligible_profile_ids, is_listed, search
from portal.search.engines import FIELD_LABELS
from portal.search.query import DEFAULT_PER_PAGE, PER_PAGE_CHOICES

# Short labels for review types (the profile labels are long).
REVIEW_TYPE_SHORT = {
    ReviewType.NATIONAL: ("national review", "national reviews"),
    ReviewType.LCSPR: ("LCSPR", "LCSPRs"),
    ReviewType.SERIOUS_CASE: ("serious case review", "serious case reviews"),
    ReviewType.RAPID: ("rapid review", "rapid reviews"),
    ReviewType.THEMATIC: ("thematic review", "thematic reviews"),
    ReviewType.LITERATURE: ("literature review", "literature reviews"),
}
MAX_MIN_REVIEWS = 200


class NotFound(Exception):
    pass


class DirectoryError(Exception):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _require_searcher(user) -> None:
    if not can_search_directory(user):
        raise NotFound()


def _require_partnership(user) -> None:
    if not (getattr(user, "is_authenticated", False) and user.is_approved_partnership_member):
        raise NotFound()


def reviews_phrase(review_type: str, count: int) -> str:
    singular, plural = REVIEW_TYPE_SHORT[ReviewType(review_type)]
    return f"{count} {singular if count == 1 else plural}"


def pounds(pence: int | None) -> str | None:
    if pence is None:
        return None
    pounds_, rest = divmod(pence, 100)
    return f"£{pounds_:,}" + (f".{rest:02d}" if rest else "")


# --- parsing the search ----------------------------------------------------------------------


@dataclass
class ParsedSearch:
    params: SearchParams
    errors: dict[str, str]
    # what was typed into the date fields, to show back
    available_parts: dict[str, str]


def category_choices() -> list[tuple[int, str]]:
    return [(c.number, c.name) for c in db.session.scalars(
        select(ServiceCategory).order_by(ServiceCategory.number))]


def _ints(values: list[str]) -> list[int] | None:
    out = []
    for value in values:
        value = value.strip()
        if not value.isdigit() or len(value) > 9:
            return None
        out.append(int(value))
    return list(dict.fromkeys(out))


def parse_search(args) -> ParsedSearch:
    """Turn query-string arguments (a MultiDict) into SearchParams, with a message per
    field that cannot be understood. Free text is never an error."""
    errors: dict[str, str] = {}
    params = SearchParams(text=(args.get("q") or "")[:2000])

    categories = _ints(args.getlist("category"))
    if categories is None or any(not 1 <= c <= 99 for c in categories):
        errors["category"] = "Select service categories from the list"
    else:
        params.categories = categories

    expertise = _ints(args.getlist("expertise"))
    if expertise is None:
        errors["expertise"] = "Select areas of expertise from the list"
    else:
        params.expertise = expertise
    mode = args.get("expertise_mode") or "any"
    if mode not in ("any", "all"):
        errors["expertise_mode"] = "Select whether reviewers need any or all of the expertise"
    else:
        params.expertise_mode = mode

    regions = list(dict.fromkeys(args.getlist("region")))
    if any(r not in REGION_CODES for r in regions):
        errors["region"] = "Select regions from the list"
    else:
        params.regions = regions

    review_type = args.get("review_type") or None
    min_reviews = (args.get("min_reviews") or "").strip()
    if review_type and review_type not in [t.value for t in ReviewType]:
        errors["review_type"] = "Select a type of review from the list"
    else:
        params.review_type = review_type
    if min_reviews:
        if not min_reviews.isdigit() or not 0 <= int(min_reviews) <= MAX_MIN_REVIEWS:
            errors["min_reviews"] = (
                f"Minimum number of reviews must be a whole number between 0 and "
                f"{MAX_MIN_REVIEWS}"
            )
        elif not review_type:
            errors["review_type"] = "Select the type of review the minimum is for"
        else:
            params.min_reviews = int(min_reviews)

    competences = list(dict.fromkeys(args.getlist("competence")))
    if any(c not in [a.value for a in CompetenceArea] for c in competences):
        errors["competence"] = "Select areas of analysis from the list"
    else:
        params.competences = competences

    backgrounds = list(dict.fromkeys(args.getlist("background")))
    if any(b not in [p.value for p in ProfessionalBackground] for b in backgrounds):
        errors["background"] = "Select professional backgrounds from the list"
    else:
        params.backgrounds = backgrounds

    parts = {k: (args.get(f"available_from-{k}") or "").strip() for k in ("day", "month", "year")}
    iso = (args.get("available_from") or "").strip()
    if iso:
        try:
            params.available_from = date.fromisoformat(iso)
        except ValueError:
            errors["available_from"] = "Available from must be a real date, like 2026-03-27"
    elif any(parts.values()):
        if not all(parts.values()):
            missing = [k for k in ("day", "month", "year") if not parts[k]]
            errors["available_from"] = f"Available from must include a {missing[0]}"
        else:
            try:
                params.available_from = date(int(parts["year"]), int(parts["month"]),
                                             int(parts["day"]))
                if params.available_from.year < 2000:
                    raise ValueError
            except ValueError:
                errors["available_from"] = "Available from must be a real date"

    params.dbs_current = (args.get("dbs") or "") in ("current", "yes", "true", "1")

    page = (args.get("page") or "1").strip()
    if not page.isdigit() or not 1 <= int(page) <= 10_000:
        errors["page"] = "Page must be a whole number from 1"
    else:
        params.page = int(page)
    per_page = (args.get("per_page") or str(DEFAULT_PER_PAGE)).strip()
    if not per_page.isdigit() or int(per_page) not in PER_PAGE_CHOICES:
        errors["per_page"] = "Results per page must be 10, 20 or 50"
    else:
        params.per_page = int(per_page)
    return ParsedSearch(params, errors, parts)


def search_reviewers(user, params: SearchParams) -> SearchResult:
    _require_searcher(user)
    return search(params)


# --- what the page and the API show ----------------------------------------------------------


def availability(profile: ReviewerProfile, today: date | None = None) -> dict:
    today = today or utcnow().date()
    if profile.is_unavailable:
        text = "Not taking on new work"
    elif profile.available_from and profile.available_from > today:
        text = f"Available from {profile.available_from.strftime('%-d %B %Y')}"
    else:
        text = "Available now"
    return {
        "unavailable": bool(profile.is_unavailable),
        "available_from": profile.available_from.isoformat() if profile.available_from else None,
        "days_per_month": profile.days_per_month,
        "text": text,
    }


def _reviews(profile: ReviewerProfile) -> list[dict]:
    return [
        {"type": t.value, "label": REVIEW_TYPE_LABELS[t], "count": profile.reviews_of(t),
         "text": reviews_phrase(t, profile.reviews_of(t))}
        for t in ReviewType
    ]


def why_matched(hit, params: SearchParams, tags: dict[int, str]) -> list[str]:
    """Plain-English reasons a reviewer is in the results, in ranking order."""
    profile = hit.profile
    reasons = []
    for word, weight in hit.matched:
        reasons.append(f"\u201c{word}\u201d matches their {FIELD_LABELS[weight]}")
    if params.expertise:
        have = [t.name for t in profile.expertise if t.id in params.expertise]
        if have:
            reasons.append("Expertise in " + ", ".join(have))
    if params.regions:
        covered = [REGION_LABELS[r] for r in profile.regions if r in params.regions]
        if covered:
            reasons.append("Works in " + ", ".join(covered))
    if params.review_type:
        count = profile.reviews_of(params.review_type)
        reason = f"Has authored {reviews_phrase(params.review_type, count)}"
        if params.min_reviews:
            reason += f" (you asked for at least {params.min_reviews})"
        reasons.append(reason)
    if params.competences:
        reasons.append("Can analyse the impact of " + ", ".join(
            COMPETENCE_AREA_LABELS[CompetenceArea(a)].lower() for a in params.competences))
    if params.backgrounds:
        background = PROFESSIONAL_BACKGROUND_LABELS[profile.professional_background]
        reasons.append(f"Background in {background.lower()}")
    if params.categories:
        admitted = [str(n) for n in hit.categories if n in params.categories]
        if admitted:
            reasons.append("Admitted to service category " + ", ".join(admitted))
    if params.available_from:
        reasons.append(availability(profile)["text"])
    if params.dbs_current:
        reasons.append("DBS check current")
    reasons.append(
        f"Experience: {profile.reviews_total} reviews authored, "
        f"{profile.years_experience} years in safeguarding"
    )
    return reasons


def reviewer_card(profile: ReviewerProfile, categories: list[int]) -> dict:
    """One result: exactly what the results page shows (and the API returns)."""
    return {
        "id": profile.id,
        "name": profile.name,
        "organisation": profile.organisation.display_name,
        "professional_background": PROFESSIONAL_BACKGROUND_LABELS[
            profile.professional_background],
        "years_experience": profile.years_experience,
        "reviews_total": profile.reviews_total,
        "reviews": [r for r in _reviews(profile) if r["count"]],
        "expertise": [t.name for t in profile.expertise],
        "regions": [REGION_LABELS[r] for r in profile.regions],
        "categories": categories,
        "availability": availability(profile),
        "day_rate": pounds(profile.day_rate_pence),
        "dbs_current": bool(profile.dbs_current),
    }


def search_page_data(result: SearchResult) -> list[dict]:
    tags = {}
    cards = []
    for hit in result.hits:
        card = reviewer_card(hit.profile, hit.categories)
        card["why"] = why_matched(hit, result.params, tags)
        cards.append(card)
    return cards


def listed_profile(user, profile_id: int) -> ReviewerProfile:
    """A profile the directory shows right now (else NotFound)."""
    _require_searcher(user)
    profile = db.session.get(ReviewerProfile, profile_id)
    if profile is None or not is_listed(profile.id):
        raise NotFound()
    return profile


def admitted_categories(profile: ReviewerProfile) -> list[int]:
    from portal.models.pool import PoolMembership

    now = utcnow()
    return list(db.session.scalars(
        select(ServiceCategory.number)
        .join(PoolMembership, PoolMembership.category_id == ServiceCategory.id)
        .where(PoolMembership.organisation_id == profile.organisation_id,
               PoolMembership.status == "active", PoolMembership.expires_at > now)
        .order_by(ServiceCategory.number).distinct()
    ))


def track_record(profile: ReviewerProfile) -> list[dict]:
    """Commissions awarded through this portal (award confirmed: the contract) to a bid
    that named this reviewer in its team: titles and dates only, newest first. Empty
    when the award tables are not installed."""
    try:
        from portal.models.award import Award, AwardStatus
        from portal.models.bids import Bid, BidTeamMember
        from portal.models.commissions import Commission
    except ImportError:
        return []
    rows = db.session.execute(
        select(Commission.title, Award.confirmed_at, Commission.completed_at)
        .join(Award, Award.commission_id == Commission.id)
        .join(Bid, Bid.id == Award.bid_id)
        .join(BidTeamMember, BidTeamMember.bid_id == Bid.id)
        .where(BidTeamMember.profile_id == profile.id,
               Award.status == AwardStatus.CONFIRMED, Award.confirmed_at.is_not(None))
        .order_by(Award.confirmed_at.desc())
        .distinct()
    ).all()
    return [
        {"title": title,
         "awarded_on": awarded.date().isoformat() if awarded else None,
         "completed_on": completed.date().isoformat() if completed else None}
        for title, awarded, completed in rows
    ]


def reviewer_detail(profile: ReviewerProfile) -> dict:
    """The profile page: exactly what it shows (and the API returns)."""
    data = reviewer_card(profile, admitted_categories(profile))
    data.update({
        "summary": profile.summary,
        "reviews": _reviews(profile),
        "competences": [
            {"area": COMPETENCE_AREA_LABELS[CompetenceArea(c.area)], "example": c.example}
            for c in profile.competences if c.has_competence
        ],
        "publications": [
            {"title": p.title, "url": p.url, "year": p.year,
             "type": REVIEW_TYPE_LABELS[ReviewType(p.review_type)]}
            for p in profile.publications
        ],
        "track_record": track_record(profile),
    })
    return data


def expertise_tags() -> list[ExpertiseTag]:
    return list(db.session.scalars(select(ExpertiseTag).order_by(ExpertiseTag.name)))


# --- shortlists ------------------------------------------------------------------------------

SHORTLIST_NAME_MAX = 100


def shortlists_of(user) -> list[Shortlist]:
    _require_partnership(user)
    return list(db.session.scalars(
        select(Shortlist).where(Shortlist.owner_id == user.id).order_by(Shortlist.name)
    ))


def shortlist_for(user, shortlist_id: int) -> Shortlist:
    _require_partnership(user)
    shortlist = db.session.get(Shortlist, shortlist_id)
    if shortlist is None or not shortlist.can_view(user):
        raise NotFound()
    return shortlist


def _check_name(user, name: str | None, exclude_id: int | None = None) -> str:
    name = re.sub(r"\s+", " ", (name or "")).strip()
    if not name:
        raise DirectoryError("Enter a name for the shortlist", "name")
    if len(name) > SHORTLIST_NAME_MAX:
        raise DirectoryError(
            f"Shortlist name must be {SHORTLIST_NAME_MAX} characters or fewer", "name")
    clash = db.session.scalar(
        select(Shortlist.id).where(Shortlist.owner_id == user.id,
                                   func.lower(Shortlist.name) == name.lower())
    )
    if clash is not None and clash != exclude_id:
        raise DirectoryError("You already have a shortlist with that name", "name")
    return name


def create_shortlist(user, name: str | None) -> Shortlist:
    _require_partnership(user)
    shortlist = Shortlist(owner_id=user.id, partnership_id=user.partnership_id,
                          name=_check_name(user, name))
    db.session.add(shortlist)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise DirectoryError("You already have a shortlist with that name", "name") from None
    audit.record("directory.shortlist_created", actor=user, obj=shortlist,
                 data={"name": shortlist.name})
    return shortlist


def add_to_shortlist(user, reviewer_id: int, shortlist_id: int | None = None,
                     new_name: str | None = None) -> tuple[Shortlist, bool]:
    """Save a listed reviewer to one of the user's shortlists, or to a new one. Returns
    (shortlist, added); adding twice is harmless."""
    profile = listed_profile(user, reviewer_id)
    _require_partnership(user)
    if shortlist_id:
        shortlist = shortlist_for(user, shortlist_id)
    elif new_name is not None and new_name.strip():
        # A name the user already has means that shortlist.
        existing = db.session.scalar(select(Shortlist).where(
            Shortlist.owner_id == user.id,
            func.lower(Shortlist.name) == re.sub(r"\s+", " ", new_name).strip().lower()))
        shortlist = existing or create_shortlist(user, new_name)
    else:
        raise DirectoryError("Choose a shortlist, or enter a name for a new one", "shortlist")
    if any(e.reviewer_id == profile.id for e in shortlist.entries):
        return shortlist, False
    shortlist.entries.append(ShortlistEntry(reviewer_id=profile.id))
    shortlist.updated_at = utcnow()
    db.session.flush()
    audit.record("directory.shortlist_reviewer_added", actor=user, obj=shortlist,
                 data={"reviewer_id": profile.id})
    return shortlist, True


def remove_from_shortlist(user, shortlist_id: int, reviewer_id: int) -> Shortlist:
    shortlist = shortlist_for(user, shortlist_id)
    entry = next((e for e in shortlist.entries if e.reviewer_id == reviewer_id), None)
    if entry is None:
        raise NotFound()
    shortlist.entries.remove(entry)
    shortlist.updated_at = utcnow()
    db.session.flush()
    audit.record("directory.shortlist_reviewer_removed", actor=user, obj=shortlist,
                 data={"reviewer_id": reviewer_id})
    return shortlist


def delete_shortlist(user, shortlist_id: int) -> str:
    shortlist = shortlist_for(user, shortlist_id)
    name = shortlist.name
    audit.record("directory.shortlist_deleted", actor=user, obj=shortlist, data={"name": name})
    db.session.delete(shortlist)
    db.session.flush()
    return name


@dataclass
class ShortlistView:
    shortlist: Shortlist
    cards: list[dict]
    hidden: int  # reviewers saved here who are no longer in the directory


def shortlist_view(user, shortlist_id: int) -> ShortlistView:
    """The shortlist as the directory shows it now: reviewers who withdrew consent or
    lost their membership are left out (only counted)."""
    shortlist = shortlist_for(user, shortlist_id)
    listed = eligible_profile_ids([e.reviewer_id for e in shortlist.entries])
    cards = []
    for entry in shortlist.entries:
        if entry.reviewer_id in listed:
            cards.append(reviewer_card(entry.reviewer, admitted_categories(entry.reviewer)))
    return ShortlistView(shortlist, cards, len(shortlist.entries) - len(cards))


def _plural_heading(review_type: ReviewType) -> str:
    plural = REVIEW_TYPE_SHORT[review_type][1]
    return plural[0].upper() + plural[1:]


def _count_of(review_type: str):
    def get(card: dict) -> int:
        return next((r["count"] for r in card["reviews"] if r["type"] == review_type), 0)

    return get


CSV_COLUMNS = [
    ("Name", lambda c: c["name"]),
    ("Organisation", lambda c: c["organisation"]),
    ("Professional background", lambda c: c["professional_background"]),
    ("Years of experience", lambda c: c["years_experience"]),
    ("Reviews authored", lambda c: c["reviews_total"]),
    *[(_plural_heading(t), _count_of(t.value)) for t in ReviewType],
    ("Expertise", lambda c: "; ".join(c["expertise"])),
    ("Regions", lambda c: "; ".join(c["regions"])),
    ("Service categories", lambda c: "; ".join(str(n) for n in c["categories"])),
    ("Availability", lambda c: c["availability"]["text"]),
    ("Day rate", lambda c: c["day_rate"] or ""),
    ("DBS check current", lambda c: "Yes" if c["dbs_current"] else "No"),
    ("Profile", lambda c: c["url"]),
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def csv_safe(value) -> str:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading
    apostrophe (OWASP CSV injection)."""
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return text
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def export_shortlist_csv(user, shortlist_id: int, profile_url) -> tuple[str, str]:
    """(file name, CSV text) of the reviewers on a shortlist that the directory still
    shows. `profile_url(id)` gives each reviewer's link."""
    view = shortlist_view(user, shortlist_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _ in CSV_COLUMNS])
    for card in view.cards:
        card = {**card, "url": profile_url(card["id"])}
        writer.writerow([csv_safe(get(card)) for _, get in CSV_COLUMNS])
    slug = re.sub(r"[^a-z0-9]+", "-", view.shortlist.name.lower()).strip("-") or "shortlist"
    return f"shortlist-{slug[:40]}.csv", out.getvalue()
