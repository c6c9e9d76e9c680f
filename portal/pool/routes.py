"""Pool pages. Thin: load the object, check its predicate (404 when it is not yours),
parse the form, call one service function, commit once."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from portal.access import staff_required, supplier_required
from portal.extensions import db
from portal.models.base import utcnow
from portal.models.categories import ServiceCategory
from portal.models.pool import (
    SECTIONS,
    AnswerType,
    ApplicationKind,
    ApplicationStatus,
    MembershipStatus,
    PoolApplication,
    PoolMembership,
)
from portal.models.profiles import (
    KIND_MAY_GIVE_CHARITY_NUMBER,
    KIND_MAY_GIVE_COMPANY_NUMBER,
    ORGANISATION_KIND_LABELS,
    PROFESSIONAL_BACKGROUND_LABELS,
    ReviewerProfile,
)
from portal.pool import bp
from portal.pool.forms import (
    CategoriesForm,
    ConfirmForm,
    DecisionForm,
    EvidenceForm,
    MembershipActionForm,
)
from portal.routing import commit_unless_refused, show_refusal
from portal.services import pool as service
from portal.storage import StorageError

# --- helpers -----------------------------------------------------------------------------


def _saved(form, change: Callable[[], object]) -> bool:
    """Run the service change and commit it: True. A refusal is rolled back and shown on
    the form: False."""
    return commit_unless_refused(
        change,
        refusal=service.PoolError,
        on_refusal=lambda error: show_refusal(form, error),
    )


def _carried_out(change: Callable[[], object]) -> bool:
    """Run the service change and commit it: True. A refusal is rolled back and flashed:
    False (a button has no form to show it on)."""
    return commit_unless_refused(
        change,
        refusal=service.PoolError,
        on_refusal=lambda error: flash(error.message, "info"),
    )


def _page_arg() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < len(value) < 7 else 1


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _own_application(application_id: int) -> PoolApplication:
    """The signed-in supplier's own application, or 404 (another organisation's looks
    exactly like one that does not exist)."""
    application = db.session.get(PoolApplication, application_id)
    if application is None or not application.organisation.has_member(current_user):
        abort(404)
    return application


def _editable(application_id: int) -> PoolApplication | Response:
    application = _own_application(application_id)
    if not application.can_edit(current_user):
        flash("This application can no longer be changed.", "info")
        return redirect(url_for("pool.application", application_id=application.id))
    return application


def organisation_details_url(application: PoolApplication | None = None) -> str | None:
    """The profiles work package's organisation details page (its edit form for owners,
    coming back to the task list), if that package is installed."""
    views = current_app.view_functions
    if current_user.is_org_owner and "profiles.edit_details" in views:
        back = url_for("pool.application", application_id=application.id) if application else None
        return url_for("profiles.edit_details", next=back) if back else url_for(
            "profiles.edit_details"
        )
    if "profiles.details" in views:
        return url_for("profiles.details")
    return None


ANSWER_LABELS = {
    "kinds": ORGANISATION_KIND_LABELS,
    "company_number_kinds": KIND_MAY_GIVE_COMPANY_NUMBER,
    "charity_number_kinds": KIND_MAY_GIVE_CHARITY_NUMBER,
    "backgrounds": PROFESSIONAL_BACKGROUND_LABELS,
}


def _reviewers(organisation_id: int):
    """The organisation's reviewer profiles as an application shows them: name,
    background and experience, in one query. Only these columns are read, so neither the
    profile's own lists nor its special-category data (kept apart) are loaded."""
    return db.session.execute(
        select(
            ReviewerProfile.id,
            ReviewerProfile.name,
            ReviewerProfile.professional_background,
            ReviewerProfile.years_experience,
        )
        .where(ReviewerProfile.organisation_id == organisation_id)
        .where(ReviewerProfile.removed_at.is_(None))
        .order_by(func.lower(ReviewerProfile.name), ReviewerProfile.id)
    ).all()


def _categories() -> list[ServiceCategory]:
    return list(db.session.scalars(select(ServiceCategory).order_by(ServiceCategory.number)))


# --- supplier: applying ------------------------------------------------------------------


@bp.get("/pool/apply")
@supplier_required
def apply():
    organisation = current_user.organisation
    current = service.open_application(organisation.id)
    history = list(
        db.session.scalars(
            select(PoolApplication)
            .where(PoolApplication.organisation_id == organisation.id)
            .where(PoolApplication.status.not_in(service.OPEN_STATUSES)
                   | (PoolApplication.kind == ApplicationKind.RENEWAL))
            .order_by(PoolApplication.id.desc())
            .limit(50)
        )
    )
    return render_template(
        "pool/apply.html",
        organisation=organisation,
        current=current,
        history=history,
        memberships=service.current_memberships(organisation.id),
        form=None,
        confirm_form=ConfirmForm(),
    )


@bp.post("/pool/apply")
@supplier_required
def start():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        application = service.start_application(current_user, current_user.organisation)
    except service.PoolError as error:
        db.session.rollback()
        flash(error.message, "info")
        return redirect(url_for("pool.apply"))
    db.session.commit()
    return redirect(url_for("pool.application", application_id=application.id))


@bp.get("/pool/apply/<int:application_id>")
@supplier_required
def application(application_id: int):
    application = _own_application(application_id)
    if application.is_editable:
        return render_template(
            "pool/task_list.html",
            application=application,
            tasks=service.task_list(application),
            organisation_url=organisation_details_url(application),
        )
    return render_template(
        "pool/application_summary.html",
        application=application,
        questions=_answer_rows(application),
        sections=SECTIONS,
        can_withdraw=application.can_withdraw(current_user),
    )


@bp.route("/pool/apply/<int:application_id>/categories", methods=["GET", "POST"])
@supplier_required
def categories(application_id: int):
    application = _editable(application_id)
    if isinstance(application, Response):
        return application
    offered = service.offered_categories(application)
    form = CategoriesForm()
    # Validate against every category so the service can say why one is refused
    # (closed, already held); show only the ones on offer.
    form.categories.choices = [SelectChoice(c.id, c.name) for c in _categories()]
    if request.method == "GET":
        form.categories.data = [c.category_id for c in application.categories]
    if form.validate_on_submit() and _saved(
        form, lambda: service.set_categories(current_user, application, form.categories.data)
    ):
        return redirect(url_for("pool.application", application_id=application.id))
    decided = {c.category_id for c in application.categories if c.is_final}
    form.categories.choices = [SelectChoice(c.id, f"{c.number}. {c.name}") for c in offered]
    return render_template(
        "pool/categories.html",
        application=application,
        form=form,
        offered=offered,
        decided=decided,
    ), 200 if not form.errors else 400


def declaration_answers(questions) -> dict[str, service.AnswerInput]:
    """Read the declaration answers from the posted form (the questions are data)."""
    answers = {}
    for question in questions:
        name = f"q_{question.key}"
        if question.answer_type == AnswerType.DATE:
            parts = [request.form.get(f"{name}-{p}", "").strip() for p in ("day", "month", "year")]
            if all(parts):
                day, month, year = parts
                if day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4:
                    value = f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
                else:
                    value = "invalid"
            else:
                value = ""
        else:
            value = request.form.get(name, "")[:100]
        answers[question.key] = service.AnswerInput(value, request.form.get(f"{name}_details"))
    return answers


def _declaration_values(application, questions, posted=None):
    """What to show in each field: what was posted, else what is saved."""
    values = {}
    saved = {a.question_id: a for a in application.answers} if application else {}
    for question in questions:
        name = f"q_{question.key}"
        if posted is not None:
            value = {"value": request.form.get(name, ""),
                     "details": request.form.get(f"{name}_details", "")}
            if question.answer_type == AnswerType.DATE:
                value.update({p: request.form.get(f"{name}-{p}", "")
                              for p in ("day", "month", "year")})
        else:
            answer = saved.get(question.id)
            value = {"value": answer.value if answer else "",
                     "details": (answer.details or "") if answer else ""}
            if question.answer_type == AnswerType.DATE:
                day = month = year = ""
                if answer:
                    year, month, day = answer.value.split("-")
                    day, month = str(int(day)), str(int(month))
                value.update({"day": day, "month": month, "year": year})
        values[question.key] = value
    return values


def _grouped(questions):
    """[(section title, [(number, question)])]: numbered in the order given, which is
    the order the service numbers them in its error messages."""
    numbered = list(enumerate(questions, start=1))
    groups = []
    for key, title in SECTIONS.items():
        items = [(number, q) for number, q in numbered if q.section == key]
        if items:
            groups.append((title, items))
    return groups


def _per_question(error: service.PoolError) -> list[service.PoolError]:
    """A refusal of the declarations as the errors to show: one per question that needs
    another answer (DeclarationErrors), or the refusal itself."""
    return error.errors if isinstance(error, service.DeclarationErrors) else [error]


def _declarations_page(questions, errors, *, saved: PoolApplication | None, **page):
    """The declarations form, for an application or a renewal: each question with what
    was posted, else its answer in `saved`, and its error; 400 while there are errors."""
    return render_template(
        "pool/declarations.html",
        groups=_grouped(questions),
        values=_declaration_values(saved, questions, posted=errors or None),
        errors={e.field: e.message for e in errors},
        error_list=errors,
        **page,
    ), 400 if errors else 200


@bp.route("/pool/apply/<int:application_id>/declarations", methods=["GET", "POST"])
@supplier_required
def declarations(application_id: int):
    application = _editable(application_id)
    if isinstance(application, Response):
        return application
    questions = service.active_questions()
    errors = []
    if request.method == "POST":
        try:
            service.save_declarations(current_user, application, declaration_answers(questions))
        except service.PoolError as error:
            db.session.rollback()
            errors = _per_question(error)
        else:
            db.session.commit()
            return redirect(url_for("pool.application", application_id=application.id))
    return _declarations_page(
        questions,
        errors,
        saved=application,
        application=application,
        action=url_for("pool.declarations", application_id=application.id),
        heading="Declarations",
        button="Save and continue",
    )


@bp.route("/pool/apply/<int:application_id>/evidence", methods=["GET", "POST"])
@supplier_required
def evidence(application_id: int):
    application = _editable(application_id)
    if isinstance(application, Response):
        return application
    open_entries = [c for c in application.categories if not c.is_final]
    if not open_entries:
        flash("Choose your service categories first.", "info")
        return redirect(url_for("pool.application", application_id=application.id))
    form = EvidenceForm()
    form.category.choices = [
        SelectChoice(c.category_id, c.category.name) for c in open_entries
    ]
    status = 200
    if form.validate_on_submit():
        from portal.services.documents import store_upload
        from portal.uploads import UploadRejected

        try:
            document = store_upload(current_user, form.file.data, area=service.DOCUMENT_AREA)
        except UploadRejected as exc:
            form.file.errors = [*form.file.errors, exc.message]
            db.session.commit()  # keeps a document.infected audit event, nothing else
            status = exc.status
        except StorageError:
            db.session.rollback()
            form.file.errors = [*form.file.errors,
                                "The file could not be saved. Try again later"]
            status = 503
        else:
            if _saved(form, lambda: service.add_evidence(
                current_user,
                application,
                category_id=form.category.data,
                kind=form.kind.data,
                description=form.description.data,
                document=document,
            )):
                flash(f"{document.original_name} uploaded.", "success")
                return redirect(url_for("pool.evidence", application_id=application.id))
            status = 400
    elif form.errors:
        status = 400
    return render_template(
        "pool/evidence.html",
        application=application,
        form=form,
        entries=open_entries,
        missing=service.evidence_missing(application),
        remove_form=ConfirmForm(),
    ), status


@bp.post("/pool/apply/<int:application_id>/evidence/<int:evidence_id>/remove")
@supplier_required
def remove_evidence(application_id: int, evidence_id: int):
    application = _own_application(application_id)
    if not any(e.id == evidence_id for e in application.evidence):
        abort(404)
    if _carried_out(lambda: service.remove_evidence(current_user, application, evidence_id)):
        flash("Document removed.", "success")
    return redirect(url_for("pool.evidence", application_id=application.id))


def _answer_rows(application):
    by_question = {a.question_id: a for a in application.answers}
    rows = []
    for key, title in SECTIONS.items():
        answers = sorted(
            (a for a in by_question.values() if a.question.section == key),
            key=lambda a: (a.question.position, a.question.id),
        )
        if answers:
            rows.append((title, answers))
    return rows


@bp.get("/pool/apply/<int:application_id>/check")
@supplier_required
def check(application_id: int):
    application = _editable(application_id)
    if isinstance(application, Response):
        return application
    organisation = application.organisation
    back_here = url_for("pool.check", application_id=application.id)
    change = {
        # Only an owner edits the organisation details; any member edits reviewers.
        "details": url_for("profiles.edit_details", next=back_here)
        if organisation.can_edit_details(current_user) else None,
        "reviewer": lambda profile_id: url_for("profiles.edit_reviewer", profile_id=profile_id,
                                               next=back_here),
        "reviewers": url_for("profiles.reviewers"),
    }
    return render_template(
        "pool/check.html",
        application=application,
        organisation=organisation,
        reviewers=_reviewers(organisation.id),
        labels=ANSWER_LABELS,
        change=change,
        questions=_answer_rows(application),
        problems=service.submission_problems(application),
        can_submit=application.can_submit(current_user),
        form=ConfirmForm(),
    )


@bp.post("/pool/apply/<int:application_id>/submit")
@supplier_required
def submit(application_id: int):
    application = _own_application(application_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if not _carried_out(lambda: service.submit_application(current_user, application)):
        target = "pool.check" if application.is_editable else "pool.application"
        return redirect(url_for(target, application_id=application.id))
    return redirect(url_for("pool.submitted", application_id=application.id))


@bp.get("/pool/apply/<int:application_id>/submitted")
@supplier_required
def submitted(application_id: int):
    application = _own_application(application_id)
    if application.submitted_at is None:
        abort(404)
    return render_template("pool/submitted.html", application=application)


@bp.route("/pool/apply/<int:application_id>/withdraw", methods=["GET", "POST"])
@supplier_required
def withdraw(application_id: int):
    application = _own_application(application_id)
    form = ConfirmForm()
    if not application.can_withdraw(current_user):
        flash("You cannot withdraw this application.", "info")
        return redirect(url_for("pool.application", application_id=application.id))
    if form.validate_on_submit():
        if _carried_out(lambda: service.withdraw_application(current_user, application)):
            flash(f"Application {application.reference} withdrawn.", "success")
        return redirect(url_for("pool.apply"))
    return render_template("pool/withdraw.html", application=application, form=form)


# --- supplier: membership ----------------------------------------------------------------


@bp.get("/pool/memberships")
@supplier_required
def memberships():
    organisation = current_user.organisation
    rows = list(
        db.session.scalars(
            select(PoolMembership)
            .where(PoolMembership.organisation_id == organisation.id)
            .order_by(PoolMembership.status != MembershipStatus.ACTIVE,
                      PoolMembership.expires_at)
        )
    )
    now = utcnow()
    return render_template(
        "pool/memberships.html",
        organisation=organisation,
        memberships=rows,
        now=now,
        is_owner=organisation.can_manage_team(current_user),
        pending={m.id: service.open_renewal(m) for m in rows if m.is_current},
    )


def _own_membership(membership_id: int) -> PoolMembership:
    membership = db.session.get(PoolMembership, membership_id)
    if membership is None or not membership.organisation.has_member(current_user):
        abort(404)
    return membership


@bp.route("/pool/memberships/<int:membership_id>/renew", methods=["GET", "POST"])
@supplier_required
def renew(membership_id: int):
    membership = _own_membership(membership_id)
    now = utcnow()
    if not (membership.can_renew(current_user) and membership.can_renew_now(now)):
        flash("This membership cannot be renewed now.", "info")
        return redirect(url_for("pool.memberships"))
    if service.open_renewal(membership) is not None:
        flash("A renewal of this membership is already waiting for a decision.", "info")
        return redirect(url_for("pool.memberships"))
    questions = service.active_questions()
    errors = []
    if request.method == "POST":
        try:
            renewal = service.renew_membership(
                current_user, membership, declaration_answers(questions)
            )
        except service.PoolError as error:
            db.session.rollback()
            errors = _per_question(error)
        else:
            db.session.commit()
            if renewal.status == ApplicationStatus.ADMITTED:
                flash(
                    f"Membership renewed. It now ends on "
                    f"{membership.expires_at.strftime('%-d %B %Y')}.",
                    "success",
                )
            else:
                flash(
                    "Some of your answers need the panel's review. We will e-mail you "
                    "when a commissioner has decided.",
                    "info",
                )
            return redirect(url_for("pool.memberships"))
    latest = db.session.scalars(
        select(PoolApplication)
        .where(PoolApplication.organisation_id == membership.organisation_id)
        .where(PoolApplication.declarations_saved_at.is_not(None))
        .order_by(PoolApplication.id.desc())
    ).first()
    return _declarations_page(
        questions,
        errors,
        saved=latest,
        application=None,
        membership=membership,
        action=url_for("pool.renew", membership_id=membership.id),
        heading=f"Renew your membership: {membership.category.name}",
        button="Confirm and renew",
    )


# --- commissioners: deciding -------------------------------------------------------------


@bp.get("/commissioning/applications")
@staff_required("commissioner")
def queue():
    status = request.args.get("status", "submitted")
    if status not in service.QUEUE_STATUSES:
        status = "submitted"
    age = request.args.get("age", "")
    if age not in service.AGE_FILTERS:
        age = ""
    category_id = _int_arg("category")
    now = utcnow()
    page = service.application_queue(
        status=status, category_id=category_id, age=age, page=_page_arg(), now=now
    )
    return render_template(
        "pool/queue.html",
        page=page,
        now=now,
        status=status,
        age=age,
        category_id=category_id,
        categories=_categories(),
        statuses=service.QUEUE_STATUSES,
        ages=service.AGE_FILTERS,
    )


def _decidable(application_id: int) -> PoolApplication:
    application = db.session.get(PoolApplication, application_id)
    if (
        application is None
        or application.first_submitted_at is None
        or not application.can_decide(current_user)
    ):
        abort(404)
    return application


@bp.get("/commissioning/applications/<int:application_id>")
@staff_required("commissioner")
def review(application_id: int):
    application = _decidable(application_id)
    return render_template(
        "pool/review.html",
        application=application,
        organisation=application.organisation,
        reviewers=_reviewers(application.organisation_id),
        labels=ANSWER_LABELS,
        questions=_answer_rows(application),
        now=utcnow(),
        download_url=lambda item: url_for("documents.download", document_id=item.document_id),
    )


@bp.route(
    "/commissioning/applications/<int:application_id>/categories/<int:entry_id>",
    methods=["GET", "POST"],
)
@staff_required("commissioner")
def decide(application_id: int, entry_id: int):
    application = _decidable(application_id)
    entry = next((c for c in application.categories if c.id == entry_id), None)
    if entry is None:
        abort(404)
    form = DecisionForm()
    status = 200
    if form.validate_on_submit():
        if _saved(form, lambda: service.decide_category(
            current_user, application, entry, form.decision.data, form.reason.data
        )):
            flash(f"Decision recorded for {entry.category.name}.", "success")
            return redirect(url_for("pool.review", application_id=application.id))
        status = 400
    elif form.errors:
        status = 400
    return render_template(
        "pool/decide.html", application=application, entry=entry, form=form
    ), status


# --- commissioners: members --------------------------------------------------------------

MEMBER_STATUSES = {
    "active": "Active",
    "suspended": "Suspended",
    "removed": "Removed",
    "expired": "Expired",
    "all": "All",
}


@bp.get("/commissioning/members")
@staff_required("commissioner")
def members():
    status = request.args.get("status", "active")
    if status not in MEMBER_STATUSES:
        status = "active"
    search = request.args.get("q", "").strip()[: service.SEARCH_MAX]
    category_id = _int_arg("category")
    page = service.membership_list(
        status=status, category_id=category_id, search=search, page=_page_arg()
    )
    return render_template(
        "pool/members.html",
        page=page,
        status=status,
        statuses=MEMBER_STATUSES,
        search=search,
        category_id=category_id,
        categories=_categories(),
    )


def _managed_membership(membership_id: int) -> PoolMembership:
    membership = db.session.get(PoolMembership, membership_id)
    if membership is None or not membership.can_manage(current_user):
        abort(404)
    return membership


@bp.get("/commissioning/members/<int:membership_id>")
@staff_required("commissioner")
def member(membership_id: int):
    membership = _managed_membership(membership_id)
    return render_template("pool/member.html", membership=membership)


ACTION_TITLES = {
    "suspend": "Suspend membership",
    "reinstate": "Reinstate membership",
    "remove": "Remove from the pool",
}


@bp.route(
    "/commissioning/members/<int:membership_id>/<any(suspend, reinstate, remove):action>",
    methods=["GET", "POST"],
)
@staff_required("commissioner")
def member_action(membership_id: int, action: str):
    membership = _managed_membership(membership_id)
    allowed_from = service.MEMBERSHIP_ACTIONS[action][0]
    if membership.status not in allowed_from:
        flash(f"A {membership.status} membership cannot be changed that way.", "info")
        return redirect(url_for("pool.member", membership_id=membership.id))
    form = MembershipActionForm()
    status = 200
    if form.validate_on_submit():
        if _saved(form, lambda: service.change_membership(
            current_user, membership, action, form.reason.data
        )):
            flash(f"Membership {service.MEMBERSHIP_ACTIONS[action][2]}.", "success")
            return redirect(url_for("pool.member", membership_id=membership.id))
        status = 400
    elif form.errors:
        status = 400
    return render_template(
        "pool/member_action.html",
        membership=membership,
        form=form,
        action=action,
        title=ACTION_TITLES[action],
    ), status


# --- public ------------------------------------------------------------------------------


def _public_filters():
    search = request.args.get("q", "").strip()[: service.SEARCH_MAX]
    category_id = _int_arg("category")
    return search, category_id


@bp.get("/pool")
def public_list():
    search, category_id = _public_filters()
    page = service.public_pool(search=search, category_id=category_id, page=_page_arg())
    return render_template(
        "pool/public.html",
        page=page,
        search=search,
        category_id=category_id,
        categories=_categories(),
    )


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # A cell starting with these is a formula to a spreadsheet.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


@bp.get("/pool.csv")
def public_csv():
    search, category_id = _public_filters()

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["organisation", "trading_name", "category_number", "category",
                         "member_since", "membership_expires", "reviewers"])
        yield buffer.getvalue()
        for organisation, membership, reviewers in service.public_pool_rows(
            search=search, category_id=category_id
        ):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([_csv_cell(v) for v in (
                organisation.legal_name,
                organisation.trading_name,
                membership.category.number,
                membership.category.name,
                membership.started_at.date().isoformat(),
                membership.expires_at.date().isoformat(),
                "; ".join(reviewers),
            )])
            yield buffer.getvalue()

    body = "".join(generate())
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="reviewer-pool.csv"',
            "Cache-Control": "public, max-age=300",
        },
    )
