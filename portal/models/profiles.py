"""Organisation regions and reviewer profiles, with their special-category data kept apart.

Who may see what is decided here, once per object:

- `ReviewerProfile.can_view` / `can_edit`: the profile itself (no special-category data).
- `ReviewerProfile.can_view_sensitive` (and `ReviewerSensitiveData.can_view`): diversity,
  lived experience and DBS details. Only owners of the profile's organisation; never staff,
  evaluators or partnerships. Admins get aggregates only (see services.profiles).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow
from portal.models.document import register_download_rule

# Documents (CVs and samples of work) uploaded for reviewer profiles are in this area.
DOCUMENT_AREA = "profiles"


def _in(column: str, values) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} in ({quoted})"


# --- Regions: the nine English regions plus Wales -------------------------------------

REGIONS: list[tuple[str, str]] = [
    ("north_east", "North East"),
    ("north_west", "North West"),
    ("yorkshire_humber", "Yorkshire and the Humber"),
    ("east_midlands", "East Midlands"),
    ("west_midlands", "West Midlands"),
    ("east_of_england", "East of England"),
    ("london", "London"),
    ("south_east", "South East"),
    ("south_west", "South West"),
    ("wales", "Wales"),
]
REGION_CODES = [code for code, _ in REGIONS]
REGION_LABELS = dict(REGIONS)


class OrganisationKind(enum.StrEnum):
    INDIVIDUAL = "individual"
    SOLE_TRADER = "sole_trader"
    COMPANY = "company"
    UNIVERSITY = "university"
    CHARITY = "charity"
    PARTNERSHIP = "partnership"
    OTHER = "other"


ORGANISATION_KIND_LABELS = {
    OrganisationKind.INDIVIDUAL: "Individual reviewer",
    OrganisationKind.SOLE_TRADER: "Sole trader",
    OrganisationKind.COMPANY: "Limited company",
    OrganisationKind.UNIVERSITY: "University",
    OrganisationKind.CHARITY: "Charity",
    OrganisationKind.PARTNERSHIP: "Partnership of reviewers",
    OrganisationKind.OTHER: "Other",
}
# Which registration numbers a kind must give, and which it may give.
KIND_REQUIRES_COMPANY_NUMBER = {OrganisationKind.COMPANY}
KIND_REQUIRES_CHARITY_NUMBER = {OrganisationKind.CHARITY}
KIND_MAY_GIVE_COMPANY_NUMBER = {
    OrganisationKind.COMPANY,
    OrganisationKind.CHARITY,
    OrganisationKind.UNIVERSITY,
    OrganisationKind.PARTNERSHIP,
    OrganisationKind.OTHER,
}
KIND_MAY_GIVE_CHARITY_NUMBER = {
    OrganisationKind.CHARITY,
    OrganisationKind.UNIVERSITY,
    OrganisationKind.OTHER,
}


class OrganisationRegion(db.Model):
    """A region an organisation covers."""

    __tablename__ = "organisation_regions"
    __table_args__ = (
        CheckConstraint(_in("region", REGION_CODES), name="region_known"),
        Index("ix_organisation_regions_region", "region"),
    )

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(30), primary_key=True)


# --- Reviewer profiles ------------------------------------------------------------------


class ProfessionalBackground(enum.StrEnum):
    SOCIAL_WORK = "social_work"
    HEALTH = "health"
    POLICE = "police"
    EDUCATION = "education"
    LAW = "law"
    ACADEMIC_RESEARCH = "academic_research"
    OTHER = "other"


PROFESSIONAL_BACKGROUND_LABELS = {
    ProfessionalBackground.SOCIAL_WORK: "Social work",
    ProfessionalBackground.HEALTH: "Health",
    ProfessionalBackground.POLICE: "Police",
    ProfessionalBackground.EDUCATION: "Education",
    ProfessionalBackground.LAW: "Law",
    ProfessionalBackground.ACADEMIC_RESEARCH: "Academic research",
    ProfessionalBackground.OTHER: "Other",
}


class ReviewType(enum.StrEnum):
    NATIONAL = "national"
    LCSPR = "lcspr"
    SERIOUS_CASE = "serious_case"
    RAPID = "rapid"
    THEMATIC = "thematic"
    LITERATURE = "literature"


REVIEW_TYPE_LABELS = {
    ReviewType.NATIONAL: "National review",
    ReviewType.LCSPR: "Local child safeguarding practice review (LCSPR)",
    ReviewType.SERIOUS_CASE: "Serious case review",
    ReviewType.RAPID: "Rapid review",
    ReviewType.THEMATIC: "Thematic review",
    ReviewType.LITERATURE: "Literature review",
}
# ReviewType -> the ReviewerProfile column counting reviews of that type.
REVIEW_COUNT_COLUMNS = {t: f"reviews_{t.value}" for t in ReviewType}

reviewer_expertise = db.Table(
    "reviewer_expertise",
    db.Column(
        "reviewer_id",
        ForeignKey("reviewer_profiles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    db.Column(
        "tag_id", ForeignKey("expertise_tags.id", ondelete="CASCADE"), primary_key=True
    ),
    Index("ix_reviewer_expertise_tag", "tag_id"),
)


class ExpertiseTag(db.Model):
    """An admin-managed area of expertise. Retired tags stay on profiles that have them
    but are no longer offered."""

    __tablename__ = "expertise_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    def __repr__(self) -> str:
        return f"<ExpertiseTag {self.name!r}>"


EXPERTISE_TAG_SEED = [
    "Criminal exploitation",
    "Sudden unexpected death in infancy",
    "Neglect",
    "Child sexual abuse",
    "Domestic abuse",
    "Extra-familial harm",
    "Online harm",
    "Disabled children",
    "Mental health",
    "Parental substance misuse",
    "Elective home education",
    "Race and racism",
    "Adolescents",
    "Physical abuse",
    "Non-accidental injury in babies",
    "Children in care",
    "Child criminal exploitation and county lines",
    "Female genital mutilation",
    "Radicalisation",
    "Multi-agency working",
]


def seed_expertise_tags() -> None:
    """Insert any missing seed tags (tests, demo and first run; idempotent)."""
    existing = {name for (name,) in db.session.query(ExpertiseTag.name)}
    for name in EXPERTISE_TAG_SEED:
        if name not in existing:
            db.session.add(ExpertiseTag(name=name))
    db.session.flush()


class ReviewerProfile(db.Model):
    __tablename__ = "reviewer_profiles"
    __table_args__ = (
        CheckConstraint(
            _in("professional_background", [b.value for b in ProfessionalBackground]),
            name="professional_background_known",
        ),
        CheckConstraint("years_experience between 0 and 70", name="years_experience_range"),
        CheckConstraint("reviews_national >= 0", name="reviews_national_nonnegative"),
        CheckConstraint("reviews_lcspr >= 0", name="reviews_lcspr_nonnegative"),
        CheckConstraint("reviews_serious_case >= 0", name="reviews_serious_case_nonnegative"),
        CheckConstraint("reviews_rapid >= 0", name="reviews_rapid_nonnegative"),
        CheckConstraint("reviews_thematic >= 0", name="reviews_thematic_nonnegative"),
        CheckConstraint("reviews_literature >= 0", name="reviews_literature_nonnegative"),
        CheckConstraint(
            "days_per_month is null or days_per_month between 0 and 31",
            name="days_per_month_range",
        ),
        CheckConstraint(
            "day_rate_pence is null or day_rate_pence >= 0", name="day_rate_nonnegative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    professional_background: Mapped[str] = mapped_column(String(30))
    years_experience: Mapped[int] = mapped_column(Integer, default=0)

    reviews_national: Mapped[int] = mapped_column(Integer, default=0)
    reviews_lcspr: Mapped[int] = mapped_column(Integer, default=0)
    reviews_serious_case: Mapped[int] = mapped_column(Integer, default=0)
    reviews_rapid: Mapped[int] = mapped_column(Integer, default=0)
    reviews_thematic: Mapped[int] = mapped_column(Integer, default=0)
    reviews_literature: Mapped[int] = mapped_column(Integer, default=0)

    summary: Mapped[str] = mapped_column(Text, default="")

    available_from: Mapped[date | None] = mapped_column(Date)
    days_per_month: Mapped[int | None] = mapped_column(Integer)
    # Set when the reviewer is taking no new work at all (the directory filters on it).
    is_unavailable: Mapped[bool] = mapped_column(Boolean, default=False)
    day_rate_pence: Mapped[int | None] = mapped_column(Integer)

    # Derived from the DBS details in ReviewerSensitiveData by the service that saves
    # them: only "current or not" leaves the sensitive table.
    dbs_current: Mapped[bool] = mapped_column(Boolean, default=False)

    cv_document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    sample_document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Removed profiles are kept (bids may name them) but hidden everywhere; their
    # special-category data is erased and directory consent withdrawn on removal.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation = relationship("Organisation", backref="reviewer_profiles")
    expertise = relationship(
        "ExpertiseTag",
        secondary=reviewer_expertise,
        lazy="selectin",
        order_by="ExpertiseTag.name",
    )
    region_links = relationship(
        "ReviewerRegion", cascade="all, delete-orphan", lazy="selectin"
    )
    competences = relationship(
        "ReviewerCompetence",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="ReviewerCompetence.id",
    )
    publications = relationship(
        "ReviewerPublication",
        cascade="all, delete-orphan",
        order_by="ReviewerPublication.year.desc()",
    )
    sensitive = relationship(
        "ReviewerSensitiveData",
        uselist=False,
        cascade="all, delete-orphan",
        back_populates="profile",
    )
    consents = relationship(
        "DirectoryConsent",
        cascade="all, delete-orphan",
        order_by="DirectoryConsent.given_at",
        back_populates="profile",
    )
    cv_document = relationship("Document", foreign_keys=[cv_document_id])
    sample_document = relationship("Document", foreign_keys=[sample_document_id])

    # --- derived -----------------------------------------------------------------------

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None

    @property
    def regions(self) -> list[str]:
        return sorted((r.region for r in self.region_links), key=REGION_CODES.index)

    @property
    def reviews_total(self) -> int:
        return sum(getattr(self, col) or 0 for col in REVIEW_COUNT_COLUMNS.values())

    def reviews_of(self, review_type: ReviewType | str) -> int:
        return getattr(self, REVIEW_COUNT_COLUMNS[ReviewType(review_type)]) or 0

    @property
    def active_consent(self) -> DirectoryConsent | None:
        for consent in self.consents:
            if consent.withdrawn_at is None:
                return consent
        return None

    @property
    def in_directory(self) -> bool:
        return not self.is_removed and self.active_consent is not None

    def competence(self, area: str) -> ReviewerCompetence | None:
        for c in self.competences:
            if c.area == area:
                return c
        return None

    # --- access ------------------------------------------------------------------------

    def _is_org_member(self, user) -> bool:
        membership = getattr(user, "membership", None) if user is not None else None
        return bool(
            getattr(user, "is_authenticated", False)
            and membership is not None
            and membership.organisation_id == self.organisation_id
        )

    def can_view(self, user) -> bool:
        """The profile (never its special-category data): members of its organisation,
        commissioners and admins; approved partnership members only while it is in the
        directory."""
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        if self._is_org_member(user):
            return True
        if self.is_removed:
            return False
        if user.is_commissioner or user.is_admin:
            return True
        return bool(user.is_approved_partnership_member and self.in_directory)

    def can_edit(self, user) -> bool:
        """Any member of the organisation maintains its reviewer profiles."""
        return not self.is_removed and self._is_org_member(user)

    def can_view_sensitive(self, user) -> bool:
        """Diversity, lived experience and DBS details: owners of the profile's
        organisation only. No staff role, evaluator or partnership ever qualifies."""
        return (
            not self.is_removed
            and self._is_org_member(user)
            and user.membership.role == "owner"
        )

    can_edit_sensitive = can_view_sensitive

    def can_manage_consent(self, user) -> bool:
        return self.can_edit(user)

    def can_download_documents(self, user) -> bool:
        """CV and sample of work: members of the organisation, commissioners and admins.
        Not partnerships (the directory shows the profile, not the CV) nor evaluators
        (they see documents through the bids that name the reviewer)."""
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        if self._is_org_member(user):
            return True
        return not self.is_removed and bool(user.is_commissioner or user.is_admin)

    def __repr__(self) -> str:
        return f"<ReviewerProfile {self.id}>"


class ReviewerRegion(db.Model):
    __tablename__ = "reviewer_regions"
    __table_args__ = (
        CheckConstraint(_in("region", REGION_CODES), name="region_known"),
        Index("ix_reviewer_regions_region", "region"),
    )

    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("reviewer_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(30), primary_key=True)


class CompetenceArea(enum.StrEnum):
    RACE = "race"
    ETHNICITY = "ethnicity"
    RELIGION = "religion"
    GENDER = "gender"
    SEXUALITY = "sexuality"
    DISABILITY = "disability"
    POVERTY = "poverty"


COMPETENCE_AREA_LABELS = {a: a.value.capitalize() for a in CompetenceArea}


class ReviewerCompetence(db.Model):
    """Whether the reviewer can analyse the impact of one of the seven areas, with an
    example when they can."""

    __tablename__ = "reviewer_competences"
    __table_args__ = (
        UniqueConstraint("reviewer_id", "area", name="uq_reviewer_competences_area"),
        CheckConstraint(_in("area", [a.value for a in CompetenceArea]), name="area_known"),
        CheckConstraint(
            "NOT has_competence OR (example IS NOT NULL AND example <> '')",
            name="example_when_yes",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("reviewer_profiles.id", ondelete="CASCADE"), index=True
    )
    area: Mapped[str] = mapped_column(String(20))
    has_competence: Mapped[bool] = mapped_column(Boolean, default=False)
    example: Mapped[str | None] = mapped_column(Text)


class ReviewerPublication(db.Model):
    """A published review the reviewer authored."""

    __tablename__ = "reviewer_publications"
    __table_args__ = (
        CheckConstraint("url like 'https://%'", name="url_https"),
        CheckConstraint("year between 1950 and 2100", name="year_range"),
        CheckConstraint(_in("review_type", [t.value for t in ReviewType]), name="type_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("reviewer_profiles.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(500))
    year: Mapped[int] = mapped_column(Integer)
    review_type: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- Special-category and criminal-offence data -----------------------------------------

PREFER_NOT_TO_SAY = "prefer_not_to_say"

AGE_BANDS = [
    ("under_30", "Under 30"),
    ("30_39", "30 to 39"),
    ("40_49", "40 to 49"),
    ("50_59", "50 to 59"),
    ("60_plus", "60 or over"),
    (PREFER_NOT_TO_SAY, "Prefer not to say"),
]
SEX_CHOICES = [
    ("female", "Female"),
    ("male", "Male"),
    (PREFER_NOT_TO_SAY, "Prefer not to say"),
]
GENDER_SAME_CHOICES = [
    ("yes", "Yes"),
    ("no", "No"),
    (PREFER_NOT_TO_SAY, "Prefer not to say"),
]
# The five high-level ethnic groups of the 2021 Census in England and Wales.
ETHNICITY_CHOICES = [
    ("asian", "Asian or Asian British"),
    ("black", "Black, Black British, Caribbean or African"),
    ("mixed", "Mixed or multiple ethnic groups"),
    ("white", "White"),
    ("other", "Other ethnic group"),
    (PREFER_NOT_TO_SAY, "Prefer not to say"),
]
RELIGION_CHOICES = [
    ("none", "No religion"),
    ("buddhist", "Buddhist"),
    ("christian", "Christian"),
    ("hindu", "Hindu"),
    ("jewish", "Jewish"),
    ("muslim", "Muslim"),
    ("sikh", "Sikh"),
    ("other", "Any other religion"),
    (PREFER_NOT_TO_SAY, "Prefer not to say"),
]
SEXUAL_ORIENTATION_CHOICES = [
    ("heterosexual", "Straight or heterosexual"),
    ("gay_lesbian", "Gay or lesbian"),
    ("bisexual", "Bisexual"),
    ("other", "Other sexual orientation"),
    (PREFER_NOT_TO_SAY, "Prefer not to say"),
]
DISABILITY_CHOICES = [
    ("yes", "Yes"),
    ("no", "No"),
    (PREFER_NOT_TO_SAY, "Prefer not to say"),
]
LIVED_EXPERIENCE_CHOICES = [
    ("yes", "Yes"),
    ("no", "No"),
    (PREFER_NOT_TO_SAY, "Prefer not to say"),
]
DBS_TYPES = [("enhanced", "Enhanced"), ("standard", "Standard")]

# The diversity questions, in page order: (field, question, choices). Reports use it too.
DIVERSITY_FIELDS = [
    ("age_band", "Age", AGE_BANDS),
    ("sex", "Sex", SEX_CHOICES),
    ("gender_same_as_sex", "Is your gender the same as the sex you were registered at birth?",
     GENDER_SAME_CHOICES),
    ("ethnicity", "Ethnic group", ETHNICITY_CHOICES),
    ("religion", "Religion", RELIGION_CHOICES),
    ("sexual_orientation", "Sexual orientation", SEXUAL_ORIENTATION_CHOICES),
    ("disability", "Disability or long-term health condition", DISABILITY_CHOICES),
    ("lived_experience", "Lived experience of the children's social care or safeguarding "
     "system", LIVED_EXPERIENCE_CHOICES),
]

# A DBS certificate counts as current for three years, or for as long as it is kept up
# to date on the DBS update service.
DBS_CURRENT_FOR = timedelta(days=3 * 365)


def dbs_is_current(dbs_type: str | None, certificate_date: date | None,
                   on_update_service: bool | None, today: date) -> bool:
    if dbs_type != "enhanced" or certificate_date is None or certificate_date > today:
        return False
    return bool(on_update_service) or today - certificate_date <= DBS_CURRENT_FOR


class ReviewerSensitiveData(db.Model):
    """Voluntary diversity information, lived experience and DBS details, one row per
    profile, in its own table so nothing that reads profiles reads this by accident."""

    __tablename__ = "reviewer_sensitive_data"
    __table_args__ = (
        CheckConstraint(
            "age_band is null or " + _in("age_band", [c for c, _ in AGE_BANDS]),
            name="age_band_known",
        ),
        CheckConstraint(
            "sex is null or " + _in("sex", [c for c, _ in SEX_CHOICES]), name="sex_known"
        ),
        CheckConstraint(
            "gender_same_as_sex is null or "
            + _in("gender_same_as_sex", [c for c, _ in GENDER_SAME_CHOICES]),
            name="gender_same_known",
        ),
        CheckConstraint(
            "ethnicity is null or " + _in("ethnicity", [c for c, _ in ETHNICITY_CHOICES]),
            name="ethnicity_known",
        ),
        CheckConstraint(
            "religion is null or " + _in("religion", [c for c, _ in RELIGION_CHOICES]),
            name="religion_known",
        ),
        CheckConstraint(
            "sexual_orientation is null or "
            + _in("sexual_orientation", [c for c, _ in SEXUAL_ORIENTATION_CHOICES]),
            name="sexual_orientation_known",
        ),
        CheckConstraint(
            "disability is null or " + _in("disability", [c for c, _ in DISABILITY_CHOICES]),
            name="disability_known",
        ),
        CheckConstraint(
            "lived_experience is null or "
            + _in("lived_experience", [c for c, _ in LIVED_EXPERIENCE_CHOICES]),
            name="lived_experience_known",
        ),
        CheckConstraint(
            "dbs_type is null or " + _in("dbs_type", [c for c, _ in DBS_TYPES]),
            name="dbs_type_known",
        ),
    )

    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("reviewer_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    age_band: Mapped[str | None] = mapped_column(String(30))
    sex: Mapped[str | None] = mapped_column(String(30))
    gender_same_as_sex: Mapped[str | None] = mapped_column(String(30))
    ethnicity: Mapped[str | None] = mapped_column(String(30))
    religion: Mapped[str | None] = mapped_column(String(30))
    sexual_orientation: Mapped[str | None] = mapped_column(String(30))
    disability: Mapped[str | None] = mapped_column(String(30))
    lived_experience: Mapped[str | None] = mapped_column(String(30))
    lived_experience_detail: Mapped[str | None] = mapped_column(Text)

    dbs_type: Mapped[str | None] = mapped_column(String(20))
    dbs_certificate_date: Mapped[date | None] = mapped_column(Date)
    dbs_update_service: Mapped[bool | None] = mapped_column(Boolean)

    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    profile = relationship("ReviewerProfile", back_populates="sensitive")

    def can_view(self, user) -> bool:
        return self.profile.can_view_sensitive(user)

    def can_edit(self, user) -> bool:
        return self.profile.can_edit_sensitive(user)


# --- Directory consent -------------------------------------------------------------------

# Bump the version whenever the wording in templates/profiles/consent.html changes.
CONSENT_TEXT_VERSION = "2026-11-v1"


class DirectoryConsent(db.Model):
    """Opt-in to appear in the partnership directory. Each grant is a row; withdrawal
    stamps it. At most one active row per profile, enforced by the database."""

    __tablename__ = "directory_consents"
    __table_args__ = (
        Index(
            "uq_directory_consents_active",
            "reviewer_id",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("reviewer_profiles.id", ondelete="CASCADE"), index=True
    )
    text_version: Mapped[str] = mapped_column(String(40))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    given_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    profile = relationship("ReviewerProfile", back_populates="consents")

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


def _profile_document_rule(document, user) -> bool:
    """Documents in the profiles area: whoever may see the documents of the profile that
    holds them as its CV or sample of work."""
    profile = db.session.scalars(
        db.select(ReviewerProfile).where(
            (ReviewerProfile.cv_document_id == document.id)
            | (ReviewerProfile.sample_document_id == document.id)
        )
    ).first()
    return profile is not None and profile.can_download_documents(user)


register_download_rule(DOCUMENT_AREA, _profile_document_rule)
