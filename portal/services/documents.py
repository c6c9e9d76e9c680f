"""Documents: keep an upload, and answer a download.

`store_upload` is how every area of the portal keeps a file. It runs the checks in
`portal.uploads`, puts the bytes in storage under `<area>/<uuid>` and adds the Document
row and its `document.uploaded` audit event to the current transaction (no commit).

    try:
        document = store_upload(current_user, form.file.data, area="bids")
    except UploadRejected as exc:
        form.file.errors.append(exc.message)       # a GOV.UK error message
        db.session.commit()                        # keeps a `document.infected` event
        return render_template(...), exc.status
    except StorageError:
        ...                                        # nothing saved: "try again later"

When the upload is refused nothing has been stored and no Document row exists; only an
infected file leaves something in the session: its `document.infected` audit event.
Call store_upload before the use case makes its own changes, so that committing after a
refusal keeps that event and nothing else.
"""

from __future__ import annotations

import logging
import os
import re
import uuid

from flask import Response, current_app, redirect, send_file
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import NotFound

from portal import audit
from portal.extensions import db
from portal.models.document import Document, ScanResult
from portal.storage import StorageError, attachment_disposition, get_storage, serving_type
from portal.uploads import UploadRejected, inspect_upload

log = logging.getLogger(__name__)

_AREA = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def new_storage_key(area: str) -> str:
    if not _AREA.match(area):
        raise ValueError(f"bad document area {area!r}: lower-case letters, digits, - and _")
    return f"{area}/{uuid.uuid4()}"


def store_upload(actor, file: FileStorage | None, *, area: str) -> Document:
    """Check, store and record one uploaded file for `actor` (the signed-in user).

    Raises UploadRejected (a message for the user, nothing stored) or StorageError
    (the store failed; nothing stored, no row, no audit event)."""
    try:
        upload = inspect_upload(file)
    except UploadRejected as exc:
        if exc.reason == "infected":
            audit.record(
                "document.infected",
                actor=actor,
                object_type="documents",
                data={
                    "area": area,
                    "original_name": exc.details.get("original_name"),
                    "size": exc.details.get("size"),
                    "sha256": exc.details.get("sha256"),
                    "signature": exc.details.get("signature"),
                },
            )
            log.warning(
                "Infected upload refused (user %s, signature %s, sha256 %s)",
                getattr(actor, "id", None),
                exc.details.get("signature"),
                exc.details.get("sha256"),
            )
        raise

    storage = get_storage(current_app)
    key = new_storage_key(area)
    with upload:
        with upload.open() as stream:
            try:
                storage.put(key, stream, upload.content_type, upload.size)
            except StorageError as exc:
                log.error("Storing an upload failed: %s", exc)
                raise
        document = Document(
            storage_key=key,
            area=area,
            original_name=upload.original_name,
            content_type=upload.content_type,
            size=upload.size,
            sha256=upload.sha256,
            uploaded_by_id=getattr(actor, "id", None),
            scan_result=ScanResult(upload.scan_result),
        )
        try:
            db.session.add(document)
            audit.record(
                "document.uploaded",
                actor=actor,
                obj=document,
                data={
                    "area": area,
                    "content_type": upload.content_type,
                    "size": upload.size,
                    "sha256": upload.sha256,
                    "scan_result": upload.scan_result,
                },
            )
            db.session.flush()
        except Exception:
            # The row could not be written: do not leave an orphan file behind.
            try:
                storage.delete(key)
            except StorageError:
                log.exception("Could not remove orphan upload %s", key)
            raise
    return document


def send_document(document: Document, *, checked_for) -> Response:
    """The download response for `document`, for the user `checked_for`.

    The route decides who may download (`document.can_download(user)`, answering 404
    otherwise) and names that user here; this checks again, so a route that forgot
    cannot leak a file. S3: a 302 to a presigned GET valid S3_PRESIGN_SECONDS (never
    logged). Local storage: the file streamed as an attachment."""
    if not document.can_download(checked_for):
        raise NotFound()
    storage = get_storage(current_app)
    url = storage.presigned_url(
        document.storage_key,
        document.original_name,
        document.content_type,
        current_app.config.get("S3_PRESIGN_SECONDS", 60),
    )
    if url is not None:
        response = redirect(url, code=302)
    else:
        stream = storage.open(document.storage_key)
        response = send_file(
            stream,
            mimetype=document.content_type,
            as_attachment=True,
            download_name=document.original_name,
            conditional=False,
            etag=False,
            max_age=0,
        )
        if hasattr(stream, "fileno"):
            response.content_length = os.fstat(stream.fileno()).st_size
        response.headers["Content-Type"] = serving_type(document.content_type)
        response.headers["Content-Disposition"] = attachment_disposition(document.original_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
