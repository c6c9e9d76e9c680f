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
from portal.models.commissions import (
    ClarificationQuestion,
    Commission,
    CommissionDocument,
    CommissionReferenceCounter,
    CommissionState,
    CommissionVersion,
    EvaluationCriterion,
    Invitation,
)
from portal.models.document import Document, ScanResult
from portal.models.outbox import OutboxEmail, OutboxStatus
from portal.models.pool import (
    ApplicationCategory,
    ApplicationEvidence,
    DeclarationAnswer,
    DeclarationQuestion,
    MembershipEvent,
    PoolApplication,
    PoolMembership,
)
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
    "ApplicationCategory",
    "ApplicationEvidence",
    "AuditEvent",
    "AuditHead",
    "ClarificationQuestion",
    "Commission",
    "CommissionDocument",
    "CommissionReferenceCounter",
    "CommissionState",
    "CommissionVersion",
    "DeclarationAnswer",
    "DeclarationQuestion",
    "DirectoryConsent",
    "Document",
    "EvaluationCriterion",
    "ExpertiseTag",
    "Invitation",
    "MembershipEvent",
    "OrgRole",
    "Organisation",
    "OrganisationInvitation",
    "OrganisationMember",
    "OrganisationRegion",
    "OutboxEmail",
    "OutboxStatus",
    "Partnership",
    "PartnershipStatus",
    "PoolApplication",
    "PoolMembership",
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
