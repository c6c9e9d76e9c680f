"""The OpenAPI 3.1 document for /api, served at /api/openapi.json.

Other areas add their endpoints (the OCDS open data of issue 6, for example) with
`register_path("/api/ocds/...", {...})` from their own module, and their schemas with
`register_schema(name, schema)`; tests/test_api_directory.py
(test_every_api_route_is_in_the_openapi_document) fails when any /api/ route is missing
from the document.
"""

from __future__ import annotations

import copy
from typing import Any

from portal.models.profiles import (
    REGION_CODES,
    CompetenceArea,
    ProfessionalBackground,
    ReviewType,
)
from portal.search.query import ANY, FACET_DIMENSIONS, PER_PAGE_CHOICES

_EXTRA_PATHS: dict[str, dict] = {}
_EXTRA_SCHEMAS: dict[str, dict] = {}


def register_path(path: str, item: dict) -> None:
    """Add (or extend) a path item, keyed by OpenAPI path (`/api/x/{id}`)."""
    _EXTRA_PATHS.setdefault(path, {}).update(item)


def register_schema(name: str, schema: dict) -> None:
    _EXTRA_SCHEMAS[name] = schema


def _array_param(name: str, description: str, items: dict) -> dict:
    return {
        "name": name, "in": "query", "required": False, "description": description,
        "style": "form", "explode": True,
        "schema": {"type": "array", "items": items},
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


ERRORS = {
    "302": {"description": "Panel staff who have not confirmed their second factor in "
            "this session are sent to confirm it"},
    "401": {"description": "Not signed in", "content": {"application/json": {
        "schema": _ref("Error")}}},
    "403": {"description": "Not a partnership member or panel staff (or second factor "
            "not confirmed)", "content": {"application/json": {"schema": _ref("Error")}}},
}

SEARCH_PARAMETERS = [
    {"name": "q", "in": "query", "required": False,
     "description": "Free text over names, professional background, expertise, published "
     "review titles and profile text. Reduced to at most 8 words of letters and digits, "
     "each matched as a word prefix; all must match. Never an error.",
     "schema": {"type": "string", "maxLength": 2000}},
    _array_param("category", "Service category numbers the reviewer's organisation is "
                 "actively admitted to (any of).", {"type": "integer", "minimum": 1}),
    _array_param("expertise", "Expertise tag ids.", {"type": "integer"}),
    {"name": "expertise_mode", "in": "query", "required": False,
     "description": "Whether reviewers need any or all of the expertise tags.",
     "schema": {"type": "string", "enum": ["any", "all"], "default": "any"}},
    _array_param("region", "Regions (any of).", {"type": "string", "enum": REGION_CODES}),
    {"name": "review_type", "in": "query", "required": False,
     "description": "Type of review for min_reviews (and for ranking by experience).",
     "schema": {"type": "string", "enum": [t.value for t in ReviewType]}},
    {"name": "min_reviews", "in": "query", "required": False,
     "description": "Minimum number of reviews authored of review_type.",
     "schema": {"type": "integer", "minimum": 0, "maximum": 200}},
    _array_param("competence", "Analytic competences (all of).",
                 {"type": "string", "enum": [a.value for a in CompetenceArea]}),
    _array_param("background", "Professional backgrounds (any of).",
                 {"type": "string", "enum": [b.value for b in ProfessionalBackground]}),
    {"name": "available_from", "in": "query", "required": False,
     "description": "Reviewers taking on work and available on or before this date.",
     "schema": {"type": "string", "format": "date"}},
    {"name": "dbs", "in": "query", "required": False,
     "description": "`current`: only reviewers with a current enhanced DBS check.",
     "schema": {"type": "string", "enum": ["current"]}},
    {"name": "page", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query", "required": False,
     "schema": {"type": "integer", "enum": list(PER_PAGE_CHOICES), "default": 20}},
]

REVIEW_COUNT = {
    "type": "object", "required": ["type", "label", "count", "text"],
    "properties": {
        "type": {"type": "string", "enum": [t.value for t in ReviewType]},
        "label": {"type": "string"}, "count": {"type": "integer"}, "text": {"type": "string"},
    },
}
CARD_PROPERTIES = {
    "id": {"type": "integer"},
    "name": {"type": "string"},
    "organisation": {"type": "string"},
    "professional_background": {"type": "string"},
    "years_experience": {"type": "integer"},
    "reviews_total": {"type": "integer"},
    "reviews": {"type": "array", "items": REVIEW_COUNT},
    "expertise": {"type": "array", "items": {"type": "string"}},
    "regions": {"type": "array", "items": {"type": "string"}},
    "categories": {"type": "array", "items": {"type": "integer"},
                   "description": "Service categories the organisation is admitted to"},
    "availability": {
        "type": "object",
        "properties": {
            "unavailable": {"type": "boolean"},
            "available_from": {"type": ["string", "null"], "format": "date"},
            "days_per_month": {"type": ["integer", "null"]},
            "text": {"type": "string"},
        },
    },
    "day_rate": {"type": ["string", "null"], "description": "In pounds, e.g. £650"},
    "dbs_current": {"type": "boolean", "description": "Current or not; never details"},
    "links": {"type": "object", "properties": {
        "self": {"type": "string"}, "profile_page": {"type": "string"}}},
}

FACET_DESCRIPTIONS = {
    "category": "Service category number -> reviewers whose organisation is actively "
    "admitted to it.",
    "expertise": "Expertise tag id -> reviewers with that expertise (within the tags "
    "already chosen when expertise_mode is all).",
    "region": "Region code -> reviewers working there.",
    "review_type": "Review type -> reviewers who have authored at least min_reviews of "
    f"that type (at least 1 when min_reviews is not given or is 0), counted without the "
    f"min_reviews filter; `{ANY}`: reviewers whatever their reviews.",
    "competence": "Competence area -> reviewers able to analyse it (within the "
    "competences already chosen, as all must match).",
    "background": "Professional background -> reviewers with it.",
    "available_from": "Only when available_from is given: that date (YYYY-MM-DD) -> "
    f"reviewers available by then; `{ANY}`: reviewers whatever their availability.",
    "dbs": "`current` -> reviewers with a current enhanced DBS check.",
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "string"},
                       "errors": {"type": "object",
                                  "additionalProperties": {"type": "string"}}},
    },
    "ReviewerSummary": {
        "type": "object",
        "required": [*CARD_PROPERTIES, "why"],
        "properties": {
            **CARD_PROPERTIES,
            "why": {"type": "array", "items": {"type": "string"},
                    "description": "Why this reviewer matched, in plain English"},
        },
    },
    "ReviewerDetail": {
        "type": "object",
        "required": [*CARD_PROPERTIES, "summary", "competences", "publications",
                     "track_record"],
        "properties": {
            **CARD_PROPERTIES,
            "summary": {"type": "string"},
            "competences": {"type": "array", "items": {
                "type": "object", "properties": {"area": {"type": "string"},
                                                 "example": {"type": "string"}}}},
            "publications": {"type": "array", "items": {
                "type": "object", "properties": {
                    "title": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                    "year": {"type": "integer"}, "type": {"type": "string"}}}},
            "track_record": {"type": "array", "items": {
                "type": "object", "properties": {
                    "title": {"type": "string"},
                    "awarded_on": {"type": ["string", "null"], "format": "date"},
                    "completed_on": {"type": ["string", "null"], "format": "date"}}}},
        },
    },
    "ReviewerSearch": {
        "type": "object",
        "required": ["total", "page", "per_page", "pages", "query", "results", "facets",
                     "links"],
        "properties": {
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "pages": {"type": "integer"},
            "query": {"type": "object", "properties": {
                "words": {"type": "array", "items": {"type": "string"}},
                "ignored_words": {"type": "integer"}}},
            "results": {"type": "array", "items": _ref("ReviewerSummary")},
            "facets": {
                "type": "object",
                "description": "Per filter, how many reviewers each value leaves, with the "
                "other filters and the free text applied (values leaving none are left "
                "out). Keyed as the query parameters.",
                "required": list(FACET_DIMENSIONS),
                "properties": {
                    name: {"type": "object", "description": FACET_DESCRIPTIONS[name],
                           "additionalProperties": {"type": "integer", "minimum": 1}}
                    for name in FACET_DIMENSIONS
                },
                "additionalProperties": False,
            },
            "links": {"type": "object", "properties": {
                "self": {"type": "string"},
                "next": {"type": ["string", "null"]},
                "prev": {"type": ["string", "null"]}}},
        },
    },
}

PATHS: dict[str, dict] = {
    "/api/directory/reviewers": {
        "get": {
            "operationId": "searchDirectory",
            "summary": "Search the partnership directory",
            "description": "Reviewers of active pool members who consented to be listed, "
            "ranked by relevance then experience, with facet counts. Same filters and "
            "fields as the Find a reviewer page.",
            "tags": ["Directory"],
            "parameters": SEARCH_PARAMETERS,
            "responses": {
                "200": {"description": "A page of reviewers",
                        "content": {"application/json": {"schema": _ref("ReviewerSearch")}}},
                "400": {"description": "A filter value is not valid",
                        "content": {"application/json": {"schema": _ref("Error")}}},
                **ERRORS,
            },
        }
    },
    "/api/directory/reviewers/{reviewer_id}": {
        "get": {
            "operationId": "getDirectoryReviewer",
            "summary": "A reviewer's directory profile",
            "tags": ["Directory"],
            "parameters": [{"name": "reviewer_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {
                "200": {"description": "The profile, as its page shows it",
                        "content": {"application/json": {"schema": _ref("ReviewerDetail")}}},
                "404": {"description": "Not in the directory (never listed, consent "
                        "withdrawn or membership not active)",
                        "content": {"application/json": {"schema": _ref("Error")}}},
                **ERRORS,
            },
        }
    },
    "/api/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "tags": ["Meta"],
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1 document",
                                  "content": {"application/json": {}}}},
        }
    },
}


def document() -> dict:
    paths = copy.deepcopy(PATHS)
    for path, item in _EXTRA_PATHS.items():
        paths.setdefault(path, {}).update(copy.deepcopy(item))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Reviewer Pool Portal API",
            "version": "1.0.0",
            "description": "The partnership directory for local safeguarding partnerships "
            "and panel staff (signed-in session), and open data.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": "Directory"}, {"name": "Meta"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**SCHEMAS, **copy.deepcopy(_EXTRA_SCHEMAS)},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "portal_session",
                            "description": "The portal's sign-in session cookie"},
            },
        },
        "security": [{"session": []}],
    }
