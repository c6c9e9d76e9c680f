"""The JSON API: the directory for approved partnership members, commissioners and admins
(JSON 401 when signed out, 403 for other roles); the OpenAPI document for everyone."""

from __future__ import annotations

from tests.access_rules import rule

SEARCHERS = {"partnership_approved": 200, "commissioner": 200, "admin": 200}

RULES = [
    rule("api.directory_reviewers", default=403, anonymous=401, **SEARCHERS),
    rule("api.directory_reviewer", args=lambda w: {"reviewer_id": w.directory_listed},
         default=403, anonymous=401, **SEARCHERS),
    rule("api.directory_reviewer", args=lambda w: {"reviewer_id": w.directory_hidden},
         default=403, anonymous=401, partnership_approved=404, commissioner=404, admin=404,
         case="not in the directory"),
    rule("api.openapi", default=200),
]
