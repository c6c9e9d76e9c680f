"""Administration of accounts: find people, invite panel staff, change roles, deactivate
and reactivate. Also the public page where an invited member of staff sets a password."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovPasswordInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from sqlalchemy import select
from wtforms import (
    Form,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import EqualTo, InputRequired, Length

from portal.access import staff_required
from portal.admin import bp
from portal.extensions import db, limiter
from portal.models import AuditEvent
from portal.services import admin_users as service

ROLE_CHOICES = [
    SelectChoice("admin", "Admin: accounts, roles, partnerships and the audit trail"),
    SelectChoice("commissioner", "Commissioner: runs the pool and publishes commissions"),
    SelectChoice("evaluator", "Evaluator: scores bids on commissions they are assigned to"),
]


def _choices(blank: str, options: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice("", blank), *(SelectChoice(k, v) for k, v in options.items())]


class SearchForm(Form):
    """A GET form: no CSRF token, nothing changes."""

    q = StringField("Name or email address", widget=GovTextInput(),
                    validators=[Length(max=service.MAX_QUERY_LENGTH)])
    role = SelectField("Role", widget=GovSelect(),
                       choices=_choices("Any role", service.ROLE_FILTERS))
    status = SelectField("Status", widget=GovSelect(),
                         choices=_choices("Any status", service.STATUS_FILTERS))
    submit = SubmitField("Search", widget=GovSubmitInput())


class InviteStaffForm(FlaskForm):
    name = StringField("Full name", widget=GovTextInput(),
                       validators=[InputRequired("Enter the person's full name"),
                                   Length(max=service.MAX_NAME_LENGTH)])
    email = StringField("Email address", widget=GovTextInput(),
                        validators=[InputRequired("Enter an email address"), Length(max=320)])
    roles = SelectMultipleField("Roles", widget=GovCheckboxesInput(), choices=ROLE_CHOICES,
                                validate_choice=False)
    submit = SubmitField("Send invitation", widget=GovSubmitInput())


class RolesForm(FlaskForm):
    roles = SelectMultipleField("Roles", widget=GovCheckboxesInput(), choices=ROLE_CHOICES,
                                validate_choice=False)
    submit = SubmitField("Save roles", widget=GovSubmitInput())


class ConfirmForm(FlaskForm):
    submit = SubmitField("Confirm", widget=GovSubmitInput())


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "Create a password", widget=GovPasswordInput(),
        validators=[InputRequired("Enter a password")],
        description="At least 10 characters. A few unrelated words make a strong password.",
    )
    confirm_password = PasswordField(
        "Confirm your password", widget=GovPasswordInput(),
        validators=[InputRequired("Confirm your password"),
                    EqualTo("password", "The passwords do not match")],
    )
    submit = SubmitField("Set password", widget=GovSubmitInput())


def refused(form, error) -> None:
    """Show a service refusal next to its field, or on the button when it has none."""
    field = getattr(form, error.field, None) if error.field else None
    if field is None:
        field = form.submit
    field.errors = [*field.errors, error.message]


def _user_or_404(user_id: int):
    try:
        return service.get_user(user_id)
    except service.NotFound:
        abort(404)


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), service.MAX_PAGE))
    except ValueError:
        return 1


@bp.get("/users")
@staff_required("admin")
def users():
    form = SearchForm(request.args)
    form.validate()
    result = service.search_users(
        query=(form.q.data or "") if not form.q.errors else "",
        role=form.role.data if not form.role.errors else "",
        status=form.status.data if not form.status.errors else "",
        page=_page_number(),
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    pagination = {}
    if result.page > 1:
        pagination["previous"] = {"href": url_for("admin.users", page=result.page - 1, **args)}
    if result.page < result.pages:
        pagination["next"] = {"href": url_for("admin.users", page=result.page + 1, **args)}
    return render_template(
        "admin/users.html",
        search=form,
        result=result,
        pagination=pagination,
        status_of=service.account_status,
    )


@bp.get("/users/<int:user_id>")
@staff_required("admin")
def user(user_id: int):
    person = _user_or_404(user_id)
    events = list(
        db.session.execute(
            select(AuditEvent)
            .where(AuditEvent.object_type == "users", AuditEvent.object_id == str(person.id))
            .order_by(AuditEvent.sequence.desc())
            .limit(20)
        ).scalars()
    )
    return render_template(
        "admin/users_detail.html",
        person=person,
        status=service.account_status(person),
        events=events,
        confirm_form=ConfirmForm(),
    )


@bp.route("/users/invite", methods=["GET", "POST"])
@staff_required("admin")
def invite_staff():
    form = InviteStaffForm()
    if form.validate_on_submit():
        try:
            person = service.invite_staff(
                current_user, form.email.data, form.name.data, form.roles.data
            )
        except service.AdminError as error:
            db.session.rollback()
            refused(form, error)
        else:
            db.session.commit()
            flash(f"Invitation sent to {person.email}", "success")
            return redirect(url_for("admin.user", user_id=person.id))
    return render_template("admin/users_invite.html", form=form)


@bp.route("/users/<int:user_id>/roles", methods=["GET", "POST"])
@staff_required("admin")
def user_roles(user_id: int):
    person = _user_or_404(user_id)
    form = RolesForm(roles=sorted(person.roles)) if request.method == "GET" else RolesForm()
    if form.validate_on_submit():
        try:
            service.change_roles(current_user, user_id, form.roles.data)
        except service.NotFound:
            abort(404)
        except service.AdminError as error:
            db.session.rollback()
            refused(form, error)
        else:
            db.session.commit()
            flash(f"Roles of {person.name} saved", "success")
            return redirect(url_for("admin.user", user_id=user_id))
    return render_template("admin/users_roles.html", form=form, person=person)


@bp.post("/users/<int:user_id>/resend-invitation")
@staff_required("admin")
def resend_invitation(user_id: int):
    _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        person = service.resend_staff_invitation(current_user, user_id)
    except service.AdminError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("admin.user", user_id=user_id))
    db.session.commit()
    flash(f"A new invitation has been sent to {person.email}", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@staff_required("admin")
def deactivate_user(user_id: int):
    person = _user_or_404(user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            service.deactivate(current_user, user_id)
        except service.AdminError as error:
            db.session.rollback()
            refused(form, error)
        else:
            db.session.commit()
            flash(f"{person.name}'s account is deactivated and their sessions have ended",
                  "success")
            return redirect(url_for("admin.user", user_id=user_id))
    return render_template("admin/users_deactivate.html", form=form, person=person)


@bp.route("/users/<int:user_id>/reset-second-factor", methods=["GET", "POST"])
@staff_required("admin")
def reset_second_factor(user_id: int):
    person = _user_or_404(user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            service.reset_second_factor(current_user, user_id)
        except service.AdminError as error:
            db.session.rollback()
            refused(form, error)
        else:
            db.session.commit()
            flash(f"{person.name}'s authenticator app has been reset", "success")
            return redirect(url_for("admin.user", user_id=user_id))
    return render_template("admin/users_reset_second_factor.html", form=form, person=person)


@bp.post("/users/<int:user_id>/reactivate")
@staff_required("admin")
def reactivate_user(user_id: int):
    person = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    service.reactivate(current_user, user_id)
    db.session.commit()
    flash(f"{person.name}'s account is active again", "success")
    return redirect(url_for("admin.user", user_id=user_id))


# The invited member of staff sets a password (public: the signed link is the key). ----

staff_invite_bp = Blueprint("staff_invite", __name__, url_prefix="/staff-invitation")


@staff_invite_bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def accept(token: str):
    try:
        person = service.staff_invitation_user(token)
    except service.StaffInvitationInvalid as problem:
        return render_template(
            "admin/users_invitation_invalid.html", expired=problem.expired
        ), 410 if problem.expired else 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            service.accept_staff_invitation(token, form.password.data)
        except service.StaffInvitationInvalid:
            db.session.rollback()
            return render_template("admin/users_invitation_invalid.html", expired=False), 404
        except service.AdminError as error:
            db.session.rollback()
            refused(form, error)
        else:
            db.session.commit()
            flash("Your password is set. Sign in, then set up your authenticator app", "success")
            return redirect(url_for("auth.sign_in"))
    return render_template("admin/users_set_password.html", form=form, person=person)
