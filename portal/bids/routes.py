"""Bid pages. Thin: load the commission and the bid, check the model's predicate (404
when it is not yours to see), parse the form, call one service function, commit once.

Suppliers never name a bid in a URL: /opportunities/<commission>/bid is always their
own organisation's bid, so another organisation's bid cannot even be addressed.
"""

from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.access import staff_required, supplier_required
from portal.bids import bp
from portal.bids.forms import (
    ConfirmForm,
    ConflictsForm,
    DeclarationForm,
    DocumentForm,
    ExpenseForm,
    MilestoneForm,
    TeamMemberForm,
    UnderstandingForm,
)
from portal.extensions import db
from portal.models.base import utcnow
from portal.models.bids import Bid, BidStatus, BidVersion
from portal.models.commissions import Commission, CommissionState
from portal.services import bids as service
from portal.services.bids import format_pence, format_uk
from portal.uploads import UploadRejected

# --- helpers -----------------------------------------------------------------------------


def _commission(commission_id: int) -> Commission:
    """A commission the signed-in supplier's organisation is invited to, or 404."""
    commission = db.session.get(Commission, commission_id)
    if commission is None or not commission.is_supplier_viewer(current_user):
        abort(404)
    return commission


def _own_bid(commission: Commission) -> Bid:
    bid = service.bid_for(commission, current_user.membership.organisation_id)
    if bid is None or not bid.can_view(current_user):
        abort(404)
    return bid


def _editable(commission_id: int) -> tuple[Commission, Bid] | Response:
    commission = _commission(commission_id)
    bid = _own_bid(commission)
    if not bid.can_edit(current_user):
        if bid.is_open_for_bids():
            flash("You have submitted this bid. To change it, choose “Change your bid” "
                  "first: you will then need to submit it again.", "info")
        else:
            flash(service.closed_message(commission, utcnow()) + ".", "info")
        return redirect(url_for("bids.bid", commission_id=commission.id))
    return commission, bid


def _refused(form, error: service.BidError, fallback: str = "submit") -> None:
    for field_name, message in error.errors:
        field = getattr(form, field_name, None) if field_name else None
        if field is None:
            field = getattr(form, fallback)
        field.errors = [*field.errors, message]


def _csrf_failed(form) -> bool:
    token = getattr(form, "csrf_token", None)
    return bool(token is not None and token.errors)


def _closed(commission: Commission, error: service.BidClosed) -> Response:
    db.session.rollback()
    flash(error.message + ".", "info")
    return redirect(url_for("bids.bid", commission_id=commission.id))


def _context(commission: Commission, bid: Bid | None, **extra) -> dict:
    now = utcnow()
    return {
        "commission": commission,
        "bid": bid,
        "now": now,
        "state": commission.state_at(now),
        "days_left": _days_left(commission, now),
        "format_uk": format_uk,
        "format_pence": format_pence,
        **extra,
    }


def _days_left(commission: Commission, now) -> int | None:
    if commission.submission_deadline is None:
        return None
    uk = service.UK
    return (commission.submission_deadline.astimezone(uk).date() - now.astimezone(uk).date()).days


def _back(commission: Commission) -> Response:
    return redirect(url_for("bids.bid", commission_id=commission.id))


def _run(commission, form, call, fallback="submit"):
    """Call the service; commit on success. Returns None on success, or a response."""
    try:
        call()
    except service.BidClosed as error:
        return _closed(commission, error)
    except service.BidError as error:
        db.session.rollback()
        _refused(form, error, fallback)
        return False
    db.session.commit()
    return None


# --- supplier: the bid -------------------------------------------------------------------


@bp.get("/opportunities/<int:commission_id>/bid")
@supplier_required
def bid(commission_id: int):
    commission = _commission(commission_id)
    own = service.bid_for(commission, current_user.membership.organisation_id)
    if own is None:
        return render_template("bids/start.html", form=None, confirm_form=ConfirmForm(),
                               **_context(commission, None))
    if own.can_edit(current_user):
        return render_template("bids/task_list.html", tasks=service.task_list(own),
                               **_context(commission, own))
    return render_template(
        "bids/summary.html",
        content=service.canonical_content(own),
        version=own.latest_version,
        can_reopen=own.can_reopen(current_user),
        can_withdraw=own.can_withdraw(current_user),
        can_submit=own.can_submit(current_user),
        confirm_form=ConfirmForm(),
        **_context(commission, own),
    )


@bp.post("/opportunities/<int:commission_id>/bid")
@supplier_required
def start(commission_id: int):
    commission = _commission(commission_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.start_bid(current_user, commission)
    except service.BidClosed as error:
        return _closed(commission, error)
    except service.BidError as error:
        db.session.rollback()
        flash(error.message + ".", "info")
        return _back(commission)
    db.session.commit()
    return _back(commission)


@bp.route("/opportunities/<int:commission_id>/bid/understanding", methods=["GET", "POST"])
@supplier_required
def understanding(commission_id: int):
    loaded = _editable(commission_id)
    if isinstance(loaded, Response):
        return loaded
    commission, own = loaded
    form = UnderstandingForm()
    if request.method == "GET":
        form.understanding.data = own.understanding
        form.methodology.data = own.methodology
    elif form.validate_on_submit():
        outcome = _run(commission, form, lambda: service.save_understanding(
            current_user, own, form.understanding.data, form.methodology.data))
        if outcome is not False:
            return outcome or _back(commission)
    return render_template("bids/understanding.html", form=form,
                           **_context(commission, own)), 400 if form.errors else 200


def _team_form(own: Bid) -> TeamMemberForm:
    form = TeamMemberForm()
    choices = service.team_choices(own)
    form.profile_id.choices = [SelectChoice("", "Select a reviewer")] + [
        SelectChoice(p.id, p.name + (f" ({format_pence(p.day_rate_pence)} a day)"
                                     if p.day_rate_pence is not None else ""))
        for p in choices
    ]
    return form


@bp.route("/opportunities/<int:commission_id>/bid/team", methods=["GET", "POST"])
@supplier_required
def team(commission_id: int):
    loaded = _editable(commission_id)
    if isinstance(loaded, Response):
        return loaded
    commission, own = loaded
    form = _team_form(own)
    if request.method == "POST":
        form.validate_on_submit()
        if _csrf_failed(form):
            abort(400)
        # The service decides (and explains) which profiles may join: read the raw id so
        # a profile of another organisation gets the same clear refusal.
        for field in form:
            field.errors = []
        raw = request.form.get("profile_id", "")
        profile_id = int(raw) if raw.isdigit() and len(raw) < 10 else None
        outcome = _run(commission, form, lambda: service.add_team_member(
            current_user, own, profile_id, form.role.data, form.days.data,
            form.day_rate.data), fallback="profile_id")
        if outcome is None:
            return redirect(url_for("bids.team", commission_id=commission.id))
        if outcome is not False:
            return outcome
        form.profile_id.choices = _team_form(own).profile_id.choices
    return render_template("bids/team.html", form=form, remove_form=ConfirmForm(),
                           **_context(commission, own)), 400 if form.errors else 200


@bp.post("/opportunities/<int:commission_id>/bid/team/<int:member_id>/remove")
@supplier_required
def remove_team_member(commission_id: int, member_id: int):
    return _remove_part(commission_id, member_id, lambda own: own.team,
                        service.remove_team_member, "bids.team")


@bp.route("/opportunities/<int:commission_id>/bid/plan", methods=["GET", "POST"])
@supplier_required
def plan(commission_id: int):
    loaded = _editable(commission_id)
    if isinstance(loaded, Response):
        return loaded
    commission, own = loaded
    form = MilestoneForm()
    if request.method == "POST":
        form.validate_on_submit()
        if _csrf_failed(form):
            abort(400)
        if not form.due_date.errors:
            outcome = _run(commission, form, lambda: service.add_milestone(
                current_user, own, form.title.data, form.description.data,
                form.due_date.data))
            if outcome is not False:
                return outcome or redirect(url_for("bids.plan", commission_id=commission.id))
    return render_template("bids/plan.html", form=form, remove_form=ConfirmForm(),
                           **_context(commission, own)), 400 if form.errors else 200


@bp.post("/opportunities/<int:commission_id>/bid/plan/<int:milestone_id>/remove")
@supplier_required
def remove_milestone(commission_id: int, milestone_id: int):
    return _remove_part(commission_id, milestone_id, lambda own: own.milestones,
                        service.remove_milestone, "bids.plan")


@bp.route("/opportunities/<int:commission_id>/bid/price", methods=["GET", "POST"])
@supplier_required
def price(commission_id: int):
    loaded = _editable(commission_id)
    if isinstance(loaded, Response):
        return loaded
    commission, own = loaded
    form = ExpenseForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        outcome = _run(commission, form, lambda: service.add_expense(
            current_user, own, form.description.data, form.amount.data))
        if outcome is not False:
            return outcome or redirect(url_for("bids.price", commission_id=commission.id))
    return render_template("bids/price.html", form=form, confirm_form=ConfirmForm(),
                           **_context(commission, own)), 400 if form.errors else 200


@bp.post("/opportunities/<int:commission_id>/bid/price/confirm")
@supplier_required
def confirm_price(commission_id: int):
    loaded = _editable(commission_id)
    if isinstance(loaded, Response):
        return loaded
    commission, own = loaded
    confirm_form = ConfirmForm()
    if not confirm_form.validate_on_submit():
        abort(400)
    outcome = _run(commission, confirm_form, lambda: service.confirm_price(current_user, own))
    if outcome is not False:
        return outcome or _back(commission)
    return render_template("bids/price.html", form=ExpenseForm(formdata=None),
                           confirm_form=confirm_form, **_context(commission, own)), 400


@bp.post("/opportunities/<int:commission_id>/bid/price/expenses/<int:expense_id>/remove")
@supplier_required
def remove_expense(commission_id: int, expense_id: int):
    return _remove_part(commission_id, expense_id, lambda own: own.expenses,
                        service.remove_expense, "bids.price")


@bp.route("/opportunities/<int:commission_id>/bid/conflicts", methods=["GET", "POST"])
@supplier_required
def conflicts(commission_id: int):
    loaded = _editable(commission_id)
    if isinstance(loaded, Response):
        return loaded
    commission, own = loaded
    form = ConflictsForm()
    if request.method == "GET":
        form.answer.data = own.conflicts_answer
        form.statement.data = own.conflicts_statement
    elif form.validate_on_submit():
        outcome = _run(commission, form, lambda: service.save_conflicts(
            current_user, own, form.answer.data, form.statement.data))
        if outcome is not False:
            return outcome or _back(commission)
    return render_template("bids/conflicts.html", form=form,
                           **_context(commission, own)), 400 if form.errors else 200


@bp.route("/opportunities/<int:commission_id>/bid/documents", methods=["GET", "POST"])
@supplier_required
def documents(commission_id: int):
    loaded = _editable(commission_id)
    if isinstance(loaded, Response):
        return loaded
    commission, own = loaded
    form = DocumentForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            service.add_document(current_user, own, form.file.data, form.title.data,
                                 form.commercial.data)
        except service.BidClosed as error:
            return _closed(commission, error)
        except service.BidError as error:
            db.session.rollback()
            _refused(form, error, fallback="file")
            status = 400
        except UploadRejected as error:
            # Nothing was stored; an infected file leaves its audit event, kept here.
            db.session.commit()
            form.file.errors = [*form.file.errors, error.message]
            status = error.status
        else:
            db.session.commit()
            flash("Document uploaded.", "success")
            return redirect(url_for("bids.documents", commission_id=commission.id))
    return render_template("bids/documents.html", form=form, remove_form=ConfirmForm(),
                           **_context(commission, own)), status


@bp.post("/opportunities/<int:commission_id>/bid/documents/<int:link_id>/remove")
@supplier_required
def remove_document(commission_id: int, link_id: int):
    return _remove_part(commission_id, link_id, lambda own: own.current_documents,
                        service.remove_document, "bids.documents")


@bp.route("/opportunities/<int:commission_id>/bid/declaration", methods=["GET", "POST"])
@supplier_required
def declaration(commission_id: int):
    loaded = _editable(commission_id)
    if isinstance(loaded, Response):
        return loaded
    commission, own = loaded
    form = DeclarationForm()
    if request.method == "GET":
        form.accept.data = own.declaration_accepted_at is not None
    elif form.validate_on_submit():
        outcome = _run(commission, form, lambda: service.accept_declaration(
            current_user, own, form.accept.data), fallback="accept")
        if outcome is not False:
            return outcome or _back(commission)
    return render_template("bids/declaration.html", form=form,
                           **_context(commission, own)), 400 if form.errors else 200


@bp.get("/opportunities/<int:commission_id>/bid/check")
@supplier_required
def check(commission_id: int):
    commission = _commission(commission_id)
    own = _own_bid(commission)
    if not own.can_submit(current_user):
        return _back(commission)
    return render_template(
        "bids/check.html",
        form=None,
        confirm_form=ConfirmForm(),
        content=service.canonical_content(own),
        missing=[(key, service.MISSING_MESSAGES[key]) for key in service.missing_sections(own)],
        **_context(commission, own),
    )


@bp.post("/opportunities/<int:commission_id>/bid/submit")
@supplier_required
def submit(commission_id: int):
    commission = _commission(commission_id)
    own = _own_bid(commission)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        version = service.submit(current_user, own)
    except service.BidClosed as error:
        return _closed(commission, error)
    except service.BidError as error:
        db.session.rollback()
        own = _own_bid(commission)
        return render_template(
            "bids/check.html",
            form=None,
            confirm_form=form,
            content=service.canonical_content(own),
            missing=error.errors,
            **_context(commission, own),
        ), 400
    db.session.commit()
    return redirect(url_for("bids.receipt", commission_id=commission.id,
                            number=version.number))


@bp.get("/opportunities/<int:commission_id>/bid/versions/<int:number>")
@supplier_required
def receipt(commission_id: int, number: int):
    commission = _commission(commission_id)
    own = _own_bid(commission)
    version = db.session.scalar(
        select(BidVersion).where(BidVersion.bid_id == own.id, BidVersion.number == number)
    )
    if version is None:
        abort(404)
    return render_template("bids/receipt.html", version=version, receipt=version.receipt,
                           content=version.content, intact=service.verify_version(version),
                           **_context(commission, own))


@bp.get("/opportunities/<int:commission_id>/bid/history")
@supplier_required
def history(commission_id: int):
    commission = _commission(commission_id)
    own = _own_bid(commission)
    return render_template("bids/history.html", versions=list(reversed(own.versions)),
                           **_context(commission, own))


def _confirm_page(commission_id: int, template: str, allowed, action):
    commission = _commission(commission_id)
    own = _own_bid(commission)
    if not allowed(own):
        return _back(commission)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            action(own)
        except service.BidClosed as error:
            return _closed(commission, error)
        except service.BidError as error:
            db.session.rollback()
            flash(error.message + ".", "info")
            return _back(commission)
        db.session.commit()
        return None
    return render_template(template, confirm_form=form, form=None,
                           **_context(commission, own))


@bp.route("/opportunities/<int:commission_id>/bid/change", methods=["GET", "POST"])
@supplier_required
def reopen(commission_id: int):
    outcome = _confirm_page(commission_id, "bids/reopen.html",
                            lambda b: b.can_reopen(current_user),
                            lambda b: service.reopen(current_user, b))
    if outcome is None:
        flash("Your bid is open for changes. Submit it again before the deadline.", "info")
        return redirect(url_for("bids.bid", commission_id=commission_id))
    return outcome


@bp.route("/opportunities/<int:commission_id>/bid/withdraw", methods=["GET", "POST"])
@supplier_required
def withdraw(commission_id: int):
    outcome = _confirm_page(commission_id, "bids/withdraw.html",
                            lambda b: b.can_withdraw(current_user),
                            lambda b: service.withdraw(current_user, b))
    if outcome is None:
        flash("Your bid has been withdrawn.", "success")
        return redirect(url_for("bids.bid", commission_id=commission_id))
    return outcome


# --- the panel ---------------------------------------------------------------------------


def _managed(commission_id: int) -> Commission:
    commission = db.session.get(Commission, commission_id)
    if commission is None or not commission.can_manage(current_user):
        abort(404)
    return commission


def _unsealed(commission_id: int) -> Commission:
    """A commission whose bids the signed-in staff member may see: 404 otherwise, and
    always before the bids are opened."""
    commission = db.session.get(Commission, commission_id)
    if (commission is None or commission.bids_opened_at is None
            or not commission.can_manage(current_user)):
        abort(404)
    return commission


@bp.get("/commissioning/commissions/<int:commission_id>/bids")
@staff_required("commissioner")
def staff_list(commission_id: int):
    commission = _managed(commission_id)
    now = utcnow()
    state = commission.state_at(now)
    if state in (CommissionState.DRAFT,):
        abort(404)
    opened = commission.bids_opened_at is not None
    return render_template(
        "bids/staff_list.html",
        commission=commission,
        state=state,
        opened=opened,
        count=service.submitted_count(commission),
        bids=service.bids_for_staff(current_user, commission) if opened else [],
        can_open=service.can_open_bids(current_user, commission, now),
        confirm_form=ConfirmForm(),
        format_uk=format_uk,
        format_pence=format_pence,
        form=None,
    )


@bp.post("/commissioning/commissions/<int:commission_id>/bids/open")
@staff_required("commissioner")
def open_bids(commission_id: int):
    commission = _managed(commission_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        count = service.open_bids(current_user, commission)
    except service.BidError as error:
        db.session.rollback()
        flash(error.message + ".", "info")
        return redirect(url_for("bids.staff_list", commission_id=commission_id))
    db.session.commit()
    flash(f"Bids opened: {count} submitted.", "success")
    return redirect(url_for("bids.staff_list", commission_id=commission_id))


@bp.get("/commissioning/commissions/<int:commission_id>/bids/<int:bid_id>")
@staff_required()
def staff_bid(commission_id: int, bid_id: int):
    commission = _unsealed(commission_id)
    own = db.session.get(Bid, bid_id)
    if own is None or own.commission_id != commission.id or not own.can_view(current_user):
        abort(404)
    version = own.latest_version
    return render_template(
        "bids/staff_bid.html",
        commission=commission,
        bid=own,
        version=version,
        content=version.content,
        show_commercial=own.can_view_commercial(current_user),
        intact=service.verify_version(version),
        format_uk=format_uk,
        format_pence=format_pence,
    )


@bp.get("/commissioning/commissions/<int:commission_id>/bids.csv")
@staff_required()
def staff_export(commission_id: int):
    commission = _unsealed(commission_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["bidder", "status", "version", "submitted_at_utc", "total_price_pence",
                     "content_sha256"])
    for own in service.bids_for_staff(current_user, commission):
        version = own.latest_version
        writer.writerow([
            _csv_safe(own.organisation.display_name), own.status, version.number,
            version.submitted_at.isoformat(),
            version.total_price_pence if own.can_view_commercial(current_user) else "",
            version.content_sha256,
        ])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition":
                 f'attachment; filename="{commission.reference}-bids.csv"'},
    )


def _csv_safe(value: str) -> str:
    """No spreadsheet formulas from user text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


__all__ = ["BidStatus"]


@bp.app_template_filter("iso_uk_date")
def iso_uk_date(value: str | None) -> str:
    """'2026-03-27' (as bid content stores dates) -> '27 March 2026'."""
    from datetime import date

    try:
        return f"{date.fromisoformat(value or ''):%-d %B %Y}"
    except ValueError:
        return value or ""


def _remove_part(commission_id: int, part_id: int, parts_of, remove, back_to: str):
    """Remove one part (team member, milestone, expense, document) of the signed-in
    organisation's own bid; a part of any other bid is a 404."""
    loaded = _editable(commission_id)
    if isinstance(loaded, Response):
        return loaded
    commission, own = loaded
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if part_id not in {part.id for part in parts_of(own)}:
        abort(404)
    outcome = _run(commission, ConfirmForm(), lambda: remove(current_user, own, part_id))
    return outcome or redirect(url_for(back_to, commission_id=commission.id))
