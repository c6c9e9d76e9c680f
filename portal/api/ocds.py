"""Open data: OCDS 1.1 release and record packages (public, no sign-in).

    GET /api/ocds/releases?page=N&per_page=M   every release, oldest first, paginated
    GET /api/ocds/releases/<release_id>        one release, in its own package
    GET /api/ocds/records/<ocid>               the record of one commission

An OCDS package must hold at least one release (or record), so an empty page, an
unknown release or an unknown ocid is a JSON 404, never an invalid package.
Registered on the `api` blueprint (portal/api/__init__.py imports this module) and
described in its OpenAPI document (portal/api/openapi.py `register_path`).
"""

from __future__ import annotations

from flask import jsonify, request, url_for
from sqlalchemy import select

from portal import ocds
from portal.api import bp
from portal.api.openapi import register_path, register_schema
from portal.extensions import db
from portal.models.award import OcdsRelease

PER_PAGE_DEFAULT = 100
PER_PAGE_MAX = 250


def _error(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _int_arg(name: str, default: int, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 7:
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _policy() -> str:
    return url_for("award.open_data", _external=True)


def _release_url(row: OcdsRelease) -> str:
    return url_for("api.ocds_release", release_id=row.release_id, _external=True)


@bp.get("/ocds/releases")
def ocds_releases():
    page = _int_arg("page", 1, 1, 10_000_000)
    per_page = _int_arg("per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX)
    if page is None or per_page is None:
        return _error(400, f"page must be a whole number from 1; per_page from 1 to "
                           f"{PER_PAGE_MAX}")
    rows, total = ocds.page_of_releases(page, per_page)
    if not rows:
        if total == 0:
            return _error(404, "No releases have been published yet")
        return _error(404, "There is no such page of releases")
    pages = -(-total // per_page)

    def page_url(number: int) -> str:
        return url_for("api.ocds_releases", page=number, per_page=per_page, _external=True)

    links = {"next": page_url(page + 1) if page < pages else None,
             "prev": page_url(page - 1) if page > 1 else None}
    package = ocds.release_package(
        [row.data for row in rows],
        uri=page_url(page),
        # Generated on demand: the date of the last change to what the package holds.
        published_date=max(row.date for row in rows),
        policy_uri=_policy(),
        links={k: v for k, v in links.items() if v},
    )
    response = jsonify(package)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/ocds/releases/<release_id>")
def ocds_release(release_id: str):
    row = db.session.scalar(select(OcdsRelease).where(OcdsRelease.release_id == release_id))
    if row is None:
        return _error(404, "No release has that id")
    package = ocds.release_package([row.data], uri=_release_url(row),
                                   published_date=row.date, policy_uri=_policy())
    response = jsonify(package)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/ocds/records/<ocid>")
def ocds_record(ocid: str):
    rows = ocds.releases_for_ocid(ocid)
    if not rows:
        return _error(404, "No contracting process has that ocid")
    package = ocds.record_package(
        rows,
        uri=url_for("api.ocds_record", ocid=ocid, _external=True),
        release_url=_release_url,
        policy_uri=_policy(),
    )
    response = jsonify(package)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


# --- the OpenAPI document ----------------------------------------------------------------

_JSON_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_OCDS_DOCS = "https://standard.open-contracting.org/1.1/en/schema/"

register_schema("OcdsReleasePackage", {
    "type": "object",
    "description": "An OCDS 1.1 release package (" + _OCDS_DOCS + "release_package/). "
    "`links.next` / `links.prev` page through the feed.",
    "required": ["uri", "version", "publisher", "publishedDate", "releases"],
    "properties": {
        "uri": {"type": "string", "format": "uri"},
        "version": {"type": "string", "const": "1.1"},
        "publisher": {"type": "object", "required": ["name"],
                      "properties": {"name": {"type": "string"},
                                     "uri": {"type": "string", "format": "uri"}}},
        "license": {"type": "string", "format": "uri"},
        "publicationPolicy": {"type": "string", "format": "uri"},
        "publishedDate": {"type": "string", "format": "date-time"},
        "releases": {"type": "array", "minItems": 1,
                     "items": {"type": "object",
                               "description": "An OCDS 1.1 release (" + _OCDS_DOCS
                               + "reference/)"}},
        "links": {"type": "object", "properties": {
            "next": {"type": "string", "format": "uri"},
            "prev": {"type": "string", "format": "uri"}}},
    },
})
register_schema("OcdsRecordPackage", {
    "type": "object",
    "description": "An OCDS 1.1 record package (" + _OCDS_DOCS + "record_package/) with "
    "one record: the releases (linked) and the compiled release.",
    "required": ["uri", "version", "publisher", "publishedDate", "records"],
    "properties": {
        "uri": {"type": "string", "format": "uri"},
        "version": {"type": "string", "const": "1.1"},
        "publisher": {"type": "object"},
        "license": {"type": "string", "format": "uri"},
        "publicationPolicy": {"type": "string", "format": "uri"},
        "publishedDate": {"type": "string", "format": "date-time"},
        "packages": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "records": {"type": "array", "minItems": 1, "maxItems": 1,
                    "items": {"type": "object", "required": ["ocid", "releases"]}},
    },
})

_PUBLIC = {"tags": ["Open data"], "security": []}

register_path("/api/ocds/releases", {"get": {
    "operationId": "listOcdsReleases",
    "summary": "OCDS releases (a release package, paginated)",
    "description": "Every release the Panel has published, oldest first: tender, "
    "tenderAmendment, tenderCancellation, tenderUpdate (no suitable bid), award, "
    "awardCancellation, contract. Never bid contents or scores. Public.",
    **_PUBLIC,
    "parameters": [
        {"name": "page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "default": 1}},
        {"name": "per_page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX,
                    "default": PER_PAGE_DEFAULT}},
    ],
    "responses": {
        "200": {"description": "A release package",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/OcdsReleasePackage"}}}},
        "400": {"description": "page or per_page is not valid", **_JSON_ERROR},
        "404": {"description": "No releases yet, or no such page", **_JSON_ERROR},
    },
}})
register_path("/api/ocds/releases/{release_id}", {"get": {
    "operationId": "getOcdsRelease",
    "summary": "One OCDS release, in a release package of its own",
    **_PUBLIC,
    "parameters": [{"name": "release_id", "in": "path", "required": True,
                    "schema": {"type": "string"}}],
    "responses": {
        "200": {"description": "A release package with one release",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/OcdsReleasePackage"}}}},
        "404": {"description": "No release has that id", **_JSON_ERROR},
    },
}})
register_path("/api/ocds/records/{ocid}", {"get": {
    "operationId": "getOcdsRecord",
    "summary": "The OCDS record of one commission (a record package)",
    "description": "The ocid is the OCDS prefix and the commission number, like "
    "ocds-rvwpl1-42.",
    **_PUBLIC,
    "parameters": [{"name": "ocid", "in": "path", "required": True,
                    "schema": {"type": "string"}}],
    "responses": {
        "200": {"description": "A record package",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/OcdsRecordPackage"}}}},
        "404": {"description": "No contracting process has that ocid", **_JSON_ERROR},
    },
}})
