"""Admin: the e-mail outbox. Messages waiting, sent and failed; retry a failed one.

Bodies are never shown: they can hold sign-in and reset links meant for one person.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import defer

from portal.access import staff_required
from portal.admin import bp
from portal.extensions import db
from portal.models.outbox import OutboxEmail, OutboxStatus
from portal.outbox import retry_failed
from portal.services.bids import SEALED_MAIL_TEMPLATES

STATUS_FILTERS = ("all", *(status.value for status in OutboxStatus))
DEFAULT_PAGE_SIZE = 50


def _status_filter(value: str | None) -> str:
    return value if value in STATUS_FILTERS else "all"


@bp.get("/outbox")
@staff_required("admin")
def outbox():
    status = _status_filter(request.args.get("status"))
    recipient = (request.args.get("recipient") or "").strip()[:320]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    per_page = current_app.config.get("OUTBOX_PAGE_SIZE", DEFAULT_PAGE_SIZE)

    query = (
        select(OutboxEmail)
        .options(defer(OutboxEmail.text_body), defer(OutboxEmail.html_body))
        .order_by(OutboxEmail.id.desc())
    )
    if status != "all":
        query = query.where(OutboxEmail.status == status)
    if recipient:
        # Sealed-bid mail is never found by recipient: that would tell who bid.
        query = query.where(
            func.lower(OutboxEmail.recipient).contains(recipient.lower(), autoescape=True),
            or_(OutboxEmail.template.is_(None),
                OutboxEmail.template.not_in(SEALED_MAIL_TEMPLATES)),
        )
    pagination = db.paginate(query, page=page, per_page=per_page, error_out=False,
                             max_per_page=per_page)
    counts = dict(
        db.session.execute(
            select(OutboxEmail.status, func.count()).group_by(OutboxEmail.status)
        ).all()
    )
    return render_template(
        "admin/outbox.html",
        pagination=pagination,
        emails=pagination.items,
        status=status,
        recipient=recipient,
        counts={s.value: counts.get(s.value, 0) for s in OutboxStatus},
        status_filters=STATUS_FILTERS,
        max_attempts=current_app.config.get("OUTBOX_MAX_ATTEMPTS"),
        sealed_templates=SEALED_MAIL_TEMPLATES,
    )


@bp.post("/outbox/<int:email_id>/retry")
@staff_required("admin")
def outbox_retry(email_id: int):
    email = db.session.get(OutboxEmail, email_id)
    if email is None:
        abort(404)
    recipient = email.recipient
    if retry_failed(email, current_user):
        db.session.commit()
        flash(f"The message to {recipient} will be sent again shortly.", "success")
    else:
        flash("Only a failed message can be retried.")
    status = _status_filter(request.form.get("status"))
    return redirect(url_for("admin.outbox", status=status if status != "all" else None))
