"""All models, imported here so metadata (and Alembic) sees every table."""

from portal.models.accounts import (
    Organisation,
    OrganisationInvitation,
    OrganisationMember,
    OrgRole,
    Partnership,
    PartnershipStatus,
    RecoveryCode,
    StaffRole,
    User,
    UserRole,
)
from portal.models.audit import AuditEvent, AuditHead
from portal.models.base import UTCDateTime, utcnow
from portal.models.categories import ServiceCategory
from portal.models.document import Document, ScanResult
from portal.models.outbox import OutboxEmail, OutboxStatus
from portal.models.profiles import (
    DirectoryConsent,
    ExpertiseTag,
    OrganisationRegion,
    ReviewerCompetence,
    ReviewerProfile,
    ReviewerPublication,
    ReviewerRegion,
    ReviewerSensitiveData,
)

__all__ = [
    "AuditEvent",
    "AuditHead",
    "DirectoryConsent",
    "Document",
    "ExpertiseTag",
    "OrgRole",
    "Organisation",
    "OrganisationInvitation",
    "OrganisationMember",
    "OrganisationRegion",
    "OutboxEmail",
    "OutboxStatus",
    "Partnership",
    "PartnershipStatus",
    "RecoveryCode",
    "ReviewerCompetence",
    "ReviewerProfile",
    "ReviewerPublication",
    "ReviewerRegion",
    "ReviewerSensitiveData",
    "ScanResult",
    "ServiceCategory",
    "StaffRole",
    "UTCDateTime",
    "User",
    "UserRole",
    "utcnow",
]
