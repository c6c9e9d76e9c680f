"""The application shell: pages, headers, error pages, health checks."""

from __future__ import annotations

import logging
import re

import pytest

from portal import create_app


def test_home_page_names_the_service(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Reviewer Pool Portal" in response.data
    assert b'href="/accessibility"' in response.data
    assert b'href="/privacy"' in response.data
    assert b'href="/cookies"' in response.data


@pytest.mark.parametrize("path", ["/", "/no-such-page", "/healthz", "/static/portal.css"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "base-uri 'none'" in csp
    assert "object-src 'none'" in csp
    assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}'", csp)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_nonce_changes_per_request_and_matches_inline_script(client):
    first = client.get("/")
    second = client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", first.headers["Content-Security-Policy"]).group(1)
    other = re.search(r"'nonce-([^']+)'", second.headers["Content-Security-Policy"]).group(1)
    assert nonce != other
    assert f'nonce="{nonce}"'.encode() in first.data


def test_hsts_when_served_over_https(client):
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        ("get", "/no-such-page", 404, b"Page not found"),
        ("post", "/", 405, b"not allowed"),
    ],
)
def test_error_pages_use_the_service_layout(client, method, path, status, text):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert text in response.data
    assert b"govuk-footer" in response.data


def test_405_lists_allowed_methods(client):
    response = client.post("/")
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("code", [400, 403, 404, 405, 413, 429])
def test_every_client_error_has_a_page(app, code):
    from flask import abort

    app.add_url_rule(f"/boom-{code}", f"boom_{code}", lambda: abort(code))
    response = app.test_client().get(f"/boom-{code}")
    assert response.status_code == code
    assert b"govuk-heading-l" in response.data
    assert "Content-Security-Policy" in response.headers


def test_500_page_shows_reference_that_is_logged(app, caplog):
    def explode():
        raise RuntimeError("kaboom")

    app.add_url_rule("/explode", "explode", explode)
    with caplog.at_level(logging.ERROR, logger="portal.errors"):
        response = app.test_client().get("/explode")
    assert response.status_code == 500
    match = re.search(rb'id="error-reference">([0-9A-F]{12})<', response.data)
    assert match, response.data
    reference = match.group(1).decode()
    assert any(reference in record.getMessage() for record in caplog.records)
    assert b"kaboom" not in response.data
    assert "Content-Security-Policy" in response.headers


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "storage": "ok"}


def test_readyz_503_when_database_unreachable(tmp_path):
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "STORAGE_LOCAL_PATH": str(tmp_path),
        },
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "unavailable"


def test_readyz_503_when_storage_unreachable(app, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    app.config["STORAGE_LOCAL_PATH"] = str(blocker / "storage")
    app.extensions.pop("portal_storage", None)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["storage"] == "unavailable"


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    from portal.config import ProductionConfig

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_untrusted_host_refused(tmp_path):
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
            "TRUSTED_HOSTS": ["portal.example"],
        },
    )
    client = app.test_client()
    assert client.get("/healthz", base_url="http://evil.example").status_code == 400
    assert client.get("/healthz", base_url="http://portal.example").status_code == 200
