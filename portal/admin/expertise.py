"""Admin: the managed list of expertise tags, and the diversity report (aggregates only)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.access import staff_required
from portal.admin import bp
from portal.admin.routes import SECTIONS
from portal.extensions import db
from portal.profiles.forms import ConfirmForm, TagForm
from portal.routing import show_refusal
from portal.services import profiles as service

for _section in (
    ("admin.expertise_tags", "Areas of expertise",
     "The list reviewers choose their expertise from."),
    ("admin.diversity_report", "Reviewer diversity", "Anonymous totals of voluntary diversity "
     "information."),
):
    if _section not in SECTIONS:
        SECTIONS.append(_section)


@bp.get("/expertise")
@staff_required("admin")
def expertise_tags():
    return render_template(
        "admin/expertise.html",
        tags=service.all_tags(),
        usage=service.tag_usage(),
        confirm_form=ConfirmForm(),
    )


@bp.route("/expertise/new", methods=["GET", "POST"])
@staff_required("admin")
def new_expertise_tag():
    form = TagForm()
    if form.validate_on_submit():
        try:
            tag = service.create_tag(current_user, form.name.data)
        except service.ProfileError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(f"Added {tag.name}", "success")
            return redirect(url_for("admin.expertise_tags"))
    return render_template("admin/expertise_form.html", form=form, tag=None)


@bp.route("/expertise/<int:tag_id>/edit", methods=["GET", "POST"])
@staff_required("admin")
def rename_expertise_tag(tag_id: int):
    try:
        tag = service.tag_by_id(tag_id)
    except service.NotFound:
        abort(404)
    form = TagForm(obj=tag)
    if form.validate_on_submit():
        try:
            service.rename_tag(current_user, tag_id, form.name.data)
        except service.ProfileError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash("Area of expertise renamed", "success")
            return redirect(url_for("admin.expertise_tags"))
    return render_template("admin/expertise_form.html", form=form, tag=tag)


@bp.post("/expertise/<int:tag_id>/retire")
@staff_required("admin")
def retire_expertise_tag(tag_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        tag = service.retire_tag(current_user, tag_id)
    except service.NotFound:
        abort(404)
    db.session.commit()
    flash(f"{tag.name} is no longer offered", "success")
    return redirect(url_for("admin.expertise_tags"))


@bp.post("/expertise/<int:tag_id>/restore")
@staff_required("admin")
def restore_expertise_tag(tag_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        tag = service.restore_tag(current_user, tag_id)
    except service.NotFound:
        abort(404)
    db.session.commit()
    flash(f"{tag.name} is offered again", "success")
    return redirect(url_for("admin.expertise_tags"))


@bp.get("/reports/diversity")
@staff_required("admin")
def diversity_report():
    return render_template("admin/expertise_diversity_report.html",
                           report=service.diversity_report(current_user))
