"""Team pages. Thin: parse the form, call one service function, commit once."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import org_owner_required, supplier_required
from portal.auth.routes import registration_limits
from portal.extensions import db, limiter
from portal.login import start_session
from portal.routing import commit_unless_refused, show_refusal
from portal.services import teams as service
from portal.teams import bp
from portal.teams.forms import (
    ConfirmForm,
    InviteForm,
    JoinForm,
    JoinRegisterForm,
    LeaveForm,
    RoleForm,
)


def _saved(form, change: Callable[[], object]) -> bool:
    """Run the service change to a member and commit it: True. A refusal is rolled back
    and shown on the form: False. A member not in this team is a 404."""
    return commit_unless_refused(
        change,
        refusal=service.TeamError,
        on_refusal=lambda error: show_refusal(form, error),
        not_found=service.NotInTeam,
    )


def _member_or_404(member_id: int):
    try:
        return service.member_of(current_user, member_id)
    except service.NotInTeam:
        abort(404)


@bp.get("/")
@supplier_required
def team():
    view = service.team_of(current_user)
    return render_template(
        "teams/team.html",
        view=view,
        is_owner=view.organisation.can_manage_team(current_user),
        invitation_is_open=service.invitation_is_open,
        confirm_form=ConfirmForm(),
    )


@bp.route("/invite", methods=["GET", "POST"])
@org_owner_required
@limiter.limit("30 per hour", methods=["POST"])
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = service.invite(current_user, form.email.data)
        except service.TeamError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(f"Invitation sent to {invitation.email}", "success")
            return redirect(url_for("teams.team"))
    return render_template("teams/invite.html", form=form)


@bp.post("/invitations/<int:invitation_id>/revoke")
@org_owner_required
def revoke_invitation(invitation_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.revoke_invitation(current_user, invitation_id)
    except service.NotInTeam:
        abort(404)
    except service.TeamError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("teams.team"))
    db.session.commit()
    flash("Invitation withdrawn", "success")
    return redirect(url_for("teams.team"))


@bp.route("/members/<int:member_id>/remove", methods=["GET", "POST"])
@org_owner_required
def remove_member(member_id: int):
    member = _member_or_404(member_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = member.user.name
        if _saved(form, lambda: service.remove_member(current_user, member_id)):
            flash(f"{name} has been removed from your team", "success")
            return redirect(url_for("teams.team"))
    return render_template("teams/remove.html", form=form, member=member)


@bp.route("/members/<int:member_id>/role", methods=["GET", "POST"])
@org_owner_required
def member_role(member_id: int):
    member = _member_or_404(member_id)
    form = RoleForm(role=member.role) if request.method == "GET" else RoleForm()
    if form.validate_on_submit() and _saved(
        form, lambda: service.change_role(current_user, member_id, form.role.data)
    ):
        role = "an owner" if form.role.data == "owner" else "a member"
        flash(f"{member.user.name} is now {role}", "success")
        return redirect(url_for("teams.team"))
    return render_template("teams/role.html", form=form, member=member)


@bp.route("/members/<int:member_id>/transfer", methods=["GET", "POST"])
@org_owner_required
def transfer(member_id: int):
    member = _member_or_404(member_id)
    form = ConfirmForm()
    if form.validate_on_submit() and _saved(
        form, lambda: service.transfer_ownership(current_user, member_id)
    ):
        flash(f"{member.user.name} is now the owner. You are a member", "success")
        return redirect(url_for("teams.team"))
    return render_template("teams/transfer.html", form=form, member=member)


@bp.route("/leave", methods=["GET", "POST"])
@supplier_required
def leave():
    form = LeaveForm()
    organisation = current_user.organisation
    if form.validate_on_submit():
        if form.confirm.data != "yes":
            return redirect(url_for("teams.team"))
        try:
            service.leave(current_user)
        except service.TeamError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(f"You have left {organisation.display_name}", "success")
            return redirect(url_for("main.dashboard"))
    return render_template("teams/leave.html", form=form, organisation=organisation)


@bp.route("/join/<token>", methods=["GET", "POST"])
@registration_limits()
def invitation(token: str):
    try:
        invitation = service.find_invitation(token)
    except service.InvitationProblem as problem:
        status = 404 if problem.reason == "unknown" else 410
        return render_template("teams/invitation_problem.html", reason=problem.reason), status

    if current_user.is_authenticated:
        return _accept_signed_in(token, invitation)

    if service.existing_account_for(invitation) is not None:
        return render_template(
            "teams/invitation_sign_in.html",
            invitation=invitation,
            sign_in_url=url_for("auth.sign_in", next=url_for("teams.invitation", token=token)),
        )

    form = JoinRegisterForm()
    if form.validate_on_submit():
        try:
            user = service.register_from_invitation(token, form.name.data, form.password.data)
        except service.InvitationProblem as problem:
            db.session.rollback()
            return render_template("teams/invitation_problem.html", reason=problem.reason), 410
        except service.TeamError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            start_session(user)
            flash(
                f"Your account is ready and you have joined {invitation.organisation.display_name}",
                "success",
            )
            return redirect(url_for("teams.team"))
    return render_template("teams/invitation_register.html", form=form, invitation=invitation)


def _accept_signed_in(token: str, invitation):
    problem = service.acceptance_problem(current_user, invitation)
    form = JoinForm()
    if problem:
        return render_template(
            "teams/invitation_refused.html", invitation=invitation, problem=problem
        ), 403
    if form.validate_on_submit():
        try:
            service.accept_as(current_user, token)
        except service.InvitationProblem as problem:
            db.session.rollback()
            return render_template("teams/invitation_problem.html", reason=problem.reason), 410
        except service.TeamError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(f"You have joined {invitation.organisation.display_name}", "success")
            return redirect(url_for("teams.team"))
    return render_template("teams/invitation_join.html", form=form, invitation=invitation)
