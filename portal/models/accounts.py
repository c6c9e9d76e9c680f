"""People, their roles, supplier organisations and local safeguarding partnerships."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import crypto
from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow


class StaffRole(enum.StrEnum):
    COMMISSIONER = "commissioner"
    EVALUATOR = "evaluator"
    ADMIN = "admin"


class OrgRole(enum.StrEnum):
    OWNER = "owner"
    MEMBER = "member"


class PartnershipStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "partnership_status is null or partnership_status in "
            "('pending', 'approved', 'refused')",
            name="partnership_status_known",
        ),
        CheckConstraint(
            "(partnership_id is null) = (partnership_status is null)",
            name="partnership_status_with_partnership",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Flask-Login's alternative id: replaced on sign-out, password change and
    # deactivation, so a copied cookie stops working at once.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)

    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The authenticator seed, encrypted (portal.crypto): read and set it as `totp_secret`.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last accepted time step: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column()

    partnership_id: Mapped[int | None] = mapped_column(ForeignKey("partnerships.id"), index=True)
    partnership_status: Mapped[str | None] = mapped_column(String(20))
    partnership_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    partnership_refusal_reason: Mapped[str | None] = mapped_column(Text)

    partnership = relationship("Partnership", back_populates="users")
    staff_roles = relationship(
        "UserRole",
        cascade="all, delete-orphan",
        lazy="selectin",
        back_populates="user",
        foreign_keys="UserRole.user_id",
    )
    membership = relationship(
        "OrganisationMember", uselist=False, back_populates="user", lazy="selectin"
    )

    @property
    def totp_secret(self) -> str | None:
        if self.totp_secret_encrypted is None:
            return None
        return crypto.decrypt(self.totp_secret_encrypted)

    @totp_secret.setter
    def totp_secret(self, secret: str | None) -> None:
        self.totp_secret_encrypted = None if secret is None else crypto.encrypt(secret)

    # Flask-Login
    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.staff_roles}

    def has_role(self, role: StaffRole | str) -> bool:
        return str(role) in self.roles

    @property
    def is_staff(self) -> bool:
        return bool(self.roles)

    @property
    def is_admin(self) -> bool:
        return self.has_role(StaffRole.ADMIN)

    @property
    def is_commissioner(self) -> bool:
        return self.has_role(StaffRole.COMMISSIONER)

    @property
    def is_evaluator(self) -> bool:
        return self.has_role(StaffRole.EVALUATOR)

    @property
    def organisation(self) -> Organisation | None:
        return self.membership.organisation if self.membership else None

    @property
    def is_supplier(self) -> bool:
        return self.membership is not None

    @property
    def is_org_owner(self) -> bool:
        return self.membership is not None and self.membership.role == OrgRole.OWNER

    @property
    def is_partnership_member(self) -> bool:
        return self.partnership_id is not None

    @property
    def is_approved_partnership_member(self) -> bool:
        return self.partnership_status == PartnershipStatus.APPROVED

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def rotate_session_token(self) -> None:
        self.session_token = new_session_token()

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (
        UniqueConstraint("user_id", "role", name="uq_user_roles_user_role"),
        CheckConstraint("role in ('commissioner', 'evaluator', 'admin')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user = relationship("User", foreign_keys=[user_id], back_populates="staff_roles")


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Partnership(db.Model):
    """A local safeguarding partnership."""

    __tablename__ = "partnerships"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    local_authority_areas: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users = relationship("User", back_populates="partnership")

    @property
    def areas(self) -> list[str]:
        return [a.strip() for a in self.local_authority_areas.split("\n") if a.strip()]


class Organisation(db.Model):
    """A supplier organisation. An individual reviewer is an organisation of one."""

    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(
            "kind is null or kind in ('individual', 'sole_trader', 'company', "
            "'university', 'charity', 'partnership', 'other')",
            name="kind_known",
        ),
        CheckConstraint(
            "kind is null or kind <> 'company' or companies_house_number is not null",
            name="company_has_number",
        ),
        CheckConstraint(
            "kind is null or kind <> 'charity' or charity_number is not null",
            name="charity_has_number",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    trading_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Organisation details (work package: profiles). Null until the owner fills them in;
    # formats are validated by portal/profiles/forms.py and services/profiles.py.
    kind: Mapped[str | None] = mapped_column(String(30))
    companies_house_number: Mapped[str | None] = mapped_column(String(8))
    charity_number: Mapped[str | None] = mapped_column(String(10))
    address_line_1: Mapped[str | None] = mapped_column(String(200))
    address_line_2: Mapped[str | None] = mapped_column(String(200))
    town: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(8))
    website: Mapped[str | None] = mapped_column(String(300))
    is_sme: Mapped[bool | None] = mapped_column(Boolean)
    details_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    members = relationship(
        "OrganisationMember", back_populates="organisation", cascade="all, delete-orphan"
    )
    region_links = relationship(
        "OrganisationRegion", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def display_name(self) -> str:
        return self.trading_name or self.legal_name

    @property
    def regions(self) -> list[str]:
        from portal.models.profiles import REGION_CODES

        return sorted((r.region for r in self.region_links), key=REGION_CODES.index)

    @property
    def details_complete(self) -> bool:
        """True once the organisation details page has been completed (the pool
        application task list uses this)."""
        from portal.models.profiles import (
            KIND_REQUIRES_CHARITY_NUMBER,
            KIND_REQUIRES_COMPANY_NUMBER,
        )

        if not (self.kind and self.address_line_1 and self.town and self.postcode):
            return False
        if self.is_sme is None or not self.region_links:
            return False
        if self.kind in KIND_REQUIRES_COMPANY_NUMBER and not self.companies_house_number:
            return False
        return not (self.kind in KIND_REQUIRES_CHARITY_NUMBER and not self.charity_number)

    def can_edit_details(self, user: User | None) -> bool:
        return self.can_manage_team(user)

    def has_member(self, user: User | None) -> bool:
        return bool(
            user is not None
            and getattr(user, "membership", None) is not None
            and user.membership.organisation_id == self.id
        )

    def can_view(self, user: User | None) -> bool:
        return self.has_member(user) or bool(user and getattr(user, "is_staff", False))

    def can_manage_team(self, user: User | None) -> bool:
        return self.has_member(user) and user.membership.role == OrgRole.OWNER


class OrganisationMember(db.Model):
    __tablename__ = "organisation_members"
    __table_args__ = (CheckConstraint("role in ('owner', 'member')", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # A person belongs to at most one supplier organisation.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    role: Mapped[str] = mapped_column(String(20), default=OrgRole.MEMBER)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation = relationship("Organisation", back_populates="members", lazy="joined")
    user = relationship("User", back_populates="membership")


class OrganisationInvitation(db.Model):
    __tablename__ = "organisation_invitations"
    __table_args__ = (Index("ix_organisation_invitations_email", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation = relationship("Organisation")
