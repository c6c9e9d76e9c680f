"""Award pages. Commissioners run the award (/commissioning/commissions/<id>/award...),
admins approve or return proposals (/admin/awards...), a bidder reads only their own
organisation's outcome letters (another bidder's letter, or none: 404), and the open
data policy page and the OCDS feed are public.

The world (two commissions, each evaluated with A and a fresh winning organisation as
bidders; B is not invited):
- award_standstill: the award to the other organisation approved by a separate admin;
  letters written (A's is unsuccessful); rules that would change it are refused (flash
  and 303) or send blank reasons (400);
- award_proposed: an award proposed and waiting for approval; the world's admin did not
  propose it, so they may decide it: the return is sent without a reason (400).
"""

from __future__ import annotations

from portal.extensions import db
from tests.access_rules import rule


def build_world(world) -> None:
    from portal.models.award import OutcomeLetter
    from portal.services import award as service
    from tests.award_support import evaluated_commission
    from tests.fixtures.users import make_staff

    commissioner = world.people["commissioner"]
    owner_a = world.people["supplier_owner_a"]
    approver = make_staff("admin", email="award-approver@panel.example")

    standstill = evaluated_commission(commissioner, bidders=[owner_a], scores=((1, 1), (4, 4)),
                                      days=(10, 10), number=3,
                                      names=("", "Winning Reviews Ltd"))
    award = service.propose(commissioner, standstill.commission, None, "")
    db.session.commit()
    service.approve(approver, award)
    db.session.commit()
    world.award_standstill = standstill.commission.id
    world.award_standstill_award = award.id
    letters = {letter.organisation_id: letter.id for letter in award.letters}
    world.award_letter_a = letters[world.organisation_a.id]
    world.award_letter_winner = next(
        letter_id for org_id, letter_id in letters.items()
        if org_id != world.organisation_a.id)
    assert db.session.get(OutcomeLetter, world.award_letter_a) is not None

    proposed = evaluated_commission(commissioner, bidders=[owner_a], scores=((1, 1), (4, 4)),
                                    days=(10, 10), number=4,
                                    names=("", "Second Winner Ltd"))
    pending = service.propose(commissioner, proposed.commission, None, "")
    db.session.commit()
    world.award_proposed = proposed.commission.id
    world.award_proposed_award = pending.id
    world.ocds_ocid = f"ocds-rvwpl1-{standstill.commission.id}"


def _s(w):
    return {"commission_id": w.award_standstill}


def _p(w):
    return {"commission_id": w.award_proposed}


COMMISSIONER = {"default": 403, "anonymous": 302, "commissioner": 200}
COMMISSIONER_REFUSED = {**COMMISSIONER, "commissioner": 400}
COMMISSIONER_REDIRECTED = {**COMMISSIONER, "commissioner": 302}
COMMISSIONER_SEE_OTHER = {**COMMISSIONER, "commissioner": 303}
ADMIN = {"default": 403, "anonymous": 302, "admin": 200}
ADMIN_REFUSED = {**ADMIN, "admin": 400}
ADMIN_SEE_OTHER = {**ADMIN, "admin": 303}
SUPPLIER_A = {"default": 403, "anonymous": 302, "supplier_owner_a": 200,
              "supplier_member_b": 404}
SUPPLIER_NOBODY = {**SUPPLIER_A, "supplier_owner_a": 404}

RULES = [
    # Commissioners
    rule("award.manage", args=_s, **COMMISSIONER),
    rule("award.manage", args=_p, case="proposed", **COMMISSIONER),
    rule("award.manage", args=lambda w: {"commission_id": 999_999}, case="no such commission",
         **COMMISSIONER | {"commissioner": 404}),
    rule("award.propose", "POST", args=_p, case="already proposed",
         **COMMISSIONER_REFUSED),
    rule("award.confirm", "POST",
         args=lambda w: {**_s(w), "award_id": w.award_standstill_award},
         case="during standstill", **COMMISSIONER_SEE_OTHER),
    rule("award.confirm", "POST",
         args=lambda w: {**_p(w), "award_id": w.award_standstill_award},
         case="award of another commission", **COMMISSIONER | {"commissioner": 404}),
    rule("award.withdraw", args=lambda w: {**_s(w), "award_id": w.award_standstill_award},
         **COMMISSIONER),
    rule("award.withdraw", "POST",
         args=lambda w: {**_s(w), "award_id": w.award_standstill_award},
         case="no reason", **COMMISSIONER_REFUSED),
    rule("award.withdraw", args=lambda w: {**_p(w), "award_id": w.award_proposed_award},
         case="not approved", **COMMISSIONER_REDIRECTED),
    rule("award.no_suitable_bid", args=_p, case="an award is live",
         **COMMISSIONER_REDIRECTED),
    rule("award.no_suitable_bid", "POST", args=_p, case="an award is live",
         **COMMISSIONER_REDIRECTED),
    # Admins (four eyes)
    rule("award.approvals", **ADMIN),
    rule("award.review", args=lambda w: {"award_id": w.award_proposed_award}, **ADMIN),
    rule("award.review", args=lambda w: {"award_id": w.award_standstill_award},
         case="approved", **ADMIN),
    rule("award.review", args=lambda w: {"award_id": 999_999}, case="no such award",
         **ADMIN | {"admin": 404}),
    rule("award.return_award", "POST", args=lambda w: {"award_id": w.award_proposed_award},
         case="no reason", **ADMIN_REFUSED),
    rule("award.approve", "POST", args=lambda w: {"award_id": w.award_standstill_award},
         case="already approved", **ADMIN_SEE_OTHER),
    rule("award.return_award", "POST", args=lambda w: {"award_id": w.award_standstill_award},
         case="already approved", **ADMIN_SEE_OTHER),
    # Bidders: their own letters only
    rule("award.outcome", args=_s, **SUPPLIER_A),
    rule("award.outcome", args=_p, case="no letter yet", **SUPPLIER_NOBODY),
    rule("award.letter", args=lambda w: {**_s(w), "letter_id": w.award_letter_a},
         **SUPPLIER_A),
    rule("award.letter", args=lambda w: {**_s(w), "letter_id": w.award_letter_winner},
         case="another bidder's letter", **SUPPLIER_NOBODY),
    rule("award.letter", args=lambda w: {**_p(w), "letter_id": w.award_letter_a},
         case="letter of another commission", **SUPPLIER_NOBODY),
    # Everyone: open data
    rule("award.open_data", default=200),
    rule("api.ocds_releases", default=200),
    rule("api.ocds_release", args=lambda w: {"release_id": "no-such-release"},
         case="unknown", default=404),
    rule("api.ocds_record", args=lambda w: {"ocid": w.ocds_ocid}, default=200),
    rule("api.ocds_record", args=lambda w: {"ocid": "ocds-rvwpl1-999999"},
         case="unknown", default=404),
]
