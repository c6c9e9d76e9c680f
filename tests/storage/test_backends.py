"""The Storage interface, the same tests on local disk and on a real S3 server."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from portal.storage import StorageError, attachment_disposition
from portal.storage.local import LocalStorage
from portal.storage.s3 import S3Storage


def fetch(url: str):
    """GET a URL from the test server: (status, headers, body)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_round_trip(any_storage):
    data = os.urandom(300_000)
    any_storage.put("bids/one", io.BytesIO(data), "application/pdf", len(data))
    assert any_storage.exists("bids/one")
    with any_storage.open("bids/one") as stored:
        back = stored.read()
    assert hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest()
    any_storage.delete("bids/one")
    assert not any_storage.exists("bids/one")
    with pytest.raises(StorageError, match="not found"):
        any_storage.open("bids/one")


def test_check_passes_on_a_working_store(any_storage):
    any_storage.check()


def test_check_fails_clearly_for_a_missing_bucket(s3_server):
    storage = s3_server.storage(bucket="no-such-bucket-here", create=False)
    with pytest.raises(StorageError, match="bucket check failed for bucket no-such-bucket-here"):
        storage.check()


def test_local_check_fails_for_an_unusable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match="unusable"):
        LocalStorage(blocker / "storage").check()
    with pytest.raises(StorageError, match="could not store"):
        LocalStorage(blocker / "storage").put("a/b", io.BytesIO(b"x"), "text/plain", 1)


def test_local_keys_cannot_escape(tmp_path):
    with pytest.raises(StorageError):
        LocalStorage(tmp_path).put("../outside", io.BytesIO(b"x"), "text/plain", 1)


def test_s3_unreachable_gives_a_clear_error():
    storage = S3Storage(
        "portal-documents",
        endpoint_url="http://127.0.0.1:9",
        region="eu-west-2",
        access_key_id="test",
        secret_access_key="test",
        max_attempts=1,
        connect_timeout=1,
    )
    with pytest.raises(StorageError, match=r"S3 upload failed for s3://portal-documents/a/b"):
        storage.put("a/b", io.BytesIO(b"x"), "text/plain", 1)
    with pytest.raises(StorageError, match="bucket check failed"):
        storage.check()


# --- presigned links on a real server ---------------------------------------------------


@pytest.fixture
def stored(s3_storage):
    data = b"%PDF-1.4 pretend\n"
    s3_storage.put("bids/abc", io.BytesIO(data), "application/pdf", len(data))
    return s3_storage, data


NAME = "Méthodologie \u2013 final \"v2\".pdf"


def test_presigned_link_downloads_as_attachment(stored):
    storage, data = stored
    url = storage.presigned_url("bids/abc", NAME, "application/pdf", 60)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["X-Amz-Expires"] == "60"
    status, headers, body = fetch(url)
    assert status == 200
    assert body == data
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"] == attachment_disposition(NAME)
    assert headers["Content-Disposition"].startswith('attachment; filename="Methodologie')


def _tamper(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_tampered_links_are_refused(stored):
    storage, _ = stored
    storage.put("bids/other", io.BytesIO(b"secret"), "text/plain", 6)
    url = storage.presigned_url("bids/abc", "a.pdf", "application/pdf", 60)
    assert fetch(url)[0] == 200

    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert fetch(_tamper(url, **{"X-Amz-Signature": flipped}))[0] == 403
    assert fetch(_tamper(url, **{"X-Amz-Expires": "604800"}))[0] == 403
    assert fetch(_tamper(url, **{"response-content-type": "text/html"}))[0] == 403
    other = url.replace("/bids/abc?", "/bids/other?")
    assert other != url
    assert fetch(other)[0] == 403


def test_expired_link_is_refused(stored):
    storage, data = stored
    url = storage.presigned_url("bids/abc", "a.pdf", "application/pdf", 1)
    time.sleep(2.2)
    status, _, body = fetch(url)
    assert status == 403
    assert data not in body


def test_presigned_url_is_never_logged(stored, caplog):
    storage, _ = stored
    caplog.set_level(logging.DEBUG)
    url = storage.presigned_url("bids/abc", "a.pdf", "application/pdf", 60)
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    assert caplog.records, "DEBUG logging from botocore was captured"
    assert signature not in caplog.text
    assert url not in caplog.text


def test_missing_s3_server_fails_loudly(monkeypatch):
    """No silent skip: without .venv-s3 the S3 tests fail and say what to run."""
    from pathlib import Path

    from tests.fixtures import s3server

    monkeypatch.setattr(s3server, "MINISTACK", Path("/nonexistent/.venv-s3/bin/ministack"))
    with pytest.raises(pytest.fail.Exception, match="Run `make s3server`"):
        s3server.MinistackServer()
