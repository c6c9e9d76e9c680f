"""Commission pages. Thin: load the commission, check its predicate (404 when it is not
yours to see), parse the form, call one service function, commit once.

Commissioners: /commissioning/commissions/...   Suppliers: /opportunities/...
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from wtforms import Field, SelectChoice

from portal.access import staff_required, supplier_required
from portal.commissions import bp
from portal.commissions.forms import (
    AmendForm,
    AnswerForm,
    CancelForm,
    ConfirmForm,
    CriteriaForm,
    DeadlinesForm,
    DetailsForm,
    DocumentForm,
    ExtendForm,
    QuestionForm,
    criterion_guidance,
)
from portal.extensions import db
from portal.models.base import utcnow
from portal.models.commissions import (
    DEFAULT_SCORE_GUIDANCE,
    SCORE_SCALE,
    ClarificationQuestion,
    Commission,
    CommissionState,
    QuestionStatus,
)
from portal.routing import commit_unless_refused
from portal.services import clarifications as qa
from portal.services import commissions as service
from portal.ukdatetime import days_left
from portal.uploads import UploadRejected

# --- helpers -----------------------------------------------------------------------------


def _page_arg() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < len(value) < 7 else 1


def _int_or_none(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 7 else None


def _managed(commission_id: int) -> Commission:
    commission = db.session.get(Commission, commission_id)
    if commission is None or not commission.can_manage(current_user):
        abort(404)
    return commission


def _visible_to_supplier(commission_id: int) -> Commission:
    commission = db.session.get(Commission, commission_id)
    if commission is None or not commission.is_supplier_viewer(current_user):
        abort(404)  # not invited looks exactly like not there
    return commission


def _field_map(form) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for field in form:
        if field.type == "FieldList":
            for entry in field.entries:
                for sub in entry.form:
                    fields[sub.id] = sub
        fields[field.name] = field
        fields[field.id] = field
    return fields


def _reset_error_cache(form) -> None:
    form._errors = None
    for field in form:
        if field.type == "FieldList":
            for entry in field.entries:
                entry.form._errors = None
            entry_errors = [entry.errors for entry in field.entries]
            field.errors = entry_errors if any(entry_errors) else []


def _refused(form, error: service.CommissionError, fallback: str = "submit") -> None:
    fields = _field_map(form)
    for name, message in error.errors:
        field = fields.get(name or "") or fields.get(fallback) or form.submit
        if not field.errors:  # the first problem with a field is the one shown
            field.errors = [*field.errors, message]
    _reset_error_cache(form)


def _saved(form, change: Callable[[], object], fallback: str = "submit") -> bool:
    """Run the service change and commit it: True. A refusal is rolled back and shown on
    the form, a problem about no field of its own next to `fallback`: False."""
    return commit_unless_refused(
        change,
        refusal=service.CommissionError,
        on_refusal=lambda error: _refused(form, error, fallback),
    )


def _carried_out(change: Callable[[], object]) -> bool:
    """Run the service change and commit it: True. A refusal is rolled back and flashed:
    False (a button has no form to show it on)."""
    return commit_unless_refused(
        change,
        refusal=service.CommissionError,
        on_refusal=lambda error: flash(error.message, "info"),
    )


def _to_overview(commission: Commission):
    return redirect(url_for("commissions.overview", commission_id=commission.id))


def _details_input(form, with_category=True) -> service.DetailsInput:
    return service.DetailsInput(
        category_id=form.category_id.data if with_category else None,
        title=form.title.data or "",
        summary=form.summary.data or "",
        specification=form.specification.data or "",
        deliverables=form.deliverables.data or "",
        timescale=form.timescale.data or "",
        max_budget_pence=service.parse_pounds(form.max_budget.data),
    )


def _criteria_input(form) -> list[service.CriterionInput]:
    items = []
    for entry in form.criteria.entries:
        sub = entry.form
        if sub.is_blank():
            continue
        items.append(service.CriterionInput(
            name=sub.name.data or "",
            description=sub.description.data or "",
            weight=_int_or_none(sub.weight.data),
            guidance=criterion_guidance(sub),
        ))
    return items


def _drop_blank_criteria(form) -> None:
    """Blank rows are ignored; take them out so error ids match the service's numbering."""
    keep = [e for e in form.criteria.entries if not e.form.is_blank()]
    if not keep:
        return
    data = [
        {name: getattr(e.form, name).data for name in e.form._fields} for e in keep
    ]
    while form.criteria.entries:
        form.criteria.pop_entry()
    for row in data:
        form.criteria.append_entry(row)


def _fill_criteria(form, commission: Commission) -> None:
    while form.criteria.entries:
        form.criteria.pop_entry()
    for criterion in commission.criteria:
        row = {"name": criterion.name, "description": criterion.description,
               "weight": str(criterion.weight)}
        for score in SCORE_SCALE:
            row[f"guidance_{score}"] = criterion.guidance_for(score)
        form.criteria.append_entry(row)
    if not commission.criteria:
        form.criteria.append_entry(_blank_criterion())
    form.price_weight.data = str(commission.price_weight) if commission.criteria else ""


def _blank_criterion() -> dict:
    return {f"guidance_{s}": DEFAULT_SCORE_GUIDANCE[s] for s in SCORE_SCALE}


def _fill_content(form, commission: Commission) -> None:
    form.title.data = commission.title
    form.summary.data = commission.summary
    form.specification.data = commission.specification
    form.deliverables.data = commission.deliverables
    form.timescale.data = commission.timescale
    form.max_budget.data = (
        service.format_pence(commission.max_budget_pence).lstrip("£").replace(",", "")
        if commission.max_budget_pence else ""
    )


def _adding_criterion(form) -> bool:
    if "add_criterion" not in request.form:
        return False
    if len(form.criteria.entries) < form.criteria.max_entries:
        form.criteria.append_entry(_blank_criterion())
    return True


def _status(form) -> int:
    return 400 if form.errors else 200


def _not_draft(commission: Commission):
    flash("This commission has been published or cancelled, so it can no longer be "
          "changed that way.", "info")
    return _to_overview(commission)


# --- commissioners: list and new draft ---------------------------------------------------

VIEWS = {"open": "Open", "draft": "Drafts", "past": "Closed and cancelled"}


@bp.get("/commissioning/commissions")
@staff_required("commissioner")
def index():
    view = request.args.get("view", "open")
    if view not in VIEWS:
        view = "open"
    now = utcnow()
    page = service.commission_list(view=view, page=_page_arg(), now=now)
    return render_template("commissions/index.html", page=page, view=view, views=VIEWS,
                           now=now, days_left=days_left)


def _category_choices() -> list[tuple]:
    return [SelectChoice("", "Choose a service category")] + [
        SelectChoice(c.id, f"{c.number}. {c.name}") for c in service.categories()
    ]


@bp.route("/commissioning/commissions/new", methods=["GET", "POST"])
@staff_required("commissioner")
def new():
    form = DetailsForm()
    form.category_id.choices = _category_choices()
    if request.method == "POST":
        form.validate()
        try:
            commission = service.create_draft(current_user, _details_input(form))
        except service.CommissionError as error:
            db.session.rollback()
            _refused(form, error)
        else:
            db.session.commit()
            return _to_overview(commission)
    return render_template("commissions/details.html", form=form, commission=None), \
        _status(form)


# --- commissioners: one commission -------------------------------------------------------


@bp.get("/commissioning/commissions/<int:commission_id>")
@staff_required("commissioner")
def overview(commission_id: int):
    commission = _managed(commission_id)
    now = utcnow()
    state = commission.state_at(now)
    context = {
        "commission": commission,
        "state": state,
        "now": now,
        "days_left": days_left,
        "documents": service.current_documents(commission),
    }
    if state == CommissionState.DRAFT:
        return render_template("commissions/task_list.html",
                               tasks=service.task_list(commission), **context)
    return render_template(
        "commissions/overview.html",
        invitations=service.invitations_with_organisations(commission),
        invitation_count=service.invitation_count(commission),
        questions=qa.questions_for_commissioner(commission),
        versions=commission.versions,
        field_labels=service.FIELD_LABELS,
        **context,
    )


@bp.route("/commissioning/commissions/<int:commission_id>/details", methods=["GET", "POST"])
@staff_required("commissioner")
def details(commission_id: int):
    commission = _managed(commission_id)
    if not commission.can_edit(current_user):
        return _not_draft(commission)
    form = DetailsForm()
    form.category_id.choices = _category_choices()
    if request.method == "GET":
        form.category_id.data = commission.category_id
        _fill_content(form, commission)
    else:
        form.validate()
        if _saved(form, lambda: service.update_details(
            current_user, commission, _details_input(form),
        )):
            return _to_overview(commission)
    return render_template("commissions/details.html", form=form, commission=commission), \
        _status(form)


@bp.route("/commissioning/commissions/<int:commission_id>/criteria", methods=["GET", "POST"])
@staff_required("commissioner")
def criteria(commission_id: int):
    commission = _managed(commission_id)
    if not commission.can_edit(current_user):
        return _not_draft(commission)
    form = CriteriaForm()
    if request.method == "GET":
        _fill_criteria(form, commission)
    elif not _adding_criterion(form):
        _drop_blank_criteria(form)
        if _saved(form, lambda: service.set_criteria(
            current_user, commission, _criteria_input(form),
            _int_or_none(form.price_weight.data),
        ), fallback="price_weight"):
            return _to_overview(commission)
    return render_template("commissions/criteria.html", form=form, commission=commission), \
        _status(form)


@bp.route("/commissioning/commissions/<int:commission_id>/deadlines", methods=["GET", "POST"])
@staff_required("commissioner")
def deadlines(commission_id: int):
    commission = _managed(commission_id)
    if not commission.can_edit(current_user):
        return _not_draft(commission)
    if request.method == "GET":
        form = DeadlinesForm(obj=commission)
    else:
        form = DeadlinesForm()
        if form.validate() and _saved(form, lambda: service.set_deadlines(
            current_user, commission,
            form.clarification_deadline.data, form.submission_deadline.data,
        )):
            return _to_overview(commission)
    return render_template("commissions/deadlines.html", form=form, commission=commission,
                           min_days=service.min_tender_days()), _status(form)


@bp.route("/commissioning/commissions/<int:commission_id>/documents", methods=["GET", "POST"])
@staff_required("commissioner")
def documents(commission_id: int):
    commission = _managed(commission_id)
    if not commission.can_edit(current_user):
        return _not_draft(commission)
    form = DocumentForm()
    status = 200
    if request.method == "POST":
        if not form.validate():
            status = 400
        else:
            try:
                service.add_document(current_user, commission, form.file.data,
                                     form.title.data or "")
            except UploadRejected as exc:
                form.file.errors = [*form.file.errors, exc.message]
                form._errors = None
                db.session.commit()  # keeps a document.infected audit event, nothing else
                status = exc.status
            except service.CommissionError as error:
                db.session.rollback()
                _refused(form, error)
                status = 400
            else:
                db.session.commit()
                flash("Document uploaded.", "success")
                return redirect(url_for("commissions.documents", commission_id=commission.id))
    return render_template("commissions/documents.html", form=form, commission=commission,
                           documents=service.current_documents(commission),
                           remove_form=ConfirmForm()), status


@bp.post("/commissioning/commissions/<int:commission_id>/documents/<int:link_id>/remove")
@staff_required("commissioner")
def remove_document(commission_id: int, link_id: int):
    commission = _managed(commission_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if _carried_out(lambda: service.remove_document(current_user, commission, link_id)):
        flash("Document removed.", "success")
    return redirect(url_for("commissions.documents", commission_id=commission.id))


@bp.get("/commissioning/commissions/<int:commission_id>/check")
@staff_required("commissioner")
def check(commission_id: int):
    commission = _managed(commission_id)
    if not commission.can_edit(current_user):
        return _not_draft(commission)
    now = utcnow()
    return render_template(
        "commissions/check.html",
        commission=commission,
        problems=service.publish_problems(commission, now),
        invitees=len(service.active_memberships(commission.category_id, now)),
        documents=service.current_documents(commission),
        form=ConfirmForm(),
    )


@bp.post("/commissioning/commissions/<int:commission_id>/publish")
@staff_required("commissioner")
def publish(commission_id: int):
    commission = _managed(commission_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        invited = service.publish(current_user, commission)
    except service.CommissionError as error:
        db.session.rollback()
        if error.errors and len(error.errors) > 1:
            flash("The commission could not be published: " + "; ".join(
                m for _f, m in error.errors), "info")
        else:
            flash("The commission could not be published: " + error.message, "info")
        if commission.can_edit(current_user):
            return redirect(url_for("commissions.check", commission_id=commission.id)), 303
        return _to_overview(commission), 303
    db.session.commit()
    flash(f"Commission {commission.reference} published. {invited} "
          f"organisation{'s' if invited != 1 else ''} invited to bid.", "success")
    return _to_overview(commission)


# --- commissioners: amendments and cancellation ------------------------------------------


def _not_open(commission: Commission):
    flash("This commission can only be amended while it is open for bids.", "info")
    return _to_overview(commission)


@bp.route("/commissioning/commissions/<int:commission_id>/extend", methods=["GET", "POST"])
@staff_required("commissioner")
def extend(commission_id: int):
    commission = _managed(commission_id)
    if not commission.can_amend(current_user):
        return _not_open(commission)
    if request.method == "GET":
        form = ExtendForm(obj=commission)
        form.note.data = ""
    else:
        form = ExtendForm()
        if form.validate() and _saved(form, lambda: service.extend_deadline(
            current_user, commission,
            form.clarification_deadline.data, form.submission_deadline.data,
            form.note.data or "",
        )):
            flash("Deadline extended. Every organisation invited has been told.", "success")
            return _to_overview(commission)
    return render_template("commissions/extend.html", form=form, commission=commission), \
        _status(form)


@bp.route("/commissioning/commissions/<int:commission_id>/amend", methods=["GET", "POST"])
@staff_required("commissioner")
def amend(commission_id: int):
    commission = _managed(commission_id)
    if not commission.can_amend(current_user):
        return _not_open(commission)
    if request.method == "GET":
        form = AmendForm(obj=commission)
        _fill_content(form, commission)
        _fill_criteria(form, commission)
        form.note.data = ""
    else:
        form = AmendForm()
        if not _adding_criterion(form):
            form.validate()
            _drop_blank_criteria(form)
            if _saved(form, lambda: service.change_material(
                current_user, commission, _details_input(form, with_category=False),
                _criteria_input(form), _int_or_none(form.price_weight.data),
                form.clarification_deadline.data, form.submission_deadline.data,
                form.note.data or "",
            )):
                flash("Change published. Every organisation invited has been told, and "
                      "bidders must confirm their bids again.", "success")
                return _to_overview(commission)
    return render_template("commissions/amend.html", form=form, commission=commission,
                           min_days=service.min_tender_days()), _status(form)


@bp.route("/commissioning/commissions/<int:commission_id>/cancel", methods=["GET", "POST"])
@staff_required("commissioner")
def cancel(commission_id: int):
    commission = _managed(commission_id)
    if not commission.can_cancel(current_user):
        flash("This commission can no longer be cancelled.", "info")
        return _to_overview(commission)
    form = CancelForm()
    if request.method == "POST" and _saved(
        form, lambda: service.cancel(current_user, commission, form.reason.data or ""),
        fallback="reason",
    ):
        flash("Commission cancelled.", "success")
        return _to_overview(commission)
    return render_template("commissions/cancel.html", form=form, commission=commission), \
        _status(form)


# --- commissioners: clarification questions ----------------------------------------------


@bp.route("/commissioning/commissions/<int:commission_id>/questions/<int:question_id>",
          methods=["GET", "POST"])
@staff_required("commissioner")
def answer(commission_id: int, question_id: int):
    commission = _managed(commission_id)
    question = db.session.get(ClarificationQuestion, question_id)
    if question is None or question.commission_id != commission.id:
        abort(404)
    form = AnswerForm()
    if request.method == "GET":
        form.published_question.data = question.published_question or question.question
        form.answer.data = question.answer or ""
    elif not question.can_answer(current_user):
        flash("This question has already been answered.", "info")
        return _to_overview(commission)
    elif form.validate() and _saved(
        form,
        lambda: qa.answer_question(current_user, question, answer=form.answer.data or "",
                                   public=form.visibility.data == "public",
                                   published_question=form.published_question.data),
        fallback="answer",
    ):
        flash("Answer sent.", "success")
        return redirect(url_for("commissions.overview", commission_id=commission.id,
                                _anchor="questions"))
    return render_template("commissions/answer.html", form=form, commission=commission,
                           question=question), _status(form)


# --- suppliers ---------------------------------------------------------------------------


@bp.get("/opportunities")
@supplier_required
def opportunities():
    now = utcnow()
    page = service.opportunities(current_user.membership.organisation_id, page=_page_arg(),
                                 now=now)
    return render_template("commissions/opportunities.html", page=page, now=now,
                           days_left=days_left)


@bp.get("/opportunities/<int:commission_id>")
@supplier_required
def opportunity(commission_id: int):
    commission = _visible_to_supplier(commission_id)
    now = utcnow()
    organisation_id = current_user.membership.organisation_id
    questions = qa.questions_for_supplier(commission, organisation_id)
    return render_template(
        "commissions/opportunity.html",
        commission=commission,
        state=commission.state_at(now),
        now=now,
        days_left=days_left,
        documents=service.current_documents(commission),
        public_questions=[q for q in questions if q.status == QuestionStatus.PUBLIC],
        own_questions=[q for q in questions if q.organisation_id == organisation_id],
        versions=[v for v in commission.versions if v.number > 1],
        field_labels=service.FIELD_LABELS,
        can_ask=commission.accepts_questions_at(now),
        bid_link=_bid_link(commission),
    )


def _bid_link(commission: Commission) -> Markup | None:
    """The bids work package's entry point for this commission, if it is installed."""
    from flask import current_app

    for endpoint in ("bids.bid", "bids.overview"):
        if endpoint in current_app.view_functions:
            try:
                return url_for(endpoint, commission_id=commission.id)
            except Exception:  # noqa: S112 - a different signature; try the next one
                continue
    return None


@bp.route("/opportunities/<int:commission_id>/questions/new", methods=["GET", "POST"])
@supplier_required
def ask(commission_id: int):
    commission = _visible_to_supplier(commission_id)
    form = QuestionForm()
    if request.method == "POST" and _saved(
        form, lambda: qa.ask_question(current_user, commission, form.question.data or ""),
        fallback="question",
    ):
        flash("Question sent. You will get an e-mail when it is answered.", "success")
        return redirect(url_for("commissions.opportunity", commission_id=commission.id,
                                _anchor="your-questions"))
    return render_template("commissions/ask.html", form=form, commission=commission,
                           now=utcnow()), _status(form)
