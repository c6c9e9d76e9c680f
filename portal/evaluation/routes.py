"""Evaluation pages. Thin: load the commission (and bid), check the model predicate
(404 when it is not yours to see), parse the form, call one service function, commit once.

Commissioners: /commissioning/commissions/<id>/evaluation...  (bids must be opened)
Evaluators:    /evaluation/...  (only commissions they are assigned to, once started)
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal.access import staff_required
from portal.evaluation import bp
from portal.evaluation.forms import (
    AbnormallyLowForm,
    AssignForm,
    ConfirmForm,
    DeclarationForm,
    scoring_form,
)
from portal.extensions import db
from portal.models.bids import Bid
from portal.models.commissions import Commission
from portal.models.evaluation import (
    ABNORMALLY_LOW_LABELS,
    EvaluatorAssignment,
    evaluator_assignment,
)
from portal.services import evaluation as service
from portal.services.bids import format_pence, format_uk
from portal.services.ranking import rank_bids

# --- helpers -----------------------------------------------------------------------------


def _managed(commission_id: int) -> Commission:
    """A commission the commissioner runs whose bids are opened, or 404."""
    commission = db.session.get(Commission, commission_id)
    if (commission is None or not commission.can_manage(current_user)
            or commission.bids_opened_at is None):
        abort(404)
    return commission


def _started(commission_id: int) -> Commission:
    commission = _managed(commission_id)
    if commission.evaluation_started_at is None:
        abort(404)
    return commission


def _evaluating(commission_id: int) -> tuple[Commission, EvaluatorAssignment]:
    """A commission the signed-in evaluator is assigned to (evaluation started), or 404."""
    commission = db.session.get(Commission, commission_id)
    if commission is None:
        abort(404)
    assignment = evaluator_assignment(commission, current_user)
    if assignment is None:
        abort(404)
    return commission, assignment


def _bid(commission: Commission, bid_id: int) -> Bid:
    bid = service.evaluation_bid(commission, bid_id)
    if bid is None:
        abort(404)
    return bid


def _apply_errors(form, error: service.EvaluationError, fallback: str = "submit") -> None:
    for field_name, message in error.errors:
        field = getattr(form, field_name, None) if field_name else None
        if field is None:
            field = getattr(form, fallback)
        if not field.errors or message not in field.errors:
            field.errors = [*list(field.errors or []), message]
    form._errors = None


def _csrf_failed(form) -> bool:
    token = getattr(form, "csrf_token", None)
    return bool(token is not None and token.errors)


def _common(commission: Commission, **extra) -> dict:
    return {
        "commission": commission,
        "format_uk": format_uk,
        "format_pence": format_pence,
        **extra,
    }


def _flash_error(error: service.EvaluationError) -> None:
    db.session.rollback()
    flash(" ".join(message.rstrip(".") + "." for _, message in error.errors), "info")


# --- commissioner: the panel -------------------------------------------------------------


def _assign_form(commission: Commission, formdata=None) -> AssignForm:
    form = AssignForm(formdata=formdata) if formdata is not None else AssignForm()
    form.user_id.choices = [SelectChoice("", "Choose an evaluator")] + [
        SelectChoice(str(u.id), f"{u.name} ({u.email})")
        for u in service.eligible_evaluators(commission)
    ]
    form.replaces_id.choices = [SelectChoice("", "Nobody")] + [
        SelectChoice(str(a.id), a.user.name)
        for a in service.assignments(commission, include_removed=True)
    ]
    return form


def _panel_page(commission: Commission, form: AssignForm, status: int = 200):
    bids, rows = service.progress(commission)
    return render_template(
        "evaluation/panel.html",
        form=form,
        panel=service.assignments(commission),
        removed=[a for a in service.assignments(commission, include_removed=True)
                 if a.removed_at is not None],
        potential=service.panel_potential_conflicts(commission),
        conflicts=service.declared_conflicts(commission),
        start_problems=service.start_problems(commission),
        moderation_problems=service.moderation_problems(commission),
        editable=service.panel_editable(commission),
        minimum=service.evaluators_min(),
        bids=bids,
        progress_rows=rows,
        can_open_price=service.can_open_price(current_user, commission),
        all_submitted=service.all_submitted(commission),
        confirm_form=ConfirmForm(),
        **_common(commission),
    ), status


@bp.get("/commissioning/commissions/<int:commission_id>/evaluation")
@staff_required("commissioner")
def panel(commission_id: int):
    commission = _managed(commission_id)
    return _panel_page(commission, _assign_form(commission))


@bp.post("/commissioning/commissions/<int:commission_id>/evaluation/evaluators")
@staff_required("commissioner")
def assign(commission_id: int):
    commission = _managed(commission_id)
    form = _assign_form(commission, request.form)
    if not form.validate_on_submit() and _csrf_failed(form):
        abort(400)
    try:
        service.assign_evaluator(current_user, commission, form.user_id.data,
                                 moderator=bool(form.moderator.data),
                                 replaces_id=form.replaces_id.data)
    except service.EvaluationError as error:
        db.session.rollback()
        commission = _managed(commission_id)
        _apply_errors(form, error, "user_id")
        return _panel_page(commission, form, 400)
    db.session.commit()
    flash("Evaluator added to the panel.", "success")
    return redirect(url_for("evaluation.panel", commission_id=commission_id))


def _panel_action(commission_id: int, call, message: str):
    commission = _managed(commission_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        call(commission)
    except service.EvaluationError as error:
        _flash_error(error)
        return redirect(url_for("evaluation.panel", commission_id=commission_id))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("evaluation.panel", commission_id=commission_id))


@bp.post("/commissioning/commissions/<int:commission_id>/evaluation/evaluators/"
         "<int:assignment_id>/remove")
@staff_required("commissioner")
def remove(commission_id: int, assignment_id: int):
    return _panel_action(
        commission_id,
        lambda c: service.remove_evaluator(current_user, c, assignment_id),
        "Evaluator removed from the panel.")


@bp.post("/commissioning/commissions/<int:commission_id>/evaluation/evaluators/"
         "<int:assignment_id>/moderator")
@staff_required("commissioner")
def make_moderator(commission_id: int, assignment_id: int):
    return _panel_action(
        commission_id,
        lambda c: service.set_moderator(current_user, c, assignment_id),
        "Moderator chosen.")


@bp.post("/commissioning/commissions/<int:commission_id>/evaluation/start")
@staff_required("commissioner")
def start(commission_id: int):
    return _panel_action(
        commission_id,
        lambda c: service.start_evaluation(current_user, c),
        "Evaluation started. The evaluators have been e-mailed.")


@bp.get("/commissioning/commissions/<int:commission_id>/evaluation/progress")
@staff_required("commissioner")
def progress(commission_id: int):
    commission = _started(commission_id)
    bids, rows = service.progress(commission)
    show_scores = service.can_see_panel_scores(current_user, commission)
    return render_template(
        "evaluation/progress.html",
        bids=bids,
        rows=rows,
        show_scores=show_scores,
        grid=service.moderation_grid(commission) if show_scores else [],
        **_common(commission),
    )


# --- commissioner: the price envelope, abnormally low prices, ranking, report -----------


@bp.route("/commissioning/commissions/<int:commission_id>/evaluation/price",
          methods=["GET", "POST"])
@staff_required("commissioner")
def open_price(commission_id: int):
    commission = _started(commission_id)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            service.open_price(current_user, commission)
        except service.EvaluationError as error:
            _flash_error(error)
            return redirect(url_for("evaluation.panel", commission_id=commission_id))
        db.session.commit()
        flash("Price envelope opened.", "success")
        return redirect(url_for("evaluation.ranking", commission_id=commission_id))
    return render_template(
        "evaluation/open_price.html",
        confirm_form=form,
        form=None,
        can_open=service.can_open_price(current_user, commission),
        **_common(commission),
    )


@bp.get("/commissioning/commissions/<int:commission_id>/evaluation/ranking")
@staff_required("commissioner")
def ranking(commission_id: int):
    commission = _started(commission_id)
    return render_template(
        "evaluation/ranking.html",
        ranking=rank_bids(commission),
        labels=ABNORMALLY_LOW_LABELS,
        **_common(commission),
    )


@bp.route("/commissioning/commissions/<int:commission_id>/evaluation/bids/<int:bid_id>/"
          "abnormally-low", methods=["GET", "POST"])
@staff_required("commissioner")
def abnormally_low(commission_id: int, bid_id: int):
    commission = _started(commission_id)
    bid = _bid(commission, bid_id)
    current = rank_bids(commission)
    row = current.row_for(bid.id)
    if row is None or not row.abnormally_low:
        abort(404)
    form = AbnormallyLowForm()
    status = 200
    if request.method == "GET" and row.decision is not None:
        form.outcome.data = row.decision.outcome
        form.reason.data = row.decision.reason
    if request.method == "POST":
        form.validate_on_submit()
        if _csrf_failed(form):
            abort(400)
        try:
            service.decide_abnormally_low(current_user, commission, bid, form.outcome.data,
                                          form.reason.data or "")
        except service.EvaluationError as error:
            db.session.rollback()
            commission = _started(commission_id)
            bid = _bid(commission, bid_id)
            row = rank_bids(commission).row_for(bid.id)
            _apply_errors(form, error)
            status = 400
        else:
            db.session.commit()
            flash("Decision saved.", "success")
            return redirect(url_for("evaluation.ranking", commission_id=commission_id))
    return render_template("evaluation/abnormally_low.html", form=form, bid=bid, row=row,
                           ranking=current, **_common(commission)), status


@bp.get("/commissioning/commissions/<int:commission_id>/evaluation/report")
@staff_required("commissioner")
def report(commission_id: int):
    commission = _started(commission_id)
    show_scores = service.can_see_panel_scores(current_user, commission)
    return render_template(
        "evaluation/report.html",
        ranking=rank_bids(commission),
        panel=service.assignments(commission),
        conflicts=service.declared_conflicts(commission),
        show_scores=show_scores,
        grid=service.moderation_grid(commission) if show_scores else [],
        labels=ABNORMALLY_LOW_LABELS,
        **_common(commission),
    )


def _export(commission: Commission, kind: str) -> Response:
    headers, rows = service.export_rows(current_user, commission)
    name = f"{commission.reference}-evaluation-scores"
    if kind == "xlsx":
        return Response(
            service.to_xlsx(headers, rows),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"',
                     "Cache-Control": "no-store"},
        )
    return Response(
        service.to_csv(headers, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                 "Cache-Control": "no-store"},
    )


@bp.get("/commissioning/commissions/<int:commission_id>/evaluation/scores.csv")
@staff_required("commissioner")
def export_csv(commission_id: int):
    return _export(_started(commission_id), "csv")


@bp.get("/commissioning/commissions/<int:commission_id>/evaluation/scores.xlsx")
@staff_required("commissioner")
def export_xlsx(commission_id: int):
    return _export(_started(commission_id), "xlsx")


# --- evaluators --------------------------------------------------------------------------


@bp.get("/evaluation")
@staff_required("evaluator")
def index():
    items = []
    for assignment in db.session.scalars(
        db.select(EvaluatorAssignment)
        .where(EvaluatorAssignment.user_id == current_user.id,
               EvaluatorAssignment.removed_at.is_(None))
        .order_by(EvaluatorAssignment.id.desc())
    ):
        commission = assignment.commission
        if evaluator_assignment(commission, current_user) is not None:
            items.append((commission, assignment))
    return render_template("evaluation/index.html", items=items, form=None)


@bp.get("/evaluation/commissions/<int:commission_id>")
@staff_required("evaluator")
def commission(commission_id: int):
    commission, assignment = _evaluating(commission_id)
    return render_template(
        "evaluation/commission.html",
        assignment=assignment,
        tasks=service.tasks(assignment),
        problems=service.submission_problems(assignment),
        **_common(commission),
    )


@bp.route("/evaluation/commissions/<int:commission_id>/bids/<int:bid_id>/declaration",
          methods=["GET", "POST"])
@staff_required("evaluator")
def declaration(commission_id: int, bid_id: int):
    commission, assignment = _evaluating(commission_id)
    bid = _bid(commission, bid_id)
    existing = service.declaration_for(assignment, bid)
    form = DeclarationForm()
    status = 200
    if request.method == "POST":
        form.validate_on_submit()
        if _csrf_failed(form):
            abort(400)
        if existing is None:
            try:
                service.declare(current_user, commission, bid, form.has_conflict_value(),
                                form.description.data or "")
            except service.EvaluationError as error:
                db.session.rollback()
                commission, assignment = _evaluating(commission_id)
                bid = _bid(commission, bid_id)
                _apply_errors(form, error)
                status = 400
            else:
                db.session.commit()
                flash("Declaration recorded.", "success")
                return redirect(url_for("evaluation.commission", commission_id=commission_id))
        else:
            status = 400
    from portal.services.conflicts import potential_conflicts

    return render_template(
        "evaluation/declaration.html",
        form=form,
        bid=bid,
        existing=existing,
        potential=potential_conflicts(current_user, bid.organisation, commission)
        if existing is None
        else existing.potential,
        **_common(commission),
    ), status


def _declared_clear(assignment: EvaluatorAssignment, bid: Bid):
    """None when the evaluator declared no conflict; otherwise the response to give."""
    declaration = service.declaration_for(assignment, bid)
    if declaration is None:
        return "undeclared"
    if declaration.has_conflict:
        return "conflict"
    return None


@bp.get("/evaluation/commissions/<int:commission_id>/bids/<int:bid_id>")
@staff_required("evaluator")
def bid(commission_id: int, bid_id: int):
    commission, assignment = _evaluating(commission_id)
    own = _bid(commission, bid_id)
    problem = _declared_clear(assignment, own)
    if problem == "undeclared":
        return redirect(url_for("evaluation.declaration", commission_id=commission_id,
                                bid_id=bid_id))
    if problem == "conflict" or not own.can_view(current_user):
        abort(404)
    version = own.latest_version
    return render_template(
        "evaluation/bid.html",
        bid=own,
        version=version,
        content=version.content,
        show_commercial=own.can_view_commercial(current_user),
        assignment=assignment,
        **_common(commission),
    )


@bp.route("/evaluation/commissions/<int:commission_id>/bids/<int:bid_id>/scores",
          methods=["GET", "POST"])
@staff_required("evaluator")
def score(commission_id: int, bid_id: int):
    commission, assignment = _evaluating(commission_id)
    own = _bid(commission, bid_id)
    problem = _declared_clear(assignment, own)
    if problem == "undeclared" and request.method == "GET":
        return redirect(url_for("evaluation.declaration", commission_id=commission_id,
                                bid_id=bid_id))
    if problem is not None:
        abort(403)
    criteria = list(commission.criteria)
    locked = assignment.has_submitted or commission.moderated_at is not None
    status = 200
    if request.method == "POST":
        if locked:
            abort(403)
        form = scoring_form(criteria)
        form.validate_on_submit()
        if _csrf_failed(form):
            abort(400)
        entries = [
            service.ScoreInput(c.id, getattr(form, f"score_{c.id}").data,
                               getattr(form, f"justification_{c.id}").data)
            for c in criteria
        ]
        try:
            service.save_scores(current_user, commission, own, entries)
        except service.EvaluationForbidden:
            db.session.rollback()
            abort(403)
        except service.EvaluationError as error:
            db.session.rollback()
            commission, assignment = _evaluating(commission_id)
            own = _bid(commission, bid_id)
            criteria = list(commission.criteria)
            _apply_errors(form, error)
            status = 400
        else:
            db.session.commit()
            flash(f"Scores for {own.organisation.display_name} saved as a draft. You can "
                  "change them until you submit your scores.", "success")
            return redirect(url_for("evaluation.commission", commission_id=commission_id))
    else:
        form = scoring_form(criteria, formdata=None)
        for (_, criterion_id), row in service.scores_of(assignment, own).items():
            getattr(form, f"score_{criterion_id}").data = str(row.score)
            getattr(form, f"justification_{criterion_id}").data = row.justification
    return render_template(
        "evaluation/score.html",
        form=form,
        bid=own,
        criteria=criteria,
        locked=locked,
        minimum=service.justification_min(),
        **_common(commission),
    ), status


@bp.route("/evaluation/commissions/<int:commission_id>/submit", methods=["GET", "POST"])
@staff_required("evaluator")
def submit(commission_id: int):
    commission, assignment = _evaluating(commission_id)
    form = ConfirmForm()
    status = 200
    errors: list[str] = []
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            service.submit_scores(current_user, commission)
        except service.EvaluationError as error:
            db.session.rollback()
            commission, assignment = _evaluating(commission_id)
            _apply_errors(form, error)
            status = 400
        else:
            db.session.commit()
            flash("Scores submitted. They can no longer be changed.", "success")
            return redirect(url_for("evaluation.commission", commission_id=commission_id))
    return render_template(
        "evaluation/submit.html",
        form=form,
        assignment=assignment,
        tasks=service.tasks(assignment),
        problems=service.submission_problems(assignment),
        errors=errors,
        **_common(commission),
    ), status


@bp.get("/evaluation/commissions/<int:commission_id>/panel-scores")
@staff_required("evaluator")
def panel_scores(commission_id: int):
    commission, assignment = _evaluating(commission_id)
    if not service.can_see_panel_scores(current_user, commission):
        abort(403)
    visible = service.visible_scores(current_user, commission)
    return render_template("evaluation/panel_scores.html", scores=visible,
                           assignment=assignment, **_common(commission))


@bp.get("/evaluation/commissions/<int:commission_id>/scores.csv")
@staff_required("evaluator")
def evaluator_export_csv(commission_id: int):
    commission, _assignment = _evaluating(commission_id)
    return _export(commission, "csv")


@bp.get("/evaluation/commissions/<int:commission_id>/scores.xlsx")
@staff_required("evaluator")
def evaluator_export_xlsx(commission_id: int):
    commission, _assignment = _evaluating(commission_id)
    return _export(commission, "xlsx")


# --- the moderator -----------------------------------------------------------------------


def _moderating(commission_id: int) -> tuple[Commission, EvaluatorAssignment]:
    commission, assignment = _evaluating(commission_id)
    if not assignment.is_moderator:
        abort(403)
    return commission, assignment


@bp.get("/evaluation/commissions/<int:commission_id>/moderation")
@staff_required("evaluator")
def moderation(commission_id: int):
    commission, assignment = _moderating(commission_id)
    problems = service.moderation_problems(commission)
    ready = not problems
    return render_template(
        "evaluation/moderation.html",
        assignment=assignment,
        problems=problems,
        grid=service.moderation_grid(commission)
        if ready or commission.moderated_at else [],
        confirm_form=ConfirmForm(),
        form=None,
        **_common(commission),
    )


@bp.route("/evaluation/commissions/<int:commission_id>/moderation/bids/<int:bid_id>",
          methods=["GET", "POST"])
@staff_required("evaluator")
def moderate_bid(commission_id: int, bid_id: int):
    commission, _assignment = _moderating(commission_id)
    own = _bid(commission, bid_id)
    criteria = list(commission.criteria)
    problems = service.moderation_problems(commission)
    status = 200
    if request.method == "POST":
        form = scoring_form(criteria, consensus=True)
        form.validate_on_submit()
        if _csrf_failed(form):
            abort(400)
        entries = [
            service.ConsensusInput(c.id, getattr(form, f"score_{c.id}").data,
                                   getattr(form, f"rationale_{c.id}").data)
            for c in criteria
        ]
        try:
            service.save_consensus(current_user, commission, own, entries)
        except service.EvaluationForbidden:
            db.session.rollback()
            abort(403)
        except service.EvaluationError as error:
            db.session.rollback()
            commission, _assignment = _moderating(commission_id)
            own = _bid(commission, bid_id)
            criteria = list(commission.criteria)
            problems = service.moderation_problems(commission)
            _apply_errors(form, error)
            status = 400
        else:
            db.session.commit()
            flash(f"Consensus scores for {own.organisation.display_name} saved.", "success")
            return redirect(url_for("evaluation.moderation", commission_id=commission_id))
    else:
        if problems:
            return redirect(url_for("evaluation.moderation", commission_id=commission_id))
        form = scoring_form(criteria, consensus=True, formdata=None)
        for cell in service.moderation_grid(commission, own)[0].cells:
            if cell.consensus is not None:
                getattr(form, f"score_{cell.criterion.id}").data = str(cell.consensus.score)
                getattr(form, f"rationale_{cell.criterion.id}").data = cell.consensus.rationale
    grid = service.moderation_grid(commission, own) if not problems else []
    return render_template(
        "evaluation/moderate_bid.html",
        form=form,
        bid=own,
        criteria=criteria,
        item=grid[0] if grid else None,
        problems=problems,
        **_common(commission),
    ), status


@bp.post("/evaluation/commissions/<int:commission_id>/moderation/complete")
@staff_required("evaluator")
def complete_moderation(commission_id: int):
    commission, _assignment = _moderating(commission_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.complete_moderation(current_user, commission)
    except service.EvaluationForbidden:
        db.session.rollback()
        abort(403)
    except service.EvaluationError as error:
        _flash_error(error)
        return redirect(url_for("evaluation.moderation", commission_id=commission_id))
    db.session.commit()
    flash("Moderation complete. The commissioner can now open the price envelope.",
          "success")
    return redirect(url_for("evaluation.moderation", commission_id=commission_id))

