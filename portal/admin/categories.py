"""Admin: service categories. Edit the wording, open or close a category to new
applications, and set its membership period."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from portal.access import staff_required
from portal.admin import bp
from portal.extensions import db
from portal.models.categories import ServiceCategory
from portal.pool.forms import CategoryEditForm
from portal.services.pool import update_category


@bp.get("/categories")
@staff_required("admin")
def categories():
    rows = db.session.scalars(select(ServiceCategory).order_by(ServiceCategory.number))
    return render_template("admin/categories.html", categories=list(rows))


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@staff_required("admin")
def category_edit(category_id: int):
    category = db.session.get(ServiceCategory, category_id)
    if category is None:
        abort(404)
    form = CategoryEditForm(
        data={
            "name": category.name,
            "description": category.description,
            "membership_criteria": category.membership_criteria,
            "is_open": "yes" if category.is_open else "no",
            "membership_months": str(category.membership_months),
        }
    )
    if form.validate_on_submit():
        changed = update_category(
            current_user,
            category,
            name=form.name.data.strip(),
            description=form.description.data.strip(),
            membership_criteria=form.membership_criteria.data.strip(),
            is_open=form.is_open.data == "yes",
            membership_months=int(form.membership_months.data),
        )
        db.session.commit()
        flash(
            f"{category.name} saved." if changed else "Nothing changed.",
            "success" if changed else "info",
        )
        return redirect(url_for("admin.categories"))
    return render_template(
        "admin/category_edit.html", category=category, form=form
    ), 400 if form.errors else 200
