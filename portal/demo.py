"""Demo data for `flask seed-demo`: a list of steps, each idempotent.

Each step is a `Step(name, run, logins)`. `run(ctx)` finds or creates its rows (never
duplicating them when run again), may read what earlier steps made from `ctx.users`,
returns a dict of counts of what it created, and flushes without committing.
`logins` are the demo sign-ins the step provides, printed after seeding.

Later areas add their step with `register_step(Step(...))` from their own module, or by
appending to `STEPS` below. Nothing here is meant for production: the passwords are
published in the README.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import pyotp
from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.models import (
    Organisation,
    OrganisationMember,
    OrgRole,
    Partnership,
    PartnershipStatus,
    StaffRole,
    User,
    UserRole,
    utcnow,
)
from portal.passwords import hash_password

# One memorable password per role; each scores 4 with zxcvbn.
PASSWORDS = {
    "admin": "Panel-Admin-Lighthouse-72",
    "commissioner": "Commission-Harbour-Kettle-18",
    "evaluator": "Evaluate-Meadow-Lantern-35",
    "supplier": "Supplier-Orchard-Violin-64",
    "partnership": "Partnership-Canal-Thistle-29",
}


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str  # a key of PASSWORDS
    description: str
    totp: bool = False

    @property
    def password(self) -> str:
        return PASSWORDS[self.role]


@dataclass
class DemoContext:
    """What the steps share: the people made so far (by key) and the password hashes."""

    users: dict[str, User] = field(default_factory=dict)
    _hashes: dict[str, str] = field(default_factory=dict)

    def password_hash(self, role: str) -> str:
        # Argon2id is deliberately slow: hash each demo password once per run.
        if role not in self._hashes:
            self._hashes[role] = hash_password(PASSWORDS[role])
        return self._hashes[role]


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[DemoContext], dict | None]
    logins: tuple[DemoLogin, ...] = ()


@dataclass
class SeedResult:
    skipped: bool
    counts: dict[str, dict] = field(default_factory=dict)


# Helpers for steps ---------------------------------------------------------------------


def find_user(email: str) -> User | None:
    return db.session.execute(
        select(User).where(func.lower(User.email) == email.lower())
    ).scalar_one_or_none()


def demo_user(
    ctx: DemoContext,
    email: str,
    name: str,
    password_role: str,
    *,
    staff_roles: tuple[str, ...] = (),
    totp: bool = False,
) -> tuple[User, bool]:
    """Find or create a verified demo account. Returns (user, created)."""
    user = find_user(email)
    if user is not None:
        return user, False
    now = utcnow()
    user = User(
        email=email,
        name=name,
        password_hash=ctx.password_hash(password_role),
        email_verified_at=now,
        password_changed_at=now,
    )
    if totp:
        user.totp_secret = pyotp.random_base32()
        user.totp_enabled_at = now
    db.session.add(user)
    db.session.flush()
    for role in staff_roles:
        db.session.add(UserRole(user_id=user.id, role=role))
    db.session.flush()
    return user, True


def demo_partnership(name: str, areas: list[str]) -> tuple[Partnership, bool]:
    partnership = db.session.execute(
        select(Partnership).where(Partnership.name == name)
    ).scalar_one_or_none()
    if partnership is not None:
        return partnership, False
    partnership = Partnership(name=name, local_authority_areas="\n".join(areas))
    db.session.add(partnership)
    db.session.flush()
    return partnership, True


def demo_organisation(
    legal_name: str, trading_name: str | None = None
) -> tuple[Organisation, bool]:
    organisation = db.session.execute(
        select(Organisation).where(Organisation.legal_name == legal_name)
    ).scalars().first()
    if organisation is not None:
        return organisation, False
    organisation = Organisation(legal_name=legal_name, trading_name=trading_name)
    db.session.add(organisation)
    db.session.flush()
    return organisation, True


def join(user: User, organisation: Organisation, role: str) -> bool:
    if user.membership is not None:
        return False
    db.session.add(OrganisationMember(organisation_id=organisation.id, user=user, role=role))
    db.session.flush()
    db.session.expire(user, ["membership"])
    return True


# Step: staff, suppliers and partnerships -----------------------------------------------

STAFF = [
    ("admin@panel.example", "Alex Morgan", "admin", (StaffRole.ADMIN,),
     "Administrator: accounts, roles, partnerships, audit"),
    ("commissioner@panel.example", "Priya Shah", "commissioner", (StaffRole.COMMISSIONER,),
     "Commissioner: pool decisions, commissions"),
    ("evaluator@panel.example", "Daniel Okoye", "evaluator", (StaffRole.EVALUATOR,),
     "Evaluator: scores bids"),
]

SUPPLIERS = [
    # legal name, trading name, (owner e-mail, name), (member e-mail, name)
    ("Hartley Review Associates Ltd", "Hartley Reviews",
     ("owner@hartley-reviews.example", "Helen Hartley"),
     ("member@hartley-reviews.example", "Tom Fielding")),
    ("University of Wessex", "Wessex Centre for Child Protection Research",
     ("owner@wessex-research.example", "Professor Ruth Campbell"),
     ("member@wessex-research.example", "Dr Imran Siddiqui")),
]

# Real English local safeguarding children partnerships and the areas they cover.
PARTNERSHIPS = [
    ("Leeds Safeguarding Children Partnership", ["Leeds"]),
    ("Berkshire West Safeguarding Children Partnership",
     ["Reading", "West Berkshire", "Wokingham"]),
    ("Birmingham Safeguarding Children Partnership", ["Birmingham"]),
    ("Cumbria Safeguarding Children Partnership", ["Cumberland", "Westmorland and Furness"]),
    ("Lincolnshire Safeguarding Children Partnership", ["Lincolnshire"]),
    ("North Yorkshire Safeguarding Children Partnership", ["North Yorkshire"]),
]

PARTNERSHIP_MEMBERS = [
    # e-mail, name, partnership, status
    ("partnership@leeds-lscp.example", "Sarah Bennett",
     "Leeds Safeguarding Children Partnership", PartnershipStatus.APPROVED),
    ("pending@berkshirewest-lscp.example", "Mark Ellison",
     "Berkshire West Safeguarding Children Partnership", PartnershipStatus.PENDING),
]

ACCOUNT_LOGINS = (
    *(DemoLogin(email, role, description, totp=True) for email, _, role, _, description in STAFF),
    DemoLogin("owner@hartley-reviews.example", "supplier", "Supplier owner (Hartley Reviews)"),
    DemoLogin("member@hartley-reviews.example", "supplier", "Supplier member (Hartley Reviews)"),
    DemoLogin("owner@wessex-research.example", "supplier", "Supplier owner (Wessex Centre)"),
    DemoLogin("member@wessex-research.example", "supplier", "Supplier member (Wessex Centre)"),
    DemoLogin("partnership@leeds-lscp.example", "partnership",
              "Partnership member, approved (Leeds)"),
    DemoLogin("pending@berkshirewest-lscp.example", "partnership",
              "Partnership member, waiting for approval (Berkshire West)"),
)


def seed_accounts(ctx: DemoContext) -> dict:
    counts = {"users": 0, "organisations": 0, "partnerships": 0}
    for email, name, password_role, roles, _ in STAFF:
        user, created = demo_user(ctx, email, name, password_role, staff_roles=roles, totp=True)
        ctx.users[password_role] = user
        counts["users"] += created

    for index, (legal, trading, owner, member) in enumerate(SUPPLIERS):
        organisation, created = demo_organisation(legal, trading)
        counts["organisations"] += created
        for (email, name), role, key in (
            (owner, OrgRole.OWNER, f"supplier_owner_{index}"),
            (member, OrgRole.MEMBER, f"supplier_member_{index}"),
        ):
            user, created = demo_user(ctx, email, name, "supplier")
            counts["users"] += created
            join(user, organisation, role)
            ctx.users[key] = user

    partnerships = {}
    for name, areas in PARTNERSHIPS:
        partnership, created = demo_partnership(name, areas)
        partnerships[name] = partnership
        counts["partnerships"] += created

    now = utcnow()
    for email, name, partnership_name, status in PARTNERSHIP_MEMBERS:
        user, created = demo_user(ctx, email, name, "partnership")
        if created:
            user.partnership_id = partnerships[partnership_name].id
            user.partnership_status = status
            if status == PartnershipStatus.APPROVED:
                user.partnership_decided_at = now
        counts["users"] += created
        ctx.users[f"partnership_{status}"] = user
    db.session.flush()
    return counts


def seed_pool(ctx: DemoContext) -> dict | None:
    """The pool's own demo step (portal/demo_pool.py), when that area is installed."""
    try:
        from portal.demo_pool import seed_demo_pool
    except ImportError:
        return None
    return seed_demo_pool(
        commissioner=ctx.users.get("commissioner"), password_hash=ctx.password_hash("supplier")
    )


def optional_step(module: str, function: str) -> Callable[[DemoContext], dict | None]:
    """A step whose code lives in another area's module, called as function(ctx); it is
    skipped when that area is not installed."""

    def run(ctx: DemoContext) -> dict | None:
        try:
            step = getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError):
            return None
        return step(ctx)

    return run


def _pool_owner_login() -> tuple[DemoLogin, ...]:
    try:
        from portal.demo_pool import MEMBERS
    except ImportError:
        return ()
    name = MEMBERS[0][0]
    slug = "".join(ch for ch in name.lower() if ch.isalnum())[:30]  # as demo_pool does
    description = f"Supplier owner, pool member ({name})"
    return (DemoLogin(f"owner@{slug}.example", "supplier", description),)


def _evaluation_logins() -> tuple[DemoLogin, ...]:
    try:
        from portal.demo_evaluation import evaluation_logins
    except ImportError:
        return ()
    return evaluation_logins()


STEPS: list[Step] = [
    Step("accounts", seed_accounts, ACCOUNT_LOGINS),
    Step("pool", seed_pool, _pool_owner_login()),
    Step("profiles", optional_step("portal.demo_profiles", "seed_profiles_step")),
    Step("commissions", optional_step("portal.demo_commissions", "seed_commissions_step")),
    Step("bids", optional_step("portal.demo_bids", "seed_bids_step")),
    Step("evaluation", optional_step("portal.demo_evaluation", "seed_evaluation_step"),
         _evaluation_logins()),
    Step("award", optional_step("portal.demo_award", "seed_award_step")),
    Step("directory", optional_step("portal.demo_directory", "seed_directory_step")),
]


def register_step(step: Step, *, after: str | None = None) -> None:
    """Add a step (once), at the end or right after the step named `after`."""
    if any(s.name == step.name for s in STEPS):
        return
    if after is None:
        STEPS.append(step)
        return
    index = next(i for i, s in enumerate(STEPS) if s.name == after)
    STEPS.insert(index + 1, step)


def logins() -> list[DemoLogin]:
    return [login for step in STEPS for login in step.logins]


def has_users() -> bool:
    return db.session.execute(select(User.id).limit(1)).first() is not None


def seed(if_empty: bool = False) -> SeedResult:
    """Run every step in order, in the caller's transaction (the caller commits)."""
    if if_empty and has_users():
        return SeedResult(skipped=True)
    ctx = DemoContext()
    result = SeedResult(skipped=False)
    for step in STEPS:
        result.counts[step.name] = step.run(ctx) or {}
    created = {
        name: {k: v for k, v in counts.items() if v}
        for name, counts in result.counts.items()
        if any(counts.values())
    }
    if created:
        audit.record("demo.seeded", actor=None, data={"created": created})
    return result
