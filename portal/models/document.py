"""Uploaded documents. The bytes live in storage; this row is the only place the name is."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow


class ScanResult(enum.StrEnum):
    NOT_SCANNED = "not_scanned"
    CLEAN = "clean"


def new_document_id() -> str:
    return uuid.uuid4().hex


# Areas whose documents belong to something else (an application, a bid...) register
# who may download them: DOWNLOAD_RULES[area] = rule(document, user) -> bool. A rule
# replaces the default (uploader or admin) for its area entirely, so an owner can also
# keep panel roles out. Registered by the owning model module when it is imported.
DOWNLOAD_RULES: dict[str, Callable[[Document, Any], bool]] = {}


def register_download_rule(area: str, rule: Callable[[Document, Any], bool]) -> None:
    DOWNLOAD_RULES[area] = rule


class Document(db.Model):
    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_document_id)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    area: Mapped[str] = mapped_column(String(40))
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scan_result: Mapped[str] = mapped_column(String(20), default=ScanResult.NOT_SCANNED)

    uploaded_by = relationship("User")

    def can_download(self, user) -> bool:
        """Who may fetch the file. The one place this is decided.

        For now: the person who uploaded it, and admins. When documents belong to
        something (a bid, an application, a deliverable), this will ask that owner
        instead, and the admin fallback must go where the owner says so (sealed bids
        stay sealed from every panel role until the commission is opened)."""
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        if not user.is_active:
            return False
        rule = DOWNLOAD_RULES.get(self.area)
        if rule is not None:
            return bool(rule(self, user))
        if self.uploaded_by_id is not None and self.uploaded_by_id == user.id:
            return True
        return bool(user.is_admin)
