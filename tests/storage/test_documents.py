"""Keeping uploads as Documents, and downloading them, on both storage backends."""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Document
from portal.services.documents import send_document, store_upload
from portal.storage import StorageError, get_storage
from portal.uploads import UploadRejected
from tests.fixtures.s3server import MinistackServer
from tests.fixtures.users import make_staff, make_supplier
from tests.storage import samples
from tests.storage.samples import upload
from tests.storage.test_backends import fetch
from tests.storage.test_uploads import FakeClamd


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_store_upload_round_trip(storage_app):
    owner = make_supplier()
    data = samples.docx()
    document = store_upload(owner, upload(data, "Our methodology.docx"), area="bids")
    db.session.commit()

    stored = db.session.get(Document, document.id)
    assert stored.original_name == "Our methodology.docx"
    assert stored.content_type.endswith("wordprocessingml.document")
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.uploaded_by_id == owner.id
    assert stored.scan_result == "not_scanned"
    assert stored.uploaded_at is not None
    area, _, random_part = stored.storage_key.partition("/")
    assert area == "bids" and len(random_part) == 36
    assert "methodology" not in stored.storage_key.lower()

    with get_storage(storage_app).open(stored.storage_key) as body:
        back = body.read()
    assert hashlib.sha256(back).hexdigest() == stored.sha256

    (event,) = events("document.uploaded")
    assert event.object_id == document.id
    assert event.actor_id == owner.id
    assert event.data["sha256"] == stored.sha256


def test_refused_upload_leaves_nothing(storage_app):
    owner = make_supplier()
    with pytest.raises(UploadRejected):
        store_upload(owner, upload(samples.docx(macros=True), "m.docx"), area="bids")
    db.session.commit()
    assert count(Document) == 0
    assert events("document.uploaded") == []


def test_bad_area_is_a_programming_error(app):
    with pytest.raises(ValueError, match="area"):
        store_upload(None, upload(b"hello", "a.txt"), area="../etc")


def test_infected_upload_is_refused_and_audited(app):
    owner = make_supplier()
    clamd = FakeClamd()
    try:
        app.config["CLAMD_ADDRESS"] = clamd.address
        with pytest.raises(UploadRejected) as info:
            store_upload(owner, upload(samples.EICAR, "eicar.txt"), area="bids")
        assert info.value.reason == "infected"
        db.session.commit()  # what a route does after a refusal: keeps the audit event
        assert count(Document) == 0
        (event,) = events("document.infected")
        assert event.actor_id == owner.id
        assert event.data["signature"] == "Eicar-Test-Signature"
        assert event.data["original_name"] == "eicar.txt"

        clean = store_upload(owner, upload(b"all fine", "fine.txt"), area="bids")
        assert clean.scan_result == "clean"
    finally:
        clamd.close()


def test_storage_failure_leaves_no_row(app, tmp_path):
    owner = make_supplier()
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the storage folder should be")
    app.config["STORAGE_LOCAL_PATH"] = str(blocker / "storage")
    app.extensions.pop("portal_storage", None)
    with pytest.raises(StorageError, match="could not store the file"):
        store_upload(owner, upload(samples.PDF_BYTES, "a.pdf"), area="bids")
    db.session.rollback()
    assert count(Document) == 0
    assert events("document.uploaded") == []


class StopServerWhileReading:
    """Wraps the file being uploaded; stops the S3 server once `after` bytes were read."""

    def __init__(self, fileobj, server: MinistackServer, after: int):
        self._fileobj, self._server, self._after, self._read = fileobj, server, after, 0
        self.stopped = False

    def read(self, size=-1):
        chunk = self._fileobj.read(size)
        self._read += len(chunk)
        if self._read >= self._after and not self.stopped:
            self.stopped = True
            self._server.stop()
        return chunk

    def __getattr__(self, name):
        return getattr(self._fileobj, name)


def test_s3_server_stopped_mid_upload(app, monkeypatch):
    """A dedicated server, stopped while the file is on its way: a clear error, no
    Document row, no audit event, and the request's transaction still usable."""
    owner = make_supplier()
    with MinistackServer() as server:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        app.config.update(
            STORAGE_BACKEND="s3",
            S3_ENDPOINT_URL=server.endpoint_url,
            S3_BUCKET="stopping-bucket",
            S3_CONNECT_TIMEOUT=1,
        )
        app.extensions.pop("portal_storage", None)
        storage = get_storage(app)
        storage.create_bucket()

        real_put = storage.put
        wrappers = []

        def put(key, fileobj, content_type, size):
            wrappers.append(StopServerWhileReading(fileobj, server, after=256 * 1024))
            return real_put(key, wrappers[-1], content_type, size)

        monkeypatch.setattr(storage, "put", put)
        data = b"name,score\n" + b"x,1\n" * (1024 * 1024)  # about 4 MB of CSV
        with pytest.raises(StorageError) as info:
            store_upload(owner, upload(data, "scores.csv"), area="bids")
        assert wrappers and wrappers[0].stopped, "the server went away during the upload"
        message = str(info.value)
        assert message.startswith("S3 upload failed for s3://stopping-bucket/bids/")
        assert server.endpoint_url in message
        assert "X-Amz-Signature" not in message

    db.session.rollback()
    assert count(Document) == 0
    assert events("document.uploaded") == []


# --- downloads --------------------------------------------------------------------------


@pytest.fixture
def owned_document(storage_app):
    owner = make_supplier(email="owner@a.example")
    data = upload("Zoë,1\n".encode(), "Scores \u2013 Zoë.csv")
    document = store_upload(owner, data, area="general")
    db.session.commit()
    return owner, document


def test_download_by_the_uploader(storage_app, client, sign_in, owned_document):
    owner, document = owned_document
    sign_in(owner)
    response = client.get(f"/documents/{document.id}")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if storage_app.config["STORAGE_BACKEND"] == "s3":
        assert response.status_code == 302
        location = response.headers["Location"]
        query = dict(parse_qsl(urlsplit(location).query))
        assert query["X-Amz-Expires"] == "60"
        status, headers, body = fetch(location)
    else:
        assert response.status_code == 200
        status, headers, body = 200, response.headers, response.get_data()
    assert status == 200
    assert body == "Zoë,1\n".encode()
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Scores _ Zoe.csv"')
    assert "filename*=UTF-8''Scores%20%E2%80%93%20Zo%C3%AB.csv" in disposition


def test_download_refused_to_others(storage_app, client, sign_in, owned_document):
    _, document = owned_document
    assert client.get(f"/documents/{document.id}").status_code == 302  # sign in first
    sign_in(make_supplier(email="other@b.example"))
    assert client.get(f"/documents/{document.id}").status_code == 404
    assert client.get("/documents/" + "0" * 32).status_code == 404
    assert client.get("/documents/" + "x" * 200).status_code == 404


def test_admin_needs_the_second_factor(storage_app, client, sign_in, owned_document):
    _, document = owned_document
    admin = make_staff("admin")
    sign_in(admin, second_factor=False)
    response = client.get(f"/documents/{document.id}")
    assert response.status_code == 302
    assert "second" in response.headers["Location"]
    sign_in(admin)
    assert client.get(f"/documents/{document.id}").status_code in (200, 302)


def test_send_document_checks_again(storage_app, owned_document):
    _, document = owned_document
    from werkzeug.exceptions import NotFound

    with pytest.raises(NotFound):
        send_document(document, checked_for=make_supplier())


def test_download_link_is_never_logged(s3_app, client, sign_in, caplog):
    caplog.set_level(logging.DEBUG)
    owner = make_supplier()
    document = store_upload(owner, upload(samples.PDF_BYTES, "a.pdf"), area="bids")
    db.session.commit()
    sign_in(owner)
    response = client.get(f"/documents/{document.id}")
    location = response.headers["Location"]
    signature = dict(parse_qsl(urlsplit(location).query))["X-Amz-Signature"]
    assert fetch(location)[0] == 200
    assert signature not in caplog.text
    assert location not in caplog.text


def test_readyz_reports_unreachable_s3(app, client):
    app.config.update(
        STORAGE_BACKEND="s3",
        S3_ENDPOINT_URL="http://127.0.0.1:9",
        S3_BUCKET="portal-documents",
        S3_MAX_ATTEMPTS=1,
        S3_CONNECT_TIMEOUT=1,
    )
    app.extensions.pop("portal_storage", None)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["storage"] == "unavailable"


def test_readyz_ok_on_s3(s3_app, client):
    assert client.get("/readyz").status_code == 200
