"""The S3 client is set up for S3-compatible servers: path-style addressing (the bucket
in the path, not in the host name) and checksums only when an operation requires one
(boto3 >= 1.36 otherwise adds CRC32 checksums that such servers may reject).

Checked on the storage the app builds from its configuration (as in production), both
in the client's settings and in what actually goes over the wire to a real server."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest

from portal.storage import get_storage
from portal.storage.s3 import S3Storage


@pytest.fixture
def storage(s3_app) -> S3Storage:
    storage = get_storage(s3_app)
    assert isinstance(storage, S3Storage)
    return storage


def test_client_uses_path_style_addressing(storage):
    assert storage.client.meta.config.s3["addressing_style"] == "path"


def test_client_calculates_checksums_only_when_required(storage):
    config = storage.client.meta.config
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"


def test_requests_put_the_bucket_in_the_path_and_send_no_checksum(storage, s3_server):
    sent = []

    def record(request, **_):
        sent.append((request.url, dict(request.headers)))

    storage.client.meta.events.register("before-send.s3.PutObject", record)
    try:
        storage.put("bids/checksum", io.BytesIO(b"plain text"), "text/plain", 10)
    finally:
        storage.client.meta.events.unregister("before-send.s3.PutObject", record)

    assert len(sent) == 1
    url, headers = sent[0]
    endpoint = urlsplit(s3_server.endpoint_url)
    parts = urlsplit(url)
    assert parts.netloc == endpoint.netloc  # no "<bucket>." in front of the host
    assert parts.path == f"/{storage.bucket}/bids/checksum"
    names = {name.lower() for name in headers}
    assert not {name for name in names if name.startswith("x-amz-checksum-")}, names
    assert "x-amz-sdk-checksum-algorithm" not in names
    assert storage.exists("bids/checksum")


def test_links_name_the_bucket_in_the_path_for_a_named_host():
    """botocore falls back to path style for an IP address such as the test server's, so
    the wire test above cannot tell the styles apart; a host name can (virtual style would
    give https://portal-docs.s3.example.test/...). Signing a link needs no server."""
    storage = S3Storage("portal-docs", endpoint_url="https://s3.example.test",
                        region="eu-west-2", access_key_id="test", secret_access_key="test")

    link = storage.presigned_url("bids/link", "report.pdf", "application/pdf", 60)

    parts = urlsplit(link)
    assert parts.netloc == "s3.example.test"
    assert parts.path == "/portal-docs/bids/link"
