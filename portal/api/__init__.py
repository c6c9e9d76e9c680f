"""The JSON API (/api): the partnership directory now, the OCDS open data later.

Session authentication (the portal's own sign-in cookie). Every route is GET, so CSRF
protection has nothing to check; the blueprint is not exempted from it, so any state-
changing route added later is protected by default. Every route must be described in
the OpenAPI document (portal/api/openapi.py); a test checks it.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

# Route modules register themselves (and their OpenAPI paths) when imported.
from portal.api import ocds, routes  # noqa: E402,F401
