"""Administration pages. Each area adds its routes in its own module of this package."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Route modules register themselves on `bp` when imported.
from portal.admin import (  # noqa: E402,F401
    audit,
    categories,
    expertise,
    outbox,
    partnerships,
    routes,
    users,
)
