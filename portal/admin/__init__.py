"""Administration pages. Each area adds its routes in its own module of this package."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Route modules register themselves on `bp` when imported.
from portal.admin import routes  # noqa: E402,F401
from portal.admin import outbox  # noqa: E402,F401
from portal.admin import audit  # noqa: E402,F401
from portal.admin import categories  # noqa: E402,F401
from portal.admin import expertise  # noqa: E402,F401
from portal.admin import users  # noqa: E402,F401
from portal.admin import partnerships  # noqa: E402,F401
