"""Team pages: owners manage, members see and leave, the join link is public."""

from __future__ import annotations

from datetime import timedelta

from portal.extensions import db
from portal.models import OrganisationInvitation, utcnow
from portal.tokens import hash_secret_token
from tests.access_rules import rule
from tests.fixtures.users import make_supplier

STRONG = "Quartz-Harbour-Meadow-91"


def _invitation(organisation, email: str, token: str) -> int:
    invitation = OrganisationInvitation(
        organisation_id=organisation.id,
        email=email,
        token_hash=hash_secret_token(token),
        expires_at=utcnow() + timedelta(days=7),
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation.id


def build_world(world) -> None:
    # Ids, not objects: a removed member's object could not be refreshed later.
    world.team_token_a = "team-invitation-token-for-organisation-a"
    _invitation(world.organisation_a, "invitee@a.example",
                                          world.team_token_a)
    world.team_invitation_to_revoke_a = _invitation(
        world.organisation_a, "withdrawn@a.example", "team-invitation-token-to-revoke"
    )
    world.team_invitation_b = _invitation(world.organisation_b, "invitee@b.example",
                                          "team-invitation-token-for-organisation-b")
    world.team_member_a = make_supplier(world.organisation_a, role="member").membership.id
    world.team_member_to_remove_a = make_supplier(
        world.organisation_a, role="member"
    ).membership.id
    world.team_owner_a = world.people["supplier_owner_a"].membership.id
    world.team_member_b = world.people["supplier_member_b"].membership.id


def _member(name):
    return lambda w: {"member_id": getattr(w, name)}


OWNER_ONLY = {"default": 403, "anonymous": 302}

RULES = [
    rule("teams.team", default=403, anonymous=302, supplier_owner_a=200, supplier_member_b=200),
    rule("teams.invite", **OWNER_ONLY, supplier_owner_a=200),
    rule("teams.invite", "POST", data=lambda w: {"email": "colleague@a.example"},
         **OWNER_ONLY, supplier_owner_a=302),
    rule("teams.revoke_invitation", "POST",
         args=lambda w: {"invitation_id": w.team_invitation_to_revoke_a},
         **OWNER_ONLY, supplier_owner_a=302),
    rule("teams.revoke_invitation", "POST", case="other organisation",
         args=lambda w: {"invitation_id": w.team_invitation_b},
         **OWNER_ONLY, supplier_owner_a=404),
    rule("teams.remove_member", args=_member("team_member_a"), **OWNER_ONLY,
         supplier_owner_a=200),
    rule("teams.remove_member", case="other organisation", args=_member("team_member_b"),
         **OWNER_ONLY, supplier_owner_a=404),
    rule("teams.member_role", args=_member("team_member_a"), **OWNER_ONLY,
         supplier_owner_a=200),
    rule("teams.member_role", case="other organisation", args=_member("team_member_b"),
         **OWNER_ONLY, supplier_owner_a=404),
    rule("teams.member_role", "POST", args=_member("team_member_a"),
         data=lambda w: {"role": "member"}, **OWNER_ONLY, supplier_owner_a=302),
    rule("teams.member_role", "POST", case="other organisation", args=_member("team_member_b"),
         data=lambda w: {"role": "member"}, **OWNER_ONLY, supplier_owner_a=404),
    rule("teams.transfer", args=_member("team_member_a"), **OWNER_ONLY, supplier_owner_a=200),
    rule("teams.transfer", case="other organisation", args=_member("team_member_b"),
         **OWNER_ONLY, supplier_owner_a=404),
    # To oneself is refused on the page (200), so the owner stays an owner for later rules.
    rule("teams.transfer", "POST", case="to oneself", args=_member("team_owner_a"),
         **OWNER_ONLY, supplier_owner_a=200),
    rule("teams.transfer", "POST", case="other organisation", args=_member("team_member_b"),
         **OWNER_ONLY, supplier_owner_a=404),
    rule("teams.remove_member", "POST", args=_member("team_member_to_remove_a"),
         **OWNER_ONLY, supplier_owner_a=302),
    rule("teams.remove_member", "POST", case="other organisation",
         args=_member("team_member_b"), **OWNER_ONLY, supplier_owner_a=404),
    # Without "yes" nobody leaves: the page asks again (200).
    rule("teams.leave", default=403, anonymous=302, supplier_owner_a=200, supplier_member_b=200),
    rule("teams.leave", "POST", default=403, anonymous=302, supplier_owner_a=200,
         supplier_member_b=200),
    # The join link: anyone may open it; signed in with another address is refused.
    rule("teams.invitation", args=lambda w: {"token": w.team_token_a},
         default=403, anonymous=200),
    rule("teams.invitation", case="unknown token", args=lambda w: {"token": "nope"},
         default=404),
    rule("teams.invitation", "POST", args=lambda w: {"token": w.team_token_a},
         data=lambda w: {"name": "New Colleague", "password": STRONG,
                         "confirm_password": STRONG},
         default=403, anonymous=302),
]
