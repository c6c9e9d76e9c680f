"""The directory search: filters, ranking, facets and pages, for either engine.

A search makes a fixed number of SQL queries whatever the page size: one for the page of
ids (with the total, as a window count), one for the facet counts (a UNION ALL), and the
loads of the page's profiles and their related rows (IN queries, one per relationship).

Who can appear is decided here, at query time, by `eligibility()`: a profile that is not
removed, has an active directory consent, and whose organisation holds at least one
active, unexpired pool membership.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import String, and_, case, cast, func, literal, select, union_all
from sqlalchemy.orm import aliased, joinedload, selectinload

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.categories import ServiceCategory
from portal.models.directory import DirectorySearchDocument
from portal.models.pool import PoolMembership
from portal.models.profiles import (
    REVIEW_COUNT_COLUMNS,
    DirectoryConsent,
    ExpertiseTag,
    ReviewerCompetence,
    ReviewerProfile,
    ReviewerRegion,
    ReviewType,
    reviewer_expertise,
)
from portal.search.engines import engine_for
from portal.search.tokens import ParsedQuery, parse_query

PER_PAGE_CHOICES = (10, 20, 50)
DEFAULT_PER_PAGE = 20
# The facets, named as the search parameters they count: for each, value -> how many
# reviewers choosing it would leave (values leaving none are left out). review_type and
# available_from also count "any" (that filter not used):
# - review_type: per review type, the reviewers with at least the chosen minimum number of
#   reviews of that type (at least 1 when no minimum is chosen);
# - available_from: the reviewers available by the date entered (keyed by its ISO date;
#   only when a date is entered), and "any", the reviewers whatever their availability.
FACET_DIMENSIONS = ("category", "expertise", "region", "review_type", "competence",
                    "background", "available_from", "dbs")
ANY = "any"
REVIEW_TYPE_ORDER = tuple(ReviewType)


@dataclass
class SearchParams:
    text: str = ""
    categories: list[int] = field(default_factory=list)  # service category numbers
    expertise: list[int] = field(default_factory=list)  # expertise tag ids
    expertise_mode: str = "any"  # "any" or "all"
    regions: list[str] = field(default_factory=list)
    review_type: str | None = None
    min_reviews: int | None = None
    competences: list[str] = field(default_factory=list)  # all of them
    backgrounds: list[str] = field(default_factory=list)
    available_from: date | None = None
    dbs_current: bool = False
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


@dataclass
class FacetValue:
    value: str
    count: int


@dataclass
class Hit:
    profile: ReviewerProfile
    relevance: int
    # (word as shown, field weight) for each word of the free text
    matched: list[tuple[str, int]]
    categories: list[int]


@dataclass
class SearchResult:
    params: SearchParams
    query: ParsedQuery
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]]
    engine: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.params.per_page))

    @property
    def first(self) -> int:
        return 0 if not self.hits else (self.params.page - 1) * self.params.per_page + 1

    @property
    def last(self) -> int:
        return 0 if not self.hits else self.first + len(self.hits) - 1


# --- who may appear ---------------------------------------------------------------------------


# Filters are uncorrelated IN subqueries over aliases: each is evaluated once per query
# (SQLite builds an ephemeral index, PostgreSQL a hashed semi-join) instead of once per
# reviewer, and they never correlate with the tables the facet queries join.


def _in(column, subquery):
    return column.in_(subquery.correlate(None))


def _active_membership(now: datetime, categories: list[int] | None = None):
    pm = aliased(PoolMembership)
    conditions = [pm.status == "active", pm.expires_at > now]
    if categories:
        sc = aliased(ServiceCategory)
        conditions.append(pm.category_id.in_(
            select(sc.id).where(sc.number.in_(categories)).correlate(None)))
    return _in(ReviewerProfile.organisation_id, select(pm.organisation_id).where(*conditions))


def eligibility(now: datetime) -> list:
    consent = aliased(DirectoryConsent)
    return [
        ReviewerProfile.removed_at.is_(None),
        _in(ReviewerProfile.id,
            select(consent.reviewer_id).where(consent.withdrawn_at.is_(None))),
        _active_membership(now),
    ]


def eligible_profile_ids(ids, now: datetime | None = None) -> set[int]:
    """Which of these profiles the directory may show right now."""
    ids = list(ids)
    if not ids:
        return set()
    now = now or utcnow()
    return set(db.session.scalars(
        select(ReviewerProfile.id).where(ReviewerProfile.id.in_(ids), *eligibility(now))
    ))


def is_listed(profile_id: int, now: datetime | None = None) -> bool:
    return profile_id in eligible_profile_ids([profile_id], now)


# --- filters ------------------------------------------------------------------------------------


def _experience_column(params: SearchParams):
    if params.review_type:
        return getattr(ReviewerProfile, REVIEW_COUNT_COLUMNS[ReviewType(params.review_type)])
    total = None
    for column_name in REVIEW_COUNT_COLUMNS.values():
        col = getattr(ReviewerProfile, column_name)
        total = col if total is None else total + col
    return total


def _available_by(when: date):
    rp = ReviewerProfile
    return and_(
        rp.is_unavailable.is_(False),
        (rp.available_from.is_(None)) | (rp.available_from <= when),
    )


def _filters(params: SearchParams, now: datetime) -> list[tuple[str, object]]:
    """(dimension, condition) pairs; the dimension names the facet a condition belongs to."""
    rp = ReviewerProfile
    out: list[tuple[str, object]] = []
    if params.categories:
        out.append(("category", _active_membership(now, params.categories)))
    if params.expertise:
        if params.expertise_mode == "all":
            for tag_id in params.expertise:
                link = reviewer_expertise.alias()
                out.append(("expertise", _in(
                    rp.id, select(link.c.reviewer_id).where(link.c.tag_id == tag_id))))
        else:
            link = reviewer_expertise.alias()
            out.append(("expertise", _in(
                rp.id, select(link.c.reviewer_id).where(link.c.tag_id.in_(params.expertise)))))
    if params.regions:
        region = aliased(ReviewerRegion)
        out.append(("region", _in(
            rp.id, select(region.reviewer_id).where(region.region.in_(params.regions)))))
    if params.review_type and params.min_reviews:
        column = getattr(rp, REVIEW_COUNT_COLUMNS[ReviewType(params.review_type)])
        out.append(("review_type", column >= params.min_reviews))
    for area in params.competences:
        competence = aliased(ReviewerCompetence)
        out.append(("competence", _in(rp.id, select(competence.reviewer_id).where(
            competence.area == area, competence.has_competence.is_(True)))))
    if params.backgrounds:
        out.append(("background", rp.professional_background.in_(params.backgrounds)))
    if params.available_from:
        out.append(("available_from", _available_by(params.available_from)))
    if params.dbs_current:
        out.append(("dbs", rp.dbs_current.is_(True)))
    return out


# Dimensions whose values narrow each other (ticking one more leaves fewer): their facet
# counts keep their own filter. The others are "any of": counted without their own filter.
def _conjunctive(dimension: str, params: SearchParams) -> bool:
    return dimension == "competence" or (
        dimension == "expertise" and params.expertise_mode == "all"
    )


# --- the search -----------------------------------------------------------------------------------


def search(params: SearchParams, now: datetime | None = None) -> SearchResult:
    now = now or utcnow()
    session = db.session
    engine = engine_for(session.get_bind().dialect.name)
    query = parse_query(params.text)
    tokens = query.tokens
    doc = DirectorySearchDocument.__table__
    rp = ReviewerProfile

    base = eligibility(now)
    filters = _filters(params, now)
    text_match = None
    if tokens:
        text_match = rp.id.in_(select(doc.c.reviewer_id).where(engine.matches(tokens)))

    # 1. The page of ids, with relevance, the per-word weights and the total.
    experience = _experience_column(params)
    if tokens:
        weights = [engine.field_weight(t, i) for i, t in enumerate(tokens)]
        relevance = weights[0]
        for w in weights[1:]:
            relevance = relevance + w
        stmt = (
            select(rp.id, relevance.label("relevance"), *[w.label(f"w{i}") for i, w in
                                                            enumerate(weights)],
                   func.count().over().label("total"))
            .join(doc, doc.c.reviewer_id == rp.id)
            .where(*base, *(c for _, c in filters), engine.matches(tokens))
        )
    else:
        relevance = literal(0)
        stmt = select(rp.id, relevance.label("relevance"), func.count().over().label("total"))
        stmt = stmt.where(*base, *(c for _, c in filters))
    stmt = stmt.order_by(
        relevance.desc(), experience.desc(), rp.years_experience.desc(), rp.id.asc()
    ).limit(params.per_page).offset((params.page - 1) * params.per_page)
    rows = session.execute(stmt).all()
    total = rows[0].total if rows else 0
    if not rows and params.page > 1:
        # Past the last page: still say how many there are.
        count = select(func.count()).select_from(rp).where(
            *base, *(c for _, c in filters), *([text_match] if text_match is not None else [])
        )
        total = session.scalar(count) or 0

    # 2. Facet counts, one UNION ALL.
    facets = _facets(params, now, base, filters, text_match)

    # 3. The page's profiles and their related rows.
    hits: list[Hit] = []
    if rows:
        ids = [r.id for r in rows]
        profiles = {
            p.id: p
            for p in session.scalars(
                select(rp).where(rp.id.in_(ids)).options(
                    selectinload(rp.publications), joinedload(rp.organisation)
                )
            ).unique()
        }
        organisation_ids = {p.organisation_id for p in profiles.values()}
        categories: dict[int, list[int]] = defaultdict(list)
        for org_id, number in session.execute(
            select(PoolMembership.organisation_id, ServiceCategory.number)
            .join(ServiceCategory, ServiceCategory.id == PoolMembership.category_id)
            .where(
                PoolMembership.organisation_id.in_(organisation_ids),
                PoolMembership.status == "active",
                PoolMembership.expires_at > now,
            )
            .order_by(ServiceCategory.number)
        ):
            categories[org_id].append(number)
        for row in rows:
            profile = profiles[row.id]
            matched = [
                (word.shown, int(getattr(row, f"w{i}"))) for i, word in enumerate(query.words)
            ] if tokens else []
            hits.append(Hit(profile, int(row.relevance), matched,
                            sorted(set(categories[profile.organisation_id]))))
    return SearchResult(params, query, hits, int(total), facets, engine.name)


def _facets(params, now, base, filters, text_match) -> dict[str, dict[str, int]]:
    rp = ReviewerProfile

    def conditions(dimension: str) -> list:
        keep = [c for d, c in filters if d != dimension or _conjunctive(dimension, params)]
        return [*base, *keep, *([text_match] if text_match is not None else [])]

    parts = []
    # category: reviewers are counted per organisation, and the organisations' active
    # categories listed; the sums are made below. A reviewer belongs to one organisation,
    # so this is the distinct count, and neither planner is tempted into a nested loop.
    pm = aliased(PoolMembership)
    sc = aliased(ServiceCategory)
    parts.append(
        select(literal("_org").label("dimension"),
               cast(rp.organisation_id, String).label("value"),
               func.count(rp.id).label("n"))
        .where(*conditions("category"))
        .group_by(rp.organisation_id)
    )
    parts.append(
        select(literal("_orgcat"),
               cast(pm.organisation_id, String) + literal(":") + cast(sc.number, String),
               func.count(pm.id))
        .join(sc, sc.id == pm.category_id)
        .where(pm.status == "active", pm.expires_at > now)
        .group_by(pm.organisation_id, sc.number)
    )
    parts.append(
        select(literal("expertise"), cast(reviewer_expertise.c.tag_id, String),
               func.count(func.distinct(rp.id)))
        .select_from(rp)
        .join(reviewer_expertise, reviewer_expertise.c.reviewer_id == rp.id)
        .where(*conditions("expertise"))
        .group_by(reviewer_expertise.c.tag_id)
    )
    parts.append(
        select(literal("region"), ReviewerRegion.region, func.count(func.distinct(rp.id)))
        .select_from(rp)
        .join(ReviewerRegion, ReviewerRegion.reviewer_id == rp.id)
        .where(*conditions("region"))
        .group_by(ReviewerRegion.region)
    )
    parts.append(
        select(literal("competence"), ReviewerCompetence.area, func.count(func.distinct(rp.id)))
        .select_from(rp)
        .join(ReviewerCompetence, and_(
            ReviewerCompetence.reviewer_id == rp.id, ReviewerCompetence.has_competence.is_(True)
        ))
        .where(*conditions("competence"))
        .group_by(ReviewerCompetence.area)
    )
    parts.append(
        select(literal("background"), rp.professional_background, func.count(rp.id))
        .where(*conditions("background"))
        .group_by(rp.professional_background)
    )
    parts.append(
        select(literal("dbs"), literal("current"), func.count(rp.id))
        .where(*conditions("dbs"), rp.dbs_current.is_(True))
    )
    # review_type: a single-valued choice, so counted without the minimum's own filter. One
    # scan, grouped by which types reach the threshold ("1" or "0" per type, in
    # REVIEW_TYPE_ORDER); the per-type sums and "any" are made below. At most 64 groups.
    threshold = params.min_reviews or 1
    reaches = [
        case((getattr(rp, REVIEW_COUNT_COLUMNS[t]) >= threshold, literal("1")),
             else_=literal("0"))
        for t in REVIEW_TYPE_ORDER
    ]
    pattern = reaches[0]
    for flag in reaches[1:]:
        pattern = pattern + flag
    parts.append(
        select(literal("_types"), pattern, func.count(rp.id))
        .where(*conditions("review_type"))
        .group_by(pattern)
    )
    # available_from: only when a date is entered; one scan grouped by available or not.
    if params.available_from:
        available = case((_available_by(params.available_from), literal("1")),
                         else_=literal("0"))
        parts.append(
            select(literal("_available"), available, func.count(rp.id))
            .where(*conditions("available_from"))
            .group_by(available)
        )
    facets: dict[str, dict[str, int]] = {d: {} for d in FACET_DIMENSIONS}
    per_organisation: dict[str, int] = {}
    organisation_categories: list[tuple[str, str]] = []
    for dimension, value, n in db.session.execute(union_all(*parts)):
        if dimension == "_org":
            per_organisation[str(value)] = int(n)
        elif dimension == "_orgcat":
            organisation, _, number = str(value).partition(":")
            organisation_categories.append((organisation, number))
        elif dimension == "_types":
            _add(facets["review_type"], ANY, n)
            for review_type, flag in zip(REVIEW_TYPE_ORDER, str(value), strict=True):
                if flag == "1":
                    _add(facets["review_type"], review_type.value, n)
        elif dimension == "_available":
            _add(facets["available_from"], ANY, n)
            if str(value) == "1":
                _add(facets["available_from"], params.available_from.isoformat(), n)
        elif n:
            facets[dimension][str(value)] = int(n)
    for organisation, number in organisation_categories:
        count = per_organisation.get(organisation, 0)
        if count:
            facets["category"][number] = facets["category"].get(number, 0) + count
    return facets


def _add(counts: dict[str, int], value: str, n) -> None:
    if n:
        counts[value] = counts.get(value, 0) + int(n)


def expertise_tags_by_id() -> dict[int, ExpertiseTag]:
    return {t.id: t for t in db.session.scalars(select(ExpertiseTag).order_by(ExpertiseTag.name))}
