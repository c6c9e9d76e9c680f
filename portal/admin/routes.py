"""The administration home page."""

from flask import current_app, render_template, url_for

from portal.access import staff_required
from portal.admin import bp

SECTIONS = [
    ("admin.users", "Users", "Find people, change roles, deactivate accounts."),
    ("admin.partnerships", "Partnerships", "Local safeguarding partnerships and approvals."),
    ("admin.audit_events", "Audit trail", "Every change made in the portal."),
    ("award.approvals", "Awards to approve", "Approve or return award proposals (four eyes)."),
    ("admin.outbox", "E-mail outbox", "Messages waiting, sent and failed."),
]


@bp.get("/")
@staff_required("admin")
def index():
    sections = [
        {"href": url_for(endpoint), "text": text, "hint": hint}
        for endpoint, text, hint in SECTIONS
        if endpoint in current_app.view_functions
    ]
    return render_template("admin/index.html", sections=sections)
