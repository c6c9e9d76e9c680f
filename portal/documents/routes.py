"""GET /documents/<id>: the one download route. Permission first, then the file."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user, login_required

from portal.access import second_factor_passed
from portal.extensions import db
from portal.models.document import Document
from portal.services.documents import send_document

bp = Blueprint("documents", __name__)


@bp.get("/documents/<document_id>")
@login_required
def download(document_id: str):
    if current_user.is_staff and not second_factor_passed(current_user):
        # Staff reach documents through their roles: only with the second factor.
        return redirect(url_for("auth.second_factor", next=request.full_path))
    document = db.session.get(Document, document_id) if len(document_id) <= 32 else None
    if document is None or not document.can_download(current_user):
        abort(404)  # someone else's document looks exactly like a missing one
    return send_document(document, checked_for=current_user)
