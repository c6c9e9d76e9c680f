"""Administration of local safeguarding partnerships and of partnership accounts."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea, GovTextInput
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from portal.access import staff_required
from portal.admin import bp
from portal.admin.users import ConfirmForm, refused
from portal.extensions import db
from portal.services import admin_users as service


class PartnershipForm(FlaskForm):
    name = StringField(
        "Name", widget=GovTextInput(),
        validators=[InputRequired("Enter the partnership's name"),
                    Length(max=service.MAX_NAME_LENGTH)],
    )
    areas = TextAreaField(
        "Local authority areas", widget=GovTextArea(),
        description="One area on each line, for example Reading.",
        validators=[InputRequired("Enter at least one local authority area"),
                    Length(max=service.MAX_AREAS_LENGTH)],
    )
    submit = SubmitField("Save partnership", widget=GovSubmitInput())


class RefuseForm(FlaskForm):
    reason = TextAreaField(
        "Why are you refusing this account?", widget=GovTextArea(),
        description="We will email this reason to the person.",
        validators=[InputRequired("Enter the reason for refusing the account"),
                    Length(max=service.MAX_REASON_LENGTH)],
    )
    submit = SubmitField("Refuse account", widget=GovSubmitInput())


def _partnership_or_404(partnership_id: int):
    try:
        return service.get_partnership(partnership_id)
    except service.NotFound:
        abort(404)


def _partnership_member_or_404(user_id: int):
    try:
        person = service.get_user(user_id)
    except service.NotFound:
        abort(404)
    if person.partnership_id is None:
        abort(404)
    return person


@bp.get("/partnerships")
@staff_required("admin")
def partnerships():
    return render_template(
        "admin/partnerships.html",
        rows=service.list_partnerships(),
        pending=service.pending_partnership_members(),
        confirm_form=ConfirmForm(),
    )


@bp.route("/partnerships/new", methods=["GET", "POST"])
@staff_required("admin")
def new_partnership():
    form = PartnershipForm()
    if form.validate_on_submit():
        try:
            partnership = service.create_partnership(current_user, form.name.data,
                                                     form.areas.data)
        except service.AdminError as error:
            db.session.rollback()
            refused(form, error)
        else:
            db.session.commit()
            flash(f"{partnership.name} added", "success")
            return redirect(url_for("admin.partnerships"))
    return render_template("admin/partnerships_form.html", form=form, partnership=None)


@bp.route("/partnerships/<int:partnership_id>/edit", methods=["GET", "POST"])
@staff_required("admin")
def edit_partnership(partnership_id: int):
    partnership = _partnership_or_404(partnership_id)
    if request.method == "GET":
        form = PartnershipForm(name=partnership.name, areas="\n".join(partnership.areas))
    else:
        form = PartnershipForm()
    if form.validate_on_submit():
        try:
            service.update_partnership(current_user, partnership_id, form.name.data,
                                       form.areas.data)
        except service.AdminError as error:
            db.session.rollback()
            refused(form, error)
        else:
            db.session.commit()
            flash(f"{partnership.name} saved", "success")
            return redirect(url_for("admin.partnerships"))
    return render_template("admin/partnerships_form.html", form=form, partnership=partnership)


def _set_active(partnership_id: int, active: bool):
    partnership = _partnership_or_404(partnership_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    service.set_partnership_active(current_user, partnership_id, active)
    db.session.commit()
    flash(f"{partnership.name} {'reactivated' if active else 'deactivated'}", "success")
    return redirect(url_for("admin.partnerships"))


@bp.post("/partnerships/<int:partnership_id>/deactivate")
@staff_required("admin")
def deactivate_partnership(partnership_id: int):
    return _set_active(partnership_id, False)


@bp.post("/partnerships/<int:partnership_id>/reactivate")
@staff_required("admin")
def reactivate_partnership(partnership_id: int):
    return _set_active(partnership_id, True)


@bp.post("/partnerships/accounts/<int:user_id>/approve")
@staff_required("admin")
def approve_partnership_member(user_id: int):
    person = _partnership_member_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.approve_partnership_member(current_user, user_id)
    except service.AdminError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("admin.partnerships"))
    db.session.commit()
    flash(f"{person.name}'s account is approved", "success")
    return redirect(url_for("admin.partnerships"))


@bp.route("/partnerships/accounts/<int:user_id>/refuse", methods=["GET", "POST"])
@staff_required("admin")
def refuse_partnership_member(user_id: int):
    person = _partnership_member_or_404(user_id)
    form = RefuseForm()
    if form.validate_on_submit():
        try:
            service.refuse_partnership_member(current_user, user_id, form.reason.data)
        except service.AdminError as error:
            db.session.rollback()
            refused(form, error)
        else:
            db.session.commit()
            flash(f"{person.name}'s account is refused and they have been told why", "success")
            return redirect(url_for("admin.partnerships"))
    return render_template("admin/partnerships_refuse.html", form=form, person=person)
