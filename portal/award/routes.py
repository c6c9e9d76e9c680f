"""Award pages. Thin: load the object, check its predicate (404 when it is not yours to
see), parse the form, call one service function, commit once."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal.access import staff_required, supplier_required
from portal.award import bp
from portal.award.forms import (
    ButtonForm,
    NoSuitableBidForm,
    ProposeForm,
    ReturnForm,
    WithdrawForm,
)
from portal.extensions import db
from portal.models.award import Award, AwardStatus, OutcomeLetter
from portal.models.base import utcnow
from portal.models.commissions import Commission
from portal.services import award as service
from portal.services.ranking import rank_bids
from portal.services.standstill import configured_rule
from portal.ukdatetime import format_uk

# --- helpers -----------------------------------------------------------------------------


def _managed(commission_id: int) -> Commission:
    commission = db.session.get(Commission, commission_id)
    if commission is None or not commission.can_manage(current_user):
        abort(404)
    return commission


def _award_of(commission: Commission, award_id: int) -> Award:
    award = db.session.get(Award, award_id)
    if award is None or award.commission_id != commission.id:
        abort(404)
    return award


def _reviewable(award_id: int) -> Award:
    award = db.session.get(Award, award_id)
    if award is None or not award.can_review(current_user):
        abort(404)
    return award


def _fail(form, error: service.AwardError, fallback: str) -> None:
    name = error.field if error.field and hasattr(form, error.field) else fallback
    field = getattr(form, name)
    field.errors = [*list(field.errors or ()), error.message]
    form._errors = None


def _ranking_or_none(commission: Commission):
    if commission.bids_opened_at is None:
        return None
    return rank_bids(commission)


def _propose_choices(form: ProposeForm, ranking) -> None:
    form.bid_id.choices = [
        SelectChoice(str(row.bid_id),
                     f"{row.rank_label}. {row.organisation_name}: {row.total:.2f} points"
                     + (f" (tie broken by {row.tie_break})" if row.tie_break else ""))
        for row in ranking.rows
    ]
    if not form.bid_id.data and ranking.leader is not None:
        form.bid_id.data = str(ranking.leader.bid_id)


def _manage_page(commission: Commission, *, form: ProposeForm | None = None, status=200):
    now = utcnow()
    ranking = _ranking_or_none(commission)
    live = service.live_award(commission)
    problems = service.proposal_problems(commission, ranking, now) if ranking else [
        "The bids have not been opened yet"]
    if form is None:
        form = ProposeForm()
    if ranking is not None:
        _propose_choices(form, ranking)
    return render_template(
        "award/manage.html",
        commission=commission,
        state=commission.state_at(now),
        now=now,
        ranking=ranking,
        live=live,
        history=[a for a in service.award_history(commission) if a is not live],
        problems=problems,
        form=form,
        button=ButtonForm(),
        can_close=service.can_close_no_suitable_bid(commission, now) and live is None,
        rule=configured_rule(),
        format_uk=format_uk,
    ), status


# --- commissioners -----------------------------------------------------------------------


@bp.get("/commissioning/commissions/<int:commission_id>/award")
@staff_required("commissioner")
def manage(commission_id: int):
    return _manage_page(_managed(commission_id))


@bp.post("/commissioning/commissions/<int:commission_id>/award/propose")
@staff_required("commissioner")
def propose(commission_id: int):
    commission = _managed(commission_id)
    form = ProposeForm()
    if not form.validate_on_submit():
        abort(400)
    raw = (form.bid_id.data or "").strip()
    bid_id = int(raw) if raw.isdigit() and len(raw) < 10 else None
    if raw and bid_id is None:
        bid_id = -1  # not a bid of the ranking: refused by the service
    try:
        service.propose(current_user, commission, bid_id, form.reason.data or "")
    except service.NotFound:
        db.session.rollback()
        abort(404)
    except service.AwardError as error:
        db.session.rollback()
        _fail(form, error, "bid_id")
        return _manage_page(commission, form=form, status=400)
    db.session.commit()
    flash("Award proposed. An admin who did not propose it must approve it.", "success")
    return redirect(url_for("award.manage", commission_id=commission.id))


@bp.post("/commissioning/commissions/<int:commission_id>/award/<int:award_id>/confirm")
@staff_required("commissioner")
def confirm(commission_id: int, award_id: int):
    commission = _managed(commission_id)
    award = _award_of(commission, award_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        service.confirm(current_user, award)
    except service.NotFound:
        db.session.rollback()
        abort(404)
    except service.AwardError as error:
        db.session.rollback()
        flash(error.message, "info")
        return redirect(url_for("award.manage", commission_id=commission.id)), 303
    db.session.commit()
    flash("Award confirmed. The contract is made and delivery has started.", "success")
    return redirect(url_for("award.manage", commission_id=commission.id))


@bp.route("/commissioning/commissions/<int:commission_id>/award/<int:award_id>/withdraw",
          methods=["GET", "POST"])
@staff_required("commissioner")
def withdraw(commission_id: int, award_id: int):
    commission = _managed(commission_id)
    award = _award_of(commission, award_id)
    if award.status != AwardStatus.APPROVED:
        flash("Only an approved award that has not been confirmed can be withdrawn.", "info")
        return redirect(url_for("award.manage", commission_id=commission.id))
    form = WithdrawForm()
    if form.is_submitted():
        try:
            service.withdraw(current_user, award, form.reason.data or "")
        except service.NotFound:
            db.session.rollback()
            abort(404)
        except service.AwardError as error:
            db.session.rollback()
            _fail(form, error, "reason")
        else:
            db.session.commit()
            flash("Award withdrawn. Every bidder has been told.", "success")
            return redirect(url_for("award.manage", commission_id=commission.id))
    return render_template("award/withdraw.html", form=form, commission=commission,
                           award=award), 400 if form.errors else 200


@bp.route("/commissioning/commissions/<int:commission_id>/award/no-suitable-bid",
          methods=["GET", "POST"])
@staff_required("commissioner")
def no_suitable_bid(commission_id: int):
    commission = _managed(commission_id)
    if not service.can_close_no_suitable_bid(commission) or service.live_award(commission):
        flash("This commission cannot close with no suitable bid now.", "info")
        return redirect(url_for("award.manage", commission_id=commission.id))
    form = NoSuitableBidForm()
    if form.is_submitted():
        try:
            service.close_no_suitable_bid(current_user, commission, form.reason.data or "")
        except service.NotFound:
            db.session.rollback()
            abort(404)
        except service.AwardError as error:
            db.session.rollback()
            _fail(form, error, "reason")
        else:
            db.session.commit()
            flash("The commission is closed with no suitable bid. Every bidder has been "
                  "sent a letter.", "success")
            return redirect(url_for("award.manage", commission_id=commission.id))
    return render_template("award/no_suitable_bid.html", form=form,
                           commission=commission), 400 if form.errors else 200


# --- admins: four eyes -------------------------------------------------------------------


@bp.get("/admin/awards")
@staff_required("admin")
def approvals():
    return render_template("award/approvals.html", pending=service.pending_approvals(),
                           decided=service.recent_decisions(), format_uk=format_uk)


def _review_page(award: Award, *, return_form: ReturnForm | None = None, status=200):
    return render_template(
        "award/review.html",
        award=award,
        commission=award.commission,
        snapshot=award.ranking or {},
        can_approve=award.can_approve(current_user),
        is_proposer=award.proposed_by_id == current_user.id,
        button=ButtonForm(),
        form=return_form or ReturnForm(),
        rule=configured_rule(),
        format_uk=format_uk,
    ), status


@bp.get("/admin/awards/<int:award_id>")
@staff_required("admin")
def review(award_id: int):
    return _review_page(_reviewable(award_id))


@bp.post("/admin/awards/<int:award_id>/approve")
@staff_required("admin")
def approve(award_id: int):
    award = _reviewable(award_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        service.approve(current_user, award)
    except service.NotFound:
        db.session.rollback()
        abort(404)
    except service.AwardError as error:
        db.session.rollback()
        flash(error.message, "info")
        return redirect(url_for("award.review", award_id=award.id)), 303
    db.session.commit()
    flash("Award approved. The standstill period has started and every bidder has been "
          "sent their outcome letter.", "success")
    return redirect(url_for("award.review", award_id=award.id))


@bp.post("/admin/awards/<int:award_id>/return")
@staff_required("admin")
def return_award(award_id: int):
    award = _reviewable(award_id)
    form = ReturnForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.return_award(current_user, award, form.reason.data or "")
    except service.NotFound:
        db.session.rollback()
        abort(404)
    except service.AwardError as error:
        db.session.rollback()
        if error.field is None:
            flash(error.message, "info")
            return redirect(url_for("award.review", award_id=award.id)), 303
        _fail(form, error, "reason")
        return _review_page(award, return_form=form, status=400)
    db.session.commit()
    flash("Proposal returned to the commissioner.", "success")
    return redirect(url_for("award.review", award_id=award.id))


# --- bidders -----------------------------------------------------------------------------


def _invited(commission_id: int) -> Commission:
    commission = db.session.get(Commission, commission_id)
    if commission is None or not commission.is_supplier_viewer(current_user):
        abort(404)
    return commission


@bp.get("/opportunities/<int:commission_id>/outcome")
@supplier_required
def outcome(commission_id: int):
    commission = _invited(commission_id)
    letters = service.letters_for_organisation(
        commission, current_user.membership.organisation_id)
    letters = [letter for letter in letters if letter.can_view(current_user)]
    if not letters:
        abort(404)
    return render_template("award/outcome.html", commission=commission, letter=letters[0],
                           earlier=letters[1:], award=letters[0].award, format_uk=format_uk)


@bp.get("/opportunities/<int:commission_id>/outcome/<int:letter_id>")
@supplier_required
def letter(commission_id: int, letter_id: int):
    commission = _invited(commission_id)
    row = db.session.get(OutcomeLetter, letter_id)
    if row is None or row.commission_id != commission.id or not row.can_view(current_user):
        abort(404)  # another bidder's letter looks exactly like no letter
    return render_template("award/outcome.html", commission=commission, letter=row,
                           earlier=[], award=row.award, format_uk=format_uk)


# --- everyone ----------------------------------------------------------------------------


@bp.get("/open-data")
def open_data():
    from portal import ocds

    return render_template("award/open_data.html", license=ocds.setting(
        "OCDS_LICENSE", ocds.DEFAULT_LICENSE), prefix=ocds.prefix())


@bp.app_template_global("outcome_letter_link")
def outcome_letter_link(commission) -> str | None:
    """For the opportunity page: the link to the signed-in bidder's outcome letter for
    this commission, or None when their organisation has none."""
    membership = getattr(current_user, "membership", None)
    if not current_user.is_authenticated or membership is None:
        return None
    if not service.letters_for_organisation(commission, membership.organisation_id):
        return None
    return url_for("award.outcome", commission_id=commission.id)
