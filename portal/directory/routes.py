"""Directory pages. Thin: parse, call one service function, commit once.

Search and profiles: approved partnership members, commissioners and admins (staff with
their second factor). Shortlists: partnership members, their own only. Enquiries: the
two parties only; anything else is a 404.
"""

from __future__ import annotations

from functools import wraps

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from portal.access import second_factor_passed
from portal.directory import bp
from portal.directory.forms import (
    AddToShortlistForm,
    ConfirmForm,
    EnquiryForm,
    ReplyForm,
    ShortlistForm,
)
from portal.extensions import db, login_manager
from portal.models.directory import can_search_directory, directory_staff
from portal.models.profiles import (
    COMPETENCE_AREA_LABELS,
    PROFESSIONAL_BACKGROUND_LABELS,
    REGIONS,
    REVIEW_TYPE_LABELS,
)
from portal.search.query import PER_PAGE_CHOICES
from portal.services import directory as service
from portal.services import enquiries as enquiry_service

LABELS = {
    "regions": REGIONS,
    "backgrounds": PROFESSIONAL_BACKGROUND_LABELS,
    "competences": COMPETENCE_AREA_LABELS,
    "review_types": REVIEW_TYPE_LABELS,
    "per_page": PER_PAGE_CHOICES,
}


def directory_required(view):
    """Approved partnership members; commissioners and admins with their second factor."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not can_search_directory(current_user):
            abort(403)
        if directory_staff(current_user) and not second_factor_passed(current_user):
            return redirect(url_for("auth.second_factor", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped


def partnership_member_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_approved_partnership_member:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def enquiry_party_required(view):
    """Enquiry pages: approved partnership members and supplier members (each sees only
    their own threads)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not (current_user.is_approved_partnership_member or current_user.is_supplier):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _field_error(form, error: service.DirectoryError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is None:
        field = form.submit
    field.errors = [*field.errors, error.message]


# --- search ----------------------------------------------------------------------------------


@bp.get("")
@directory_required
def search():
    parsed = service.parse_search(request.args)
    result = None
    cards: list[dict] = []
    if not parsed.errors:
        result = service.search_reviewers(current_user, parsed.params)
        cards = service.search_page_data(result)
    return render_template(
        "directory/search.html",
        parsed=parsed,
        params=parsed.params,
        result=result,
        cards=cards,
        tags=service.expertise_tags(),
        categories=service.category_choices(),
        labels=LABELS,
        errors=parsed.errors,
        page_url=_page_url,
    )


def _page_url(page: int) -> str:
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return url_for("directory.search", **args)


@bp.get("/reviewers/<int:reviewer_id>")
@directory_required
def reviewer(reviewer_id: int):
    try:
        profile = service.listed_profile(current_user, reviewer_id)
    except service.NotFound:
        abort(404)
    shortlists = (service.shortlists_of(current_user)
                  if current_user.is_approved_partnership_member else [])
    form = AddToShortlistForm()
    form.shortlist.choices = [SelectChoice(str(s.id), s.name) for s in shortlists]
    return render_template(
        "directory/reviewer.html",
        profile=profile,
        detail=service.reviewer_detail(profile),
        shortlists=shortlists,
        saved_in=[s for s in shortlists if any(e.reviewer_id == profile.id for e in s.entries)],
        shortlist_form=form,
        can_enquire=current_user.is_approved_partnership_member,
        blocked=(current_user.is_approved_partnership_member and enquiry_service.is_blocked(
            profile.organisation_id, current_user.partnership_id)),
    )


# --- shortlists ----------------------------------------------------------------------------


@bp.post("/reviewers/<int:reviewer_id>/shortlist")
@partnership_member_required
def add_to_shortlist(reviewer_id: int):
    form = AddToShortlistForm()
    try:
        shortlists = service.shortlists_of(current_user)
        form.shortlist.choices = [SelectChoice(str(s.id), s.name) for s in shortlists]
        if form.validate_on_submit():
            chosen = form.shortlist.data
            if chosen and not chosen.isdigit():
                raise service.DirectoryError("Choose a shortlist from the list", "shortlist")
            shortlist, added = service.add_to_shortlist(
                current_user, reviewer_id,
                shortlist_id=int(chosen) if chosen and not form.new_name.data else None,
                new_name=form.new_name.data,
            )
            db.session.commit()
            flash(f"Saved to \u2018{shortlist.name}\u2019" if added
                  else f"Already on \u2018{shortlist.name}\u2019", "success")
            return redirect(url_for("directory.reviewer", reviewer_id=reviewer_id))
    except service.NotFound:
        abort(404)
    except service.DirectoryError as error:
        _field_error(form, error)
    try:
        profile = service.listed_profile(current_user, reviewer_id)
    except service.NotFound:
        abort(404)
    return render_template(
        "directory/reviewer.html", profile=profile, detail=service.reviewer_detail(profile),
        shortlists=shortlists, saved_in=[], shortlist_form=form, can_enquire=True,
        blocked=enquiry_service.is_blocked(profile.organisation_id,
                                           current_user.partnership_id),
        form=form,
    ), 400


@bp.get("/shortlists")
@partnership_member_required
def shortlists():
    return render_template("directory/shortlists.html",
                           shortlists=service.shortlists_of(current_user), form=ShortlistForm())


@bp.post("/shortlists")
@partnership_member_required
def create_shortlist():
    form = ShortlistForm()
    if form.validate_on_submit():
        try:
            shortlist = service.create_shortlist(current_user, form.name.data)
        except service.DirectoryError as error:
            _field_error(form, error)
        else:
            db.session.commit()
            flash(f"Shortlist \u2018{shortlist.name}\u2019 created", "success")
            return redirect(url_for("directory.shortlist", shortlist_id=shortlist.id))
    return render_template("directory/shortlists.html",
                           shortlists=service.shortlists_of(current_user), form=form), 400


@bp.get("/shortlists/<int:shortlist_id>")
@partnership_member_required
def shortlist(shortlist_id: int):
    try:
        view = service.shortlist_view(current_user, shortlist_id)
    except service.NotFound:
        abort(404)
    return render_template("directory/shortlist.html", view=view, confirm_form=ConfirmForm())


@bp.get("/shortlists/<int:shortlist_id>/export.csv")
@partnership_member_required
def export_shortlist(shortlist_id: int):
    try:
        filename, body = service.export_shortlist_csv(
            current_user, shortlist_id,
            lambda rid: url_for("directory.reviewer", reviewer_id=rid, _external=True),
        )
    except service.NotFound:
        abort(404)
    return Response(
        "\ufeff" + body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "Cache-Control": "no-store"},
    )


@bp.post("/shortlists/<int:shortlist_id>/reviewers/<int:reviewer_id>/remove")
@partnership_member_required
def remove_from_shortlist(shortlist_id: int, reviewer_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.remove_from_shortlist(current_user, shortlist_id, reviewer_id)
    except service.NotFound:
        abort(404)
    db.session.commit()
    flash("Removed from the shortlist", "success")
    return redirect(url_for("directory.shortlist", shortlist_id=shortlist_id))


@bp.post("/shortlists/<int:shortlist_id>/delete")
@partnership_member_required
def delete_shortlist(shortlist_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        name = service.delete_shortlist(current_user, shortlist_id)
    except service.NotFound:
        abort(404)
    db.session.commit()
    flash(f"Shortlist \u2018{name}\u2019 deleted", "success")
    return redirect(url_for("directory.shortlists"))


# --- enquiries -----------------------------------------------------------------------------


@bp.route("/reviewers/<int:reviewer_id>/enquire", methods=["GET", "POST"])
@partnership_member_required
def enquire(reviewer_id: int):
    try:
        profile = service.listed_profile(current_user, reviewer_id)
    except service.NotFound:
        abort(404)
    form = EnquiryForm()
    blocked = enquiry_service.is_blocked(profile.organisation_id, current_user.partnership_id)
    if form.validate_on_submit():
        try:
            enquiry = enquiry_service.send_enquiry(current_user, reviewer_id,
                                                   enquiry_service.EnquiryData(
                                                       form.subject.data, form.message.data,
                                                       form.expected_start.data,
                                                       form.expected_weeks.data))
        except service.NotFound:
            abort(404)
        except service.DirectoryError as error:
            _field_error(form, error)
        else:
            db.session.commit()
            flash("Enquiry sent. The reviewer\u2019s organisation has been told.", "success")
            return redirect(url_for("directory.enquiry", enquiry_id=enquiry.id))
    status = 400 if request.method == "POST" else 200
    return render_template("directory/enquire.html", profile=profile, form=form,
                           blocked=blocked), status


@bp.get("/enquiries")
@enquiry_party_required
def enquiries():
    return render_template("directory/enquiries.html",
                           enquiries=enquiry_service.enquiries_of(current_user))


def _enquiry_or_404(enquiry_id: int):
    try:
        return enquiry_service.enquiry_for(current_user, enquiry_id)
    except service.NotFound:
        abort(404)


def _render_enquiry(enquiry, form, status=200):
    return render_template(
        "directory/enquiry.html", enquiry=enquiry, form=form, confirm_form=ConfirmForm(),
        reviewer_side=enquiry.is_reviewer_side(current_user),
        blocked=enquiry_service.is_blocked(enquiry.organisation_id, enquiry.partnership_id),
    ), status


@bp.get("/enquiries/<int:enquiry_id>")
@enquiry_party_required
def enquiry(enquiry_id: int):
    return _render_enquiry(_enquiry_or_404(enquiry_id), ReplyForm())


@bp.post("/enquiries/<int:enquiry_id>/reply")
@enquiry_party_required
def reply(enquiry_id: int):
    enquiry = _enquiry_or_404(enquiry_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            enquiry_service.reply(current_user, enquiry_id, form.body.data)
        except service.DirectoryError as error:
            _field_error(form, error)
        else:
            db.session.commit()
            flash("Reply sent", "success")
            return redirect(url_for("directory.enquiry", enquiry_id=enquiry_id))
    return _render_enquiry(enquiry, form, 400)


@bp.post("/enquiries/<int:enquiry_id>/close")
@enquiry_party_required
def close(enquiry_id: int):
    _enquiry_or_404(enquiry_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    enquiry_service.close_enquiry(current_user, enquiry_id)
    db.session.commit()
    flash("Enquiry closed. The other side has been told; no more replies can be sent.",
          "success")
    return redirect(url_for("directory.enquiry", enquiry_id=enquiry_id))


@bp.post("/enquiries/<int:enquiry_id>/block")
@enquiry_party_required
def block(enquiry_id: int):
    enquiry = _enquiry_or_404(enquiry_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not enquiry.can_block(current_user):
        abort(404)
    enquiry_service.block_partnership(current_user, enquiry_id)
    name = enquiry.partnership.name
    db.session.commit()
    flash(f"{name} can no longer send enquiries to your organisation\u2019s reviewers",
          "success")
    return redirect(url_for("directory.enquiry", enquiry_id=enquiry_id))


@bp.post("/enquiries/<int:enquiry_id>/availability")
@enquiry_party_required
def availability(enquiry_id: int):
    enquiry = _enquiry_or_404(enquiry_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not enquiry.is_reviewer_side(current_user):
        abort(404)
    unavailable = request.form.get("unavailable") == "yes"
    try:
        profile = enquiry_service.set_unavailable(current_user, enquiry.reviewer_id, unavailable)
    except service.NotFound:
        abort(404)
    db.session.commit()
    flash(f"{profile.name} is shown as "
          + ("not taking on new work" if unavailable else "taking on new work"), "success")
    return redirect(url_for("directory.enquiry", enquiry_id=enquiry_id))


@bp.get("/blocked")
@enquiry_party_required
def blocks():
    if not current_user.is_supplier:
        abort(403)
    return render_template("directory/blocks.html",
                           blocks=enquiry_service.blocks_of(current_user),
                           confirm_form=ConfirmForm())


@bp.post("/blocked/<int:block_id>/remove")
@enquiry_party_required
def unblock(block_id: int):
    if not current_user.is_supplier:
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        name = enquiry_service.unblock(current_user, block_id)
    except service.NotFound:
        abort(404)
    db.session.commit()
    flash(f"{name} can send enquiries again", "success")
    return redirect(url_for("directory.blocks"))
