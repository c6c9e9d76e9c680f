"""GET /documents/<id>: the one download route. Permission first, then the file.

The blueprint also answers StorageError for the whole app: when the document store is
down, any page that stores or fetches a file shows the GOV.UK "problem with the service"
page with a reference (also in the log) and status 503, and nothing is saved.
"""

from __future__ import annotations

import logging
import secrets

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user, login_required

from portal.access import second_factor_passed
from portal.errors import render_error
from portal.extensions import db
from portal.models.document import Document
from portal.services.documents import send_document
from portal.storage import StorageError

bp = Blueprint("documents", __name__)
log = logging.getLogger(__name__)


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


@bp.app_errorhandler(StorageError)
def storage_unavailable(error: StorageError):
    reference = secrets.token_hex(6).upper()
    log.error("Document storage failed, reference %s: %s", reference, error)
    db.session.rollback()
    body, _ = render_error(500, reference=reference)
    return body, 503
