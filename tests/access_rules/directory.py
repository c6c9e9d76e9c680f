"""The partnership directory: search and profiles for approved partnership members,
commissioners and admins; shortlists for partnership members (their own); enquiry
threads for their two parties only (anyone else signed in: 404 or 403)."""

from __future__ import annotations

from datetime import timedelta

from portal.extensions import db
from portal.models import Enquiry, EnquiryBlock, EnquiryMessage, Shortlist, ShortlistEntry, utcnow
from tests.access_rules import rule
from tests.directory_support import listed_in, reviewer
from tests.fixtures.users import PartnershipFactory, make_partnership_member

SEARCHERS = {"partnership_approved": 200, "commissioner": 200, "admin": 200}


def build_world(world) -> None:
    listed_in(world.organisation_a, categories=(2, 5))
    listed = reviewer("Listed Reviewer A", world.organisation_a, expertise=["Neglect"])
    hidden = reviewer("Hidden Reviewer A", world.organisation_a, consent=False)
    world.directory_listed = listed.id
    world.directory_hidden = hidden.id
    member = world.people["partnership_approved"]
    shortlist = Shortlist(owner_id=member.id, partnership_id=member.partnership_id,
                          name="Access shortlist")
    shortlist.entries.append(ShortlistEntry(reviewer_id=listed.id))
    other = make_partnership_member()
    others = Shortlist(owner_id=other.id, partnership_id=other.partnership_id, name="Not yours")
    db.session.add_all([shortlist, others])
    now = utcnow()
    enquiry = Enquiry(
        sender_id=member.id, partnership_id=member.partnership_id, reviewer_id=listed.id,
        organisation_id=world.organisation_a.id, subject="A review", status="open",
        expected_start=(now + timedelta(days=30)).date(), expected_weeks=20,
    )
    enquiry.messages.append(EnquiryMessage(author_id=member.id, side="partnership",
                                           body="Are you free?"))
    db.session.add(enquiry)
    block = EnquiryBlock(organisation_id=world.organisation_a.id,
                         partnership_id=PartnershipFactory().id)
    db.session.add(block)
    db.session.flush()
    world.directory_shortlist = shortlist.id
    world.directory_other_shortlist = others.id
    world.directory_enquiry = enquiry.id
    world.directory_block = block.id


def _listed(w):
    return {"reviewer_id": w.directory_listed}


def _shortlist(w):
    return {"shortlist_id": w.directory_shortlist}


def _enquiry(w):
    return {"enquiry_id": w.directory_enquiry}


ENQUIRY_FORM = {"subject": "Prospective LCSPR", "message": "Would you be free?",
                "expected_start": ["1", "3", str(utcnow().year + 1)], "expected_weeks": "24"}

RULES = [
    rule("directory.search", default=403, anonymous=302, **SEARCHERS),
    rule("directory.reviewer", args=_listed, default=403, anonymous=302, **SEARCHERS),
    rule("directory.reviewer", args=lambda w: {"reviewer_id": w.directory_hidden},
         default=403, anonymous=302, partnership_approved=404, commissioner=404, admin=404,
         case="not in the directory"),
    rule("directory.shortlists", default=403, anonymous=302, partnership_approved=200),
    rule("directory.create_shortlist", "POST", data=lambda w: {"name": "New list"},
         default=403, anonymous=302, partnership_approved=302),
    rule("directory.add_to_shortlist", "POST", args=_listed,
         data=lambda w: {"new_name": "Another list"},
         default=403, anonymous=302, partnership_approved=302),
    rule("directory.shortlist", args=_shortlist, default=403, anonymous=302,
         partnership_approved=200),
    rule("directory.shortlist", args=lambda w: {"shortlist_id": w.directory_other_shortlist},
         default=403, anonymous=302, partnership_approved=404, case="another member's"),
    rule("directory.export_shortlist", args=_shortlist, default=403, anonymous=302,
         partnership_approved=200),
    rule("directory.enquire", args=_listed, default=403, anonymous=302,
         partnership_approved=200),
    rule("directory.enquire", "POST", args=_listed, data=lambda w: ENQUIRY_FORM,
         default=403, anonymous=302, partnership_approved=302),
    rule("directory.enquiries", default=403, anonymous=302, supplier_owner_a=200,
         supplier_member_b=200, partnership_approved=200),
    rule("directory.enquiry", args=_enquiry, default=403, anonymous=302,
         supplier_owner_a=200, supplier_member_b=404, partnership_approved=200),
    rule("directory.reply", "POST", args=_enquiry, data=lambda w: {"body": "Yes."},
         default=403, anonymous=302, supplier_owner_a=302, supplier_member_b=404,
         partnership_approved=302),
    rule("directory.availability", "POST", args=_enquiry, data=lambda w: {"unavailable": "yes"},
         default=403, anonymous=302, supplier_owner_a=302, supplier_member_b=404,
         partnership_approved=404),
    rule("directory.close", "POST", args=_enquiry, default=403, anonymous=302,
         supplier_owner_a=302, supplier_member_b=404, partnership_approved=302),
    rule("directory.block", "POST", args=_enquiry, default=403, anonymous=302,
         supplier_owner_a=302, supplier_member_b=404, partnership_approved=404),
    rule("directory.blocks", default=403, anonymous=302, supplier_owner_a=200,
         supplier_member_b=200),
    rule("directory.unblock", "POST", args=lambda w: {"block_id": w.directory_block},
         default=403, anonymous=302, supplier_owner_a=302, supplier_member_b=404),
    # Destructive last.
    rule("directory.remove_from_shortlist", "POST",
         args=lambda w: {"shortlist_id": w.directory_shortlist,
                         "reviewer_id": w.directory_listed},
         default=403, anonymous=302, partnership_approved=302),
    rule("directory.delete_shortlist", "POST", args=_shortlist, default=403, anonymous=302,
         partnership_approved=302),
]
