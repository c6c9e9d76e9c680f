"""The upload pipeline behind a real form post, as an area's route would use it
(services/documents.py docstring), on both backends."""

from __future__ import annotations

import io

import pytest
from flask import request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Document
from portal.services.documents import store_upload
from portal.uploads import UploadRejected
from tests.fixtures.users import make_supplier
from tests.storage import samples


@pytest.fixture
def upload_app(storage_app):
    @login_required
    def upload_view():
        try:
            document = store_upload(current_user, request.files.get("file"), area="tests")
        except UploadRejected as exc:
            db.session.commit()  # keeps a document.infected event, nothing else changed
            return {"error": exc.message}, exc.status
        db.session.commit()
        return {"id": document.id}, 201

    storage_app.add_url_rule("/test-upload", "test_upload", upload_view, methods=["POST"])
    return storage_app


def post_file(client, data: bytes, filename: str):
    return client.post(
        "/test-upload",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def documents() -> int:
    return db.session.scalar(select(func.count()).select_from(Document))


def test_upload_then_download(upload_app, client, sign_in):
    sign_in(make_supplier())
    response = post_file(client, samples.xlsx(), "Prices 2026.xlsx")
    assert response.status_code == 201, response.get_data(as_text=True)
    download = client.get(f"/documents/{response.get_json()['id']}")
    assert download.status_code in (200, 302)


def test_whole_request_over_max_content_length_gets_the_413_page(upload_app, client, sign_in):
    sign_in(make_supplier())
    upload_app.config["MAX_CONTENT_LENGTH"] = 50_000
    response = post_file(client, b"a" * 60_000, "big.txt")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "The file or form you sent is too large" in page
    assert "govuk-heading-l" in page
    assert documents() == 0


def test_file_over_the_per_file_limit_gets_413_and_a_message(upload_app, client, sign_in):
    sign_in(make_supplier())
    upload_app.config["UPLOAD_MAX_BYTES"] = 10 * 1024
    response = post_file(client, b"a" * (10 * 1024 + 1), "big.txt")
    assert response.status_code == 413
    assert response.get_json()["error"] == "The selected file must be smaller than 10 KB"
    assert documents() == 0


def test_disguised_program_is_refused(upload_app, client, sign_in):
    sign_in(make_supplier())
    response = post_file(client, samples.pe_executable(), "cv.pdf")
    assert response.status_code == 400
    assert "contains a program" in response.get_json()["error"]
    assert documents() == 0


def test_storage_down_shows_the_service_problem_page(upload_app, client, sign_in):
    sign_in(make_supplier())
    if upload_app.config["STORAGE_BACKEND"] == "s3":
        upload_app.config.update(
            S3_ENDPOINT_URL="http://127.0.0.1:9", S3_MAX_ATTEMPTS=1, S3_CONNECT_TIMEOUT=1
        )
    else:
        blocker = upload_app.config["STORAGE_LOCAL_PATH"] + ".blocker"
        with open(blocker, "w") as f:
            f.write("not a folder")
        upload_app.config["STORAGE_LOCAL_PATH"] = blocker + "/storage"
    upload_app.extensions.pop("portal_storage", None)
    response = post_file(client, samples.PDF_BYTES, "report.pdf")
    assert response.status_code == 503
    assert "Sorry, there is a problem with the service" in response.get_data(as_text=True)
    assert documents() == 0
    uploaded = select(func.count()).where(AuditEvent.action == "document.uploaded")
    assert db.session.scalar(uploaded) == 0
