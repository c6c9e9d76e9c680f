"""TLS to the mail server is verified: a certificate nobody vouches for is refused (and the
message waits in the outbox); the same server, once trusted, gets the message."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import OutboxEmail, OutboxStatus
from portal.outbox import deliver_due
from tests.fixtures.mailserver import SMTPTestServer

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture(params=["starttls", "implicit"])
def tls_server(request, certificate):
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if request.param == "starttls":
        server = SMTPTestServer(tls_context=context, require_starttls=True)
        settings = {"MAIL_USE_TLS": True}
    else:
        server = SMTPTestServer(ssl_context=context)
        settings = {"MAIL_USE_SSL": True}
    server.start()
    server.settings = server.app_config(**settings)
    yield server
    server.stop()


@pytest.fixture
def app_overrides(tls_server):
    return tls_server.settings


def the_email() -> OutboxEmail:
    db.session.expire_all()
    email = db.session.scalars(select(OutboxEmail)).one()
    db.session.commit()
    return email


def test_an_untrusted_certificate_is_refused(tls_server, queue_test_email):
    queue_test_email(to="ada@example.org")
    db.session.commit()

    report = deliver_due()

    assert report.sent == 0 and report.retrying == 1
    email = the_email()
    assert email.status == OutboxStatus.PENDING
    assert "CERTIFICATE_VERIFY_FAILED" in email.last_error
    assert tls_server.messages == []


def test_a_trusted_certificate_is_accepted(tls_server, certificate, queue_test_email,
                                           monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # trust our own certificate
    queue_test_email(to="ada@example.org", subject="Over TLS")
    db.session.commit()

    assert deliver_due().sent == 1
    assert tls_server.find(to="ada@example.org", subject_contains="Over TLS")
    assert the_email().status == OutboxStatus.SENT
