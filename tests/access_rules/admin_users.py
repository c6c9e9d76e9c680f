"""Administration of accounts and partnerships: admins only (with their second factor);
the staff invitation link is public."""

from __future__ import annotations

from portal.extensions import db
from portal.models import User, UserRole, utcnow
from portal.services.admin_users import staff_invitation_token
from tests.access_rules import rule
from tests.fixtures.users import (
    PartnershipFactory,
    UserFactory,
    make_partnership_member,
    make_staff,
)

STRONG = "Quartz-Harbour-Meadow-91"
ADMIN_ONLY = {"default": 403, "anonymous": 302}


def build_world(world) -> None:
    # Ids and strings only: later requests may change or expire these rows.
    world.admin_target = make_staff("evaluator").id
    world.admin_with_totp = make_staff("commissioner", totp_secret="JBSWY3DPEHPK3PXP",
                                       totp_enabled_at=utcnow()).id
    world.admin_to_deactivate = UserFactory().id
    world.admin_deactivated = UserFactory(deactivated_at=utcnow()).id
    invited = User(email="invited.staff@panel.example", name="Invited Staff",
                   password_hash=None)
    db.session.add(invited)
    db.session.flush()
    db.session.add(UserRole(user_id=invited.id, role="evaluator"))
    db.session.flush()
    world.admin_invited = invited.id
    world.staff_invitation_token = staff_invitation_token(invited)
    world.partnership = PartnershipFactory().id
    world.partnership_to_deactivate = PartnershipFactory().id
    world.partnership_deactivated = PartnershipFactory(is_active=False).id
    world.applicant_to_approve = make_partnership_member(approved=False).id
    world.applicant_to_refuse = make_partnership_member(approved=False).id


def _user(name):
    return lambda w: {"user_id": getattr(w, name)}


def _partnership(name):
    return lambda w: {"partnership_id": getattr(w, name)}


RULES = [
    rule("admin.users", **ADMIN_ONLY, admin=200),
    rule("admin.user", args=_user("admin_target"), **ADMIN_ONLY, admin=200),
    rule("admin.user", case="unknown user", args=lambda w: {"user_id": 999999},
         **ADMIN_ONLY, admin=404),
    rule("admin.invite_staff", **ADMIN_ONLY, admin=200),
    rule("admin.invite_staff", "POST", **ADMIN_ONLY, admin=302,
         data=lambda w: {"name": "New Staff", "email": "new.staff@panel.example",
                         "roles": ["evaluator"]}),
    rule("admin.user_roles", args=_user("admin_target"), **ADMIN_ONLY, admin=200),
    rule("admin.user_roles", "POST", args=_user("admin_target"), **ADMIN_ONLY, admin=302,
         data=lambda w: {"roles": ["evaluator", "commissioner"]}),
    rule("admin.user_roles", "POST", case="unknown user", args=lambda w: {"user_id": 999999},
         **ADMIN_ONLY, admin=404, data=lambda w: {"roles": ["evaluator"]}),
    rule("admin.resend_invitation", "POST", args=_user("admin_invited"), **ADMIN_ONLY,
         admin=302),
    rule("admin.deactivate_user", args=_user("admin_to_deactivate"), **ADMIN_ONLY, admin=200),
    rule("admin.deactivate_user", "POST", args=_user("admin_to_deactivate"), **ADMIN_ONLY,
         admin=302),
    rule("admin.reset_second_factor", args=_user("admin_with_totp"), **ADMIN_ONLY, admin=200),
    rule("admin.reset_second_factor", "POST", args=_user("admin_with_totp"), **ADMIN_ONLY,
         admin=302),
    rule("admin.reactivate_user", "POST", args=_user("admin_deactivated"), **ADMIN_ONLY,
         admin=302),
    rule("admin.partnerships", **ADMIN_ONLY, admin=200),
    rule("admin.new_partnership", **ADMIN_ONLY, admin=200),
    rule("admin.new_partnership", "POST", **ADMIN_ONLY, admin=302,
         data=lambda w: {"name": "Leeds Safeguarding Children Partnership", "areas": "Leeds"}),
    rule("admin.edit_partnership", args=_partnership("partnership"), **ADMIN_ONLY, admin=200),
    rule("admin.edit_partnership", "POST", args=_partnership("partnership"), **ADMIN_ONLY,
         admin=302, data=lambda w: {"name": "Renamed Partnership", "areas": "Reading"}),
    rule("admin.edit_partnership", case="unknown partnership",
         args=lambda w: {"partnership_id": 999999}, **ADMIN_ONLY, admin=404),
    rule("admin.deactivate_partnership", "POST", args=_partnership("partnership_to_deactivate"),
         **ADMIN_ONLY, admin=302),
    rule("admin.reactivate_partnership", "POST", args=_partnership("partnership_deactivated"),
         **ADMIN_ONLY, admin=302),
    rule("admin.approve_partnership_member", "POST", args=_user("applicant_to_approve"),
         **ADMIN_ONLY, admin=302),
    rule("admin.approve_partnership_member", "POST", case="not a partnership account",
         args=_user("admin_target"), **ADMIN_ONLY, admin=404),
    rule("admin.refuse_partnership_member", args=_user("applicant_to_refuse"), **ADMIN_ONLY,
         admin=200),
    rule("admin.refuse_partnership_member", "POST", args=_user("applicant_to_refuse"),
         **ADMIN_ONLY, admin=302, data=lambda w: {"reason": "Not a member of staff there."}),
    # The invited person's link: anyone holding it may open it; no sign-in needed.
    rule("staff_invite.accept", args=lambda w: {"token": w.staff_invitation_token},
         default=200),
    rule("staff_invite.accept", case="forged token", args=lambda w: {"token": "forged"},
         default=404),
    rule("staff_invite.accept", "POST", args=lambda w: {"token": w.staff_invitation_token},
         default=302, data=lambda w: {"password": STRONG, "confirm_password": STRONG}),
]
