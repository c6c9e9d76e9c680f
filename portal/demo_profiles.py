"""Demo reviewer profiles: `seed_demo_profiles(orgs)` is a step for `flask seed-demo`.

Fills in missing organisation details (kind, address, regions, SME) and gives each
organisation a realistic team of reviewer profiles (at least 60 in all, for the partnership
directory), with expertise, competences, publications, availability, rates, voluntary
diversity and DBS information for most, and directory consent for most.

Deterministic (a seeded random generator) and idempotent: profiles are found by
organisation and name, and existing profiles that earlier steps created with only a name
are completed rather than duplicated. Flushes; the caller commits.

Wire it in with:  register_step(Step("profiles", seed_profiles_step), after="pool")
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

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
    AGE_BANDS,
    CONSENT_TEXT_VERSION,
    DISABILITY_CHOICES,
    ETHNICITY_CHOICES,
    RELIGION_CHOICES,
    SEX_CHOICES,
    SEXUAL_ORIENTATION_CHOICES,
    CompetenceArea,
    ProfessionalBackground,
    dbs_is_current,
    seed_expertise_tags,
)

MINIMUM_PROFILES = 60

FIRST_NAMES = [
    "Amara", "Ben", "Catherine", "Dev", "Eleanor", "Farah", "Gareth", "Hannah", "Ibrahim",
    "Joanne", "Kwame", "Laura", "Mohammed", "Niamh", "Oliver", "Parveen", "Rachel", "Sanjay",
    "Tessa", "Uchenna", "Victoria", "Wei", "Yasmin", "Zoe", "Andrew", "Bethan", "Ciaran",
    "Deborah", "Emeka", "Fiona", "Graham", "Harpreet", "Isobel", "Jamal", "Katie", "Lewis",
]
SURNAMES = [
    "Adeyemi", "Baxter", "Chowdhury", "Davies", "Evans", "Fraser", "Green", "Hussain",
    "Iqbal", "Jones", "Kaur", "Lloyd", "McCarthy", "Nwosu", "O'Brien", "Patel", "Quinn",
    "Robinson", "Singh", "Thomas", "Underwood", "Vaughan", "Williams", "Xu", "Young",
    "Zielinski", "Begum", "Clarke", "Doyle", "Ellis",
]
TITLES = {
    ProfessionalBackground.ACADEMIC_RESEARCH: ["Dr", "Professor", "Dr"],
    ProfessionalBackground.HEALTH: ["Dr", ""],
}

BACKGROUNDS = [
    (ProfessionalBackground.SOCIAL_WORK, 30),
    (ProfessionalBackground.ACADEMIC_RESEARCH, 18),
    (ProfessionalBackground.HEALTH, 14),
    (ProfessionalBackground.POLICE, 12),
    (ProfessionalBackground.EDUCATION, 10),
    (ProfessionalBackground.LAW, 8),
    (ProfessionalBackground.OTHER, 8),
]
CAREERS = {
    ProfessionalBackground.SOCIAL_WORK: "a qualified social worker and former head of "
    "children's safeguarding in a local authority",
    ProfessionalBackground.ACADEMIC_RESEARCH: "a researcher in child protection and "
    "family policy",
    ProfessionalBackground.HEALTH: "a former designated nurse for safeguarding children",
    ProfessionalBackground.POLICE: "a retired detective chief inspector who led a child "
    "abuse investigation unit",
    ProfessionalBackground.EDUCATION: "a former headteacher and local authority "
    "designated safeguarding lead for schools",
    ProfessionalBackground.LAW: "a family law barrister with experience of care "
    "proceedings",
    ProfessionalBackground.OTHER: "an independent chair of a local safeguarding "
    "partnership",
}
METHODS = [
    "systems methodology (SCIE Learning Together)",
    "appreciative inquiry with practitioners and families",
    "the Welsh CPR model and Significant Incident Learning Process",
    "rapid review and thematic analysis of case material",
    "mixed-methods analysis of serious incident notifications",
]
EXAMPLES = {
    CompetenceArea.RACE: "Analysed adultification bias and how racism shaped "
    "professional responses to a Black adolescent.",
    CompetenceArea.ETHNICITY: "Examined how assumptions about a family's culture "
    "delayed recognition of neglect.",
    CompetenceArea.RELIGION: "Explored the role of faith leaders and community "
    "settings in a review of physical abuse.",
    CompetenceArea.GENDER: "Considered how services engaged fathers and male carers, "
    "who were largely invisible to professionals.",
    CompetenceArea.SEXUALITY: "Reviewed how a young person's sexuality affected their "
    "vulnerability to online exploitation.",
    CompetenceArea.DISABILITY: "Analysed communication with a non-verbal disabled "
    "child and the use of advocacy.",
    CompetenceArea.POVERTY: "Examined the impact of housing insecurity and debt on a "
    "family's engagement with services.",
}
PUBLICATION_TOPICS = [
    ("Child Safeguarding Practice Review: Baby {L}", "lcspr"),
    ("Local Child Safeguarding Practice Review: Child {L}", "lcspr"),
    ("Serious Case Review: Family {L}", "serious_case"),
    ("Thematic review of criminal exploitation of adolescents", "thematic"),
    ("Learning from rapid reviews: sudden unexpected death in infancy", "rapid"),
    ("Literature review: working with fathers in child protection", "literature"),
    ("Thematic review: safeguarding children with disabilities in residential settings",
     "thematic"),
]
TOWNS = [
    ("12 Park Row", "Leeds", "LS1 5HD", "yorkshire_humber"),
    ("4 Grey Street", "Newcastle upon Tyne", "NE1 6AE", "north_east"),
    ("88 Deansgate", "Manchester", "M3 2ER", "north_west"),
    ("21 Colmore Row", "Birmingham", "B3 2BJ", "west_midlands"),
    ("5 Castle Boulevard", "Nottingham", "NG7 1FT", "east_midlands"),
    ("17 Hills Road", "Cambridge", "CB2 1NL", "east_of_england"),
    ("30 Borough High Street", "London", "SE1 1XU", "london"),
    ("9 Queen Square", "Brighton", "BN1 3FD", "south_east"),
    ("2 Queen Square", "Bristol", "BS1 4JE", "south_west"),
    ("14 Cathedral Road", "Cardiff", "CF11 9LJ", "wales"),
]
REGION_CODES = [t[3] for t in TOWNS]
QUOTA = {"individual": 1, "sole_trader": 1, "company": 6, "university": 8, "charity": 5,
         "partnership": 5, "other": 4, None: 5}


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


def _fill_details(org: Organisation, rng: random.Random) -> bool:
    """Give an organisation realistic details where they are missing. True if changed."""
    changed = False
    if org.kind is None:
        org.kind = "company"
    if org.kind == "company" and not org.companies_house_number:
        org.companies_house_number = f"{rng.randrange(10**7, 10**8):08d}"
    if org.kind == "charity" and not org.charity_number:
        org.charity_number = f"1{rng.randrange(10**5, 10**6):06d}"
    if not org.address_line_1 or org.address_line_1 == "1 Example Street":
        line, town, postcode, _region = TOWNS[org.id % len(TOWNS)]
        org.address_line_1, org.town, org.postcode = line, town, postcode
        changed = True
    if org.is_sme is None:
        org.is_sme = org.kind != "university"
        changed = True
    if not org.region_links:
        home = TOWNS[org.id % len(TOWNS)][3]
        extra = rng.sample([r for r in REGION_CODES if r != home], k=rng.randint(0, 3))
        for region in [home, *extra]:
            org.region_links.append(OrganisationRegion(region=region))
        changed = True
    if changed:
        org.details_updated_at = utcnow()
    return changed


def _names(rng: random.Random, taken: set[str]):
    while True:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        if name not in taken:
            taken.add(name)
            yield name


def _complete(profile: ReviewerProfile, org: Organisation, rng: random.Random,
              tags: list[ExpertiseTag], today: date) -> None:
    """Fill every part of a profile that is still empty. The optional parts (publications,
    diversity and DBS information, consent) are decided once, when the profile is new."""
    fresh = not profile.summary
    if fresh:
        background = ProfessionalBackground(profile.professional_background)
        profile.years_experience = profile.years_experience or rng.randint(4, 32)
        profile.summary = (
            f"{profile.name} is {CAREERS[background]}, with {profile.years_experience} years "
            f"of safeguarding experience. Uses {rng.choice(METHODS)}, and writes clear, "
            "accessible reports for practitioners, leaders and families."
        )
        seniority = profile.years_experience / 32
        profile.reviews_lcspr = int(rng.randint(0, 12) * seniority + rng.randint(0, 2))
        profile.reviews_serious_case = int(rng.randint(0, 10) * seniority)
        profile.reviews_rapid = rng.randint(0, 15)
        profile.reviews_thematic = rng.randint(0, 3)
        profile.reviews_national = 1 if rng.random() < 0.15 else 0
        profile.reviews_literature = (rng.randint(1, 6)
                                      if background == ProfessionalBackground.ACADEMIC_RESEARCH
                                      else rng.randint(0, 1))
        profile.day_rate_pence = rng.randrange(350, 925, 25) * 100
        profile.days_per_month = rng.choice([2, 4, 5, 6, 8, 10, 12])
        roll = rng.random()
        profile.is_unavailable = roll < 0.08
        profile.available_from = (today + timedelta(days=rng.randint(14, 150))
                                  if 0.08 <= roll < 0.3 else None)
    if not profile.region_links:
        org_regions = org.regions or [rng.choice(REGION_CODES)]
        chosen = set(rng.sample(org_regions, k=min(len(org_regions), rng.randint(1, 3))))
        if rng.random() < 0.3:
            chosen.add(rng.choice(REGION_CODES))
        for region in sorted(chosen):
            profile.region_links.append(ReviewerRegion(region=region))
    if not profile.expertise:
        profile.expertise = rng.sample(tags, k=rng.randint(2, 6))
    if not profile.competences:
        for area in CompetenceArea:
            yes = rng.random() < 0.7
            profile.competences.append(ReviewerCompetence(
                area=area.value, has_competence=yes, example=EXAMPLES[area] if yes else None,
            ))
    if not fresh:
        return
    if not profile.publications and profile.reviews_total:
        for _ in range(rng.randint(0, 3)):
            title, kind = rng.choice(PUBLICATION_TOPICS)
            title = title.format(L=rng.choice("ABCDEFGHJKLMNPRSTW"))
            slug = "".join(ch if ch.isalnum() else "-" for ch in title.lower()).strip("-")
            profile.publications.append(ReviewerPublication(
                title=title, url=f"https://www.example.org/reviews/{slug}",
                year=rng.randint(2014, today.year), review_type=kind,
            ))
    if profile.sensitive is None and rng.random() < 0.75:
        def pick(choices):
            return rng.choice([c for c, _ in choices]) if rng.random() < 0.85 else None

        certificate = today - timedelta(days=rng.randint(30, 5 * 365))
        on_update = rng.random() < 0.6
        dbs_type = "enhanced" if rng.random() < 0.9 else "standard"
        profile.sensitive = ReviewerSensitiveData(
            age_band=pick(AGE_BANDS), sex=pick(SEX_CHOICES), ethnicity=pick(ETHNICITY_CHOICES),
            religion=pick(RELIGION_CHOICES),
            sexual_orientation=pick(SEXUAL_ORIENTATION_CHOICES),
            disability=pick(DISABILITY_CHOICES),
            lived_experience=rng.choice(["yes", "no", "no", "prefer_not_to_say", None]),
            dbs_type=dbs_type, dbs_certificate_date=certificate, dbs_update_service=on_update,
        )
        profile.dbs_current = dbs_is_current(dbs_type, certificate, on_update, today)
    if not profile.consents and not profile.is_removed and rng.random() < 0.8:
        profile.consents.append(DirectoryConsent(
            text_version=CONSENT_TEXT_VERSION,
            given_at=utcnow() - timedelta(days=rng.randint(1, 200)),
        ))


def seed_demo_profiles(orgs: list[Organisation] | None = None, *,
                       minimum: int = MINIMUM_PROFILES, seed: int = 20201) -> dict:
    """Complete organisation details and give each organisation reviewer profiles, at least
    `minimum` in all. Returns counts of what it created."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    seed_expertise_tags()
    tags = list(db.session.scalars(
        select(ExpertiseTag).where(ExpertiseTag.retired_at.is_(None)).order_by(ExpertiseTag.id)
    ))
    if orgs is None:
        orgs = list(db.session.scalars(select(Organisation).order_by(Organisation.id)))
    if not orgs:
        return {"profiles": 0, "organisations completed": 0}
    today = utcnow().date()
    counts = {"profiles": 0, "organisations completed": 0}
    taken = set(db.session.scalars(select(ReviewerProfile.name)))
    names = _names(rng, taken)

    for org in orgs:
        counts["organisations completed"] += _fill_details(org, rng)
    existing = {org.id: [p for p in org.reviewer_profiles if not p.is_removed] for org in orgs}
    wanted = {org.id: max(QUOTA.get(org.kind, 4), len(existing[org.id])) for org in orgs}
    growable = [o for o in orgs if o.kind not in ("individual", "sole_trader")] or orgs
    index = 0
    while sum(wanted.values()) < minimum:
        wanted[growable[index % len(growable)].id] += 1
        index += 1
    # The partnership directory lists only consenting reviewers of active pool members,
    # so those organisations get enough profiles for the directory to hold `minimum`.
    members = [o for o in growable if o.id in _active_member_ids()]
    listed_target = minimum + minimum // 4  # about one in five withholds consent
    index = 0
    while members and sum(wanted[o.id] for o in members) < listed_target:
        wanted[members[index % len(members)].id] += 1
        index += 1

    for org in orgs:
        profiles = existing[org.id]
        if org.kind in ("individual", "sole_trader") and not profiles:
            name = org.legal_name if org.kind == "individual" else next(names)
            profiles.append(_new_profile(org, name, rng))
            counts["profiles"] += 1
        while len(profiles) < wanted[org.id]:
            profiles.append(_new_profile(org, next(names), rng))
            counts["profiles"] += 1
        for profile in profiles:
            _complete(profile, org, rng, tags, today)
    db.session.flush()
    return counts


def _active_member_ids() -> set[int]:
    from portal.models.pool import PoolMembership

    return set(db.session.scalars(
        select(PoolMembership.organisation_id).where(PoolMembership.status == "active")
    ))


def _new_profile(org: Organisation, name: str, rng: random.Random) -> ReviewerProfile:
    background = _weighted(rng, BACKGROUNDS)
    title = rng.choice(TITLES.get(background, [""]))
    profile = ReviewerProfile(
        organisation_id=org.id,
        name=f"{title} {name}".strip(),
        professional_background=str(background),
        years_experience=rng.randint(4, 32),
        summary="",
    )
    db.session.add(profile)
    org.reviewer_profiles.append(profile)
    return profile


def seed_profiles_step(ctx=None) -> dict:
    """The `flask seed-demo` step (see portal/demo.py `register_step`)."""
    return seed_demo_profiles()
