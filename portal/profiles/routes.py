"""Organisation details and reviewer profile pages. Thin: parse the form, call one
service function, commit once. Another organisation's profile is a 404."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal.access import org_owner_required, supplier_required
from portal.extensions import db
from portal.login import safe_next
from portal.models.profiles import (
    COMPETENCE_AREA_LABELS,
    CONSENT_TEXT_VERSION,
    DBS_TYPES,
    DIVERSITY_FIELDS,
    DOCUMENT_AREA,
    ORGANISATION_KIND_LABELS,
    PROFESSIONAL_BACKGROUND_LABELS,
    REGION_LABELS,
    REVIEW_TYPE_LABELS,
    CompetenceArea,
    ReviewType,
)
from portal.profiles import bp
from portal.profiles.forms import (
    REVIEW_COUNT_FIELDS,
    CompetencesForm,
    ConfirmForm,
    ConsentForm,
    DocumentForm,
    ExpertiseForm,
    OrganisationDetailsForm,
    PublicationForm,
    ReviewerProfileForm,
    SensitiveDataForm,
    WithdrawConsentForm,
)
from portal.routing import commit_unless_refused, show_refusal
from portal.services import profiles as service
from portal.services.documents import store_upload
from portal.uploads import UploadRejected

LABELS = {
    "kinds": ORGANISATION_KIND_LABELS,
    "backgrounds": PROFESSIONAL_BACKGROUND_LABELS,
    "regions": REGION_LABELS,
    "review_types": REVIEW_TYPE_LABELS,
    "competences": COMPETENCE_AREA_LABELS,
    "review_count_fields": REVIEW_COUNT_FIELDS,
}


def _saved(form, change: Callable[[], object], not_found=service.NotFound) -> bool:
    """Run the service change and commit it: True. A refusal is rolled back and shown on
    the form: False. A profile that is not this person's is a 404."""
    return commit_unless_refused(
        change,
        refusal=service.ProfileError,
        on_refusal=lambda error: show_refusal(form, error),
        not_found=not_found,
    )


def _remove_part(profile_id: int, remove: Callable[[], object], done: str):
    """Remove one part of a reviewer profile (a publication, a document) from a button on
    the reviewer page, and go back there; a part of someone else's profile is a 404."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        remove()
    except service.NotFound:
        abort(404)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("profiles.reviewer", profile_id=profile_id))


def _profile_or_404(profile_id: int):
    try:
        profile = service.profile_for(current_user, profile_id)
    except service.NotFound:
        abort(404)
    if not profile.can_edit(current_user):
        abort(404)
    return profile


def _journey() -> str | None:
    return "new" if request.args.get("journey") == "new" else None


# --- Organisation details ----------------------------------------------------------------


@bp.get("/details")
@supplier_required
def details():
    organisation = current_user.organisation
    return render_template(
        "profiles/organisation.html",
        organisation=organisation,
        can_edit=organisation.can_edit_details(current_user),
        labels=LABELS,
    )


def _organisation_details(form: OrganisationDetailsForm) -> service.OrganisationDetails:
    return service.OrganisationDetails(
        legal_name=form.legal_name.data,
        trading_name=form.trading_name.data,
        kind=form.kind.data,
        companies_house_number=form.companies_house_number.data,
        charity_number=form.charity_number.data,
        address_line_1=form.address_line_1.data,
        address_line_2=form.address_line_2.data,
        town=form.town.data,
        postcode=form.postcode.data,
        regions=form.regions.data,
        website=form.website.data,
        is_sme=form.is_sme.data == "yes",
    )


@bp.route("/details/edit", methods=["GET", "POST"])
@org_owner_required
def edit_details():
    organisation = current_user.organisation
    if request.method == "GET":
        form = OrganisationDetailsForm(obj=organisation)
        sme = organisation.is_sme
        form.is_sme.data = None if sme is None else ("yes" if sme else "no")
    else:
        form = OrganisationDetailsForm()
    if form.validate_on_submit() and _saved(
        form,
        lambda: service.update_organisation_details(current_user, _organisation_details(form)),
    ):
        flash("Organisation details saved", "success")
        # The pool application task list links here with ?next=<its own path>.
        return redirect(safe_next(request.args.get("next"), url_for("profiles.details")))
    return render_template("profiles/organisation_form.html", form=form)


# --- Reviewer profiles -------------------------------------------------------------------


@bp.get("/reviewers")
@supplier_required
def reviewers():
    return render_template(
        "profiles/reviewers.html",
        profiles=service.profiles_of(current_user),
        labels=LABELS,
    )


def _profile_data(form: ReviewerProfileForm) -> service.ProfileData:
    return service.ProfileData(
        name=form.name.data,
        professional_background=form.professional_background.data,
        years_experience=form.years_experience.data,
        summary=form.summary.data,
        regions=form.regions.data,
        available_from=form.available_from.data,
        days_per_month=form.days_per_month.data,
        is_unavailable=bool(form.is_unavailable.data),
        day_rate_pence=form.day_rate.data,
        review_counts={
            t.value: getattr(form, f"reviews_{t.value}").data or 0 for t in ReviewType
        },
    )


@bp.route("/reviewers/new", methods=["GET", "POST"])
@supplier_required
def new_reviewer():
    form = ReviewerProfileForm()
    if form.validate_on_submit():
        try:
            profile = service.create_profile(current_user, _profile_data(form))
        except service.ProfileError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            return redirect(url_for("profiles.expertise", profile_id=profile.id, journey="new"))
    return render_template("profiles/reviewer_form.html", form=form, profile=None, labels=LABELS)


@bp.get("/reviewers/<int:profile_id>")
@supplier_required
def reviewer(profile_id: int):
    profile = _profile_or_404(profile_id)
    return render_template(
        "profiles/reviewer.html",
        profile=profile,
        labels=LABELS,
        can_view_sensitive=profile.can_view_sensitive(current_user),
        confirm_form=ConfirmForm(),
        withdraw_form=WithdrawConsentForm(),
    )


@bp.route("/reviewers/<int:profile_id>/edit", methods=["GET", "POST"])
@supplier_required
def edit_reviewer(profile_id: int):
    profile = _profile_or_404(profile_id)
    # Check your answers (pool application) links here with ?next=<its own path>; the
    # form posts back to this URL, so the page to return to survives a failed save.
    back_to = safe_next(request.args.get("next"))
    if request.method == "GET":
        form = ReviewerProfileForm(obj=profile, day_rate=profile.day_rate_pence)
    else:
        form = ReviewerProfileForm()
    if form.validate_on_submit() and _saved(
        form, lambda: service.update_profile(current_user, profile_id, _profile_data(form))
    ):
        flash("Reviewer details saved", "success")
        return redirect(back_to or url_for("profiles.reviewer", profile_id=profile_id))
    return render_template("profiles/reviewer_form.html", form=form, profile=profile,
                           labels=LABELS, back_to=back_to)


@bp.route("/reviewers/<int:profile_id>/expertise", methods=["GET", "POST"])
@supplier_required
def expertise(profile_id: int):
    profile = _profile_or_404(profile_id)
    tags = service.offered_tags(profile)
    if request.method == "GET":
        form = ExpertiseForm(tags=[t.id for t in profile.expertise])
    else:
        form = ExpertiseForm()
    form.tags.choices = [
        SelectChoice(t.id, f"{t.name} (no longer offered)" if t.is_retired else t.name)
        for t in tags
    ]
    if form.validate_on_submit() and _saved(
        form, lambda: service.set_expertise(current_user, profile_id, form.tags.data or [])
    ):
        if _journey():
            return redirect(url_for("profiles.competences", profile_id=profile_id,
                                    journey="new"))
        flash("Areas of expertise saved", "success")
        return redirect(url_for("profiles.reviewer", profile_id=profile_id))
    return render_template("profiles/expertise.html", form=form, profile=profile)


@bp.route("/reviewers/<int:profile_id>/competences", methods=["GET", "POST"])
@supplier_required
def competences(profile_id: int):
    profile = _profile_or_404(profile_id)
    if request.method == "GET":
        initial = {}
        for area in CompetenceArea:
            current = profile.competence(area.value)
            if current is not None:
                initial[area.value] = "yes" if current.has_competence else "no"
                initial[f"{area.value}_example"] = current.example or ""
        form = CompetencesForm(data=initial)
    else:
        form = CompetencesForm()
    if form.validate_on_submit():
        answers = {
            area.value: (
                getattr(form, area.value).data == "yes",
                getattr(form, f"{area.value}_example").data,
            )
            for area in CompetenceArea
        }
        if _saved(form, lambda: service.set_competences(current_user, profile_id, answers)):
            flash("Analytic competences saved", "success")
            return redirect(url_for("profiles.reviewer", profile_id=profile_id))
    return render_template("profiles/competences.html", form=form, profile=profile,
                           areas=list(CompetenceArea))


@bp.route("/reviewers/<int:profile_id>/publications/new", methods=["GET", "POST"])
@supplier_required
def add_publication(profile_id: int):
    profile = _profile_or_404(profile_id)
    form = PublicationForm()
    if form.validate_on_submit() and _saved(
        form,
        lambda: service.add_publication(current_user, profile_id, service.PublicationData(
            title=form.title.data,
            url=form.url.data,
            year=form.year.data,
            review_type=form.review_type.data,
        )),
    ):
        flash("Published review added", "success")
        return redirect(url_for("profiles.reviewer", profile_id=profile_id))
    return render_template("profiles/publication_form.html", form=form, profile=profile)


@bp.post("/reviewers/<int:profile_id>/publications/<int:publication_id>/remove")
@supplier_required
def remove_publication(profile_id: int, publication_id: int):
    return _remove_part(
        profile_id,
        lambda: service.remove_publication(current_user, profile_id, publication_id),
        "Published review removed",
    )


@bp.route("/reviewers/<int:profile_id>/remove", methods=["GET", "POST"])
@supplier_required
def remove_reviewer(profile_id: int):
    profile = _profile_or_404(profile_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = profile.name
        try:
            service.remove_profile(current_user, profile_id)
        except service.NotFound:
            abort(404)
        db.session.commit()
        flash(f"{name} has been removed", "success")
        return redirect(url_for("profiles.reviewers"))
    return render_template("profiles/remove.html", form=form, profile=profile)


# --- Special-category data -----------------------------------------------------------------


def _sensitive_or_abort(profile_id: int):
    try:
        return service.sensitive_profile(current_user, profile_id)
    except service.NotFound:
        abort(404)
    except PermissionError:
        abort(403)


@bp.route("/reviewers/<int:profile_id>/sensitive", methods=["GET", "POST"])
@supplier_required
def sensitive(profile_id: int):
    profile = _sensitive_or_abort(profile_id)
    row = profile.sensitive
    if request.method == "GET":
        initial = {}
        if row is not None:
            for name, _q, _c in DIVERSITY_FIELDS:
                initial[name] = getattr(row, name)
            initial["lived_experience_detail"] = row.lived_experience_detail
            initial["dbs_type"] = row.dbs_type or "none"
            initial["dbs_certificate_date"] = row.dbs_certificate_date
            if row.dbs_update_service is not None:
                initial["dbs_update_service"] = "yes" if row.dbs_update_service else "no"
        form = SensitiveDataForm(data=initial)
    else:
        form = SensitiveDataForm()
    if form.validate_on_submit():
        dbs_type = form.dbs_type.data if form.dbs_type.data in ("enhanced", "standard") else None
        data = service.SensitiveData(
            lived_experience_detail=form.lived_experience_detail.data,
            dbs_type=dbs_type,
            dbs_certificate_date=form.dbs_certificate_date.data if dbs_type else None,
            dbs_update_service=(form.dbs_update_service.data == "yes") if dbs_type else None,
        )
        for name, _q, _c in DIVERSITY_FIELDS:
            setattr(data, name, getattr(form, name).data or None)
        if _saved(form, lambda: service.save_sensitive(current_user, profile_id, data),
                  not_found=(service.NotFound, PermissionError)):
            flash("Diversity and DBS information saved", "success")
            return redirect(url_for("profiles.sensitive", profile_id=profile_id))
    return render_template(
        "profiles/sensitive.html",
        form=form,
        profile=profile,
        diversity_fields=DIVERSITY_FIELDS,
        dbs_types=dict(DBS_TYPES),
        erase_form=ConfirmForm(),
    )


@bp.post("/reviewers/<int:profile_id>/sensitive/erase")
@supplier_required
def erase_sensitive(profile_id: int):
    _sensitive_or_abort(profile_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    service.erase_sensitive(current_user, profile_id)
    db.session.commit()
    flash("Diversity and DBS information deleted", "success")
    return redirect(url_for("profiles.reviewer", profile_id=profile_id))


# --- Directory consent ---------------------------------------------------------------------


@bp.route("/reviewers/<int:profile_id>/consent", methods=["GET", "POST"])
@supplier_required
def consent(profile_id: int):
    profile = _profile_or_404(profile_id)
    form = ConsentForm()
    if request.method == "GET":
        form.text_version.data = CONSENT_TEXT_VERSION
    if form.validate_on_submit():
        if _saved(form, lambda: service.give_consent(current_user, profile_id,
                                                     form.text_version.data or "")):
            flash(f"{profile.name} will appear in the partnership directory", "success")
            return redirect(url_for("profiles.reviewer", profile_id=profile_id))
        # The wording changed while the page was open: show the current wording, so that
        # confirming again consents to what the person has now read.
        form.text_version.data = CONSENT_TEXT_VERSION
    return render_template(
        "profiles/consent.html",
        form=form,
        profile=profile,
        withdraw_form=WithdrawConsentForm(),
        text_version=CONSENT_TEXT_VERSION,
    )


@bp.post("/reviewers/<int:profile_id>/consent/withdraw")
@supplier_required
def withdraw_consent(profile_id: int):
    _profile_or_404(profile_id)
    if not WithdrawConsentForm().validate_on_submit():
        abort(400)
    try:
        withdrawn = service.withdraw_consent(current_user, profile_id)
    except service.NotFound:
        abort(404)
    db.session.commit()
    if withdrawn:
        flash("Consent withdrawn: the profile no longer appears in the partnership directory",
              "success")
    return redirect(url_for("profiles.reviewer", profile_id=profile_id))


# --- CV and sample of work -----------------------------------------------------------------


@bp.route("/reviewers/<int:profile_id>/documents", methods=["GET", "POST"])
@supplier_required
def documents(profile_id: int):
    profile = _profile_or_404(profile_id)
    form = DocumentForm()
    status = 200
    if form.validate_on_submit():
        if not form.file.data or not getattr(form.file.data, "filename", ""):
            form.file.errors.append("Select a file to upload")
        else:
            try:
                document = store_upload(current_user, form.file.data, area=DOCUMENT_AREA)
            except UploadRejected as rejected:
                form.file.errors.append(rejected.message)
                db.session.commit()  # keeps a document.infected audit event, nothing else
                status = rejected.status
            else:
                if _saved(form, lambda: service.attach_document(current_user, profile_id,
                                                                form.slot.data, document)):
                    flash("Document uploaded", "success")
                    return redirect(url_for("profiles.reviewer", profile_id=profile_id))
    return render_template("profiles/documents.html", form=form, profile=profile,
                           confirm_form=ConfirmForm()), status


@bp.post("/reviewers/<int:profile_id>/documents/<any(cv, sample):slot>/remove")
@supplier_required
def remove_document(profile_id: int, slot: str):
    return _remove_part(
        profile_id,
        lambda: service.detach_document(current_user, profile_id, slot),
        "Document removed",
    )


@bp.app_template_filter("region_names")
def region_names(codes) -> str:
    return ", ".join(REGION_LABELS.get(code, code) for code in codes or [])


@bp.app_template_filter("pounds")
def pounds(pence: int | None) -> str:
    if pence is None:
        return ""
    whole, part = divmod(pence, 100)
    return f"£{whole:,}" if not part else f"£{whole:,}.{part:02d}"
