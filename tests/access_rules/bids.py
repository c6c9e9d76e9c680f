"""Bid pages. Organisation A's bid is only ever reachable by A: B (invited to the same
commission) sees its own start page and 404 for everything of A's; no staff role sees a
bid, its documents or an export before the commission's bids are opened (404, the same
answer as for a bid that does not exist); after opening only commissioners do.

The world:
- commission_open (category 1, A and B invited, deadline in the future): A's complete bid
  was submitted once and then reopened as a draft (so it has a version 1 and every
  section page is open to A); rules that would change it send refused input (400) or
  point at rows that are not there (404), and the ones that do change it come last;
- commission_closed (category 2, deadline passed, bids still sealed): A's submitted bid;
- commission_opened (category 2, deadline passed, bids opened): A's submitted bid.
"""

from __future__ import annotations

from datetime import timedelta

import time_machine

from portal.extensions import db
from portal.models.base import utcnow
from tests.access_rules import rule


def build_world(world) -> None:
    from portal.services import bids as service
    from tests.bids_support import complete_bid, open_commission

    commissioner = world.people["commissioner"]
    owner_a = world.people["supplier_owner_a"]
    org_a, org_b = world.organisation_a, world.organisation_b

    commission = open_commission(commissioner, org_a, org_b)
    bid = complete_bid(owner_a, commission, submit=True)
    service.reopen(owner_a, bid)
    service.accept_declaration(owner_a, bid, True)  # reopening asks for it again
    db.session.commit()
    world.bids_open = commission.id
    world.bids_open_member = bid.team[0].id

    with time_machine.travel(utcnow() - timedelta(days=20), tick=True):
        closed = open_commission(commissioner, org_a, org_b, number=2)
        sealed_bid = complete_bid(owner_a, closed, submit=True)
        opened = open_commission(commissioner, number=2)
        unsealed_bid = complete_bid(owner_a, opened, submit=True)
    world.bids_closed = closed.id
    world.bids_sealed_bid = sealed_bid.id
    world.bids_sealed_document = sealed_bid.current_documents[0].document_id
    service.open_bids(commissioner, opened)
    db.session.commit()
    world.bids_opened = opened.id
    world.bids_unsealed_bid = unsealed_bid.id
    world.bids_unsealed_document = unsealed_bid.current_documents[0].document_id


def _o(w):
    return {"commission_id": w.bids_open}


def _o_with(**extra):
    return lambda w: {"commission_id": w.bids_open, **extra}


SUPPLIER = {"default": 403, "anonymous": 302}
A_ONLY = {**SUPPLIER, "supplier_owner_a": 200, "supplier_member_b": 404}
A_REFUSED = {**A_ONLY, "supplier_owner_a": 400}
A_REDIRECTED = {**A_ONLY, "supplier_owner_a": 302}
A_MISSING = {**A_ONLY, "supplier_owner_a": 404}
COMMISSIONER = {"default": 403, "anonymous": 302, "commissioner": 200}
# Any staff role passes the gate, then the seal decides: 404 unless opened and theirs.
SEALED = {"default": 403, "anonymous": 302, "commissioner": 404, "evaluator": 404,
          "admin": 404}
UNSEALED = {**SEALED, "commissioner": 200}

RULES = [
    # Supplier: reading
    rule("bids.bid", args=_o, **A_ONLY | {"supplier_member_b": 200}),
    rule("bids.understanding", args=_o, **A_ONLY),
    rule("bids.team", args=_o, **A_ONLY),
    rule("bids.plan", args=_o, **A_ONLY),
    rule("bids.price", args=_o, **A_ONLY),
    rule("bids.conflicts", args=_o, **A_ONLY),
    rule("bids.documents", args=_o, **A_ONLY),
    rule("bids.declaration", args=_o, **A_ONLY),
    rule("bids.check", args=_o, **A_ONLY),
    rule("bids.history", args=_o, **A_ONLY),
    rule("bids.receipt", args=_o_with(number=1), **A_ONLY),
    rule("bids.receipt", args=_o_with(number=2), case="no such version", **A_MISSING),
    rule("bids.withdraw", args=_o, **A_ONLY),
    rule("bids.reopen", args=_o, case="a draft: back to the bid", **A_REDIRECTED),
    rule("bids.bid", args=lambda w: {"commission_id": w.bids_closed}, case="closed",
         **A_ONLY | {"supplier_member_b": 200}),
    # Supplier: refused input changes nothing
    rule("bids.understanding", "POST", args=_o, **A_REFUSED),
    rule("bids.team", "POST", args=_o, **A_REFUSED),
    rule("bids.plan", "POST", args=_o, **A_REFUSED),
    rule("bids.price", "POST", args=_o, **A_REFUSED),
    rule("bids.conflicts", "POST", args=_o, **A_REFUSED),
    rule("bids.documents", "POST", args=_o, **A_REFUSED),
    rule("bids.declaration", "POST", args=_o, **A_REFUSED),
    rule("bids.remove_team_member", "POST", args=_o_with(member_id=999_999), **A_MISSING),
    rule("bids.remove_milestone", "POST", args=_o_with(milestone_id=999_999), **A_MISSING),
    rule("bids.remove_expense", "POST", args=_o_with(expense_id=999_999), **A_MISSING),
    rule("bids.remove_document", "POST", args=_o_with(link_id=999_999), **A_MISSING),
    rule("bids.understanding", "POST", args=lambda w: {"commission_id": w.bids_closed},
         case="after the deadline", **A_REDIRECTED),
    rule("bids.submit", "POST", args=lambda w: {"commission_id": w.bids_closed},
         case="after the deadline", **A_REDIRECTED),
    # The panel: sealed
    rule("bids.staff_list", args=_o, case="open: a count only", **COMMISSIONER),
    rule("bids.staff_list", args=lambda w: {"commission_id": w.bids_closed},
         case="closed: a count only", **COMMISSIONER),
    rule("bids.staff_bid",
         args=lambda w: {"commission_id": w.bids_closed, "bid_id": w.bids_sealed_bid},
         case="sealed", **SEALED),
    rule("bids.staff_export", args=lambda w: {"commission_id": w.bids_closed},
         case="sealed", **SEALED),
    rule("bids.staff_export", args=_o, case="open", **SEALED),
    rule("documents.download", args=lambda w: {"document_id": w.bids_sealed_document},
         case="sealed bid document", default=404, anonymous=302, supplier_owner_a=200),
    # The panel: opened
    rule("bids.staff_list", args=lambda w: {"commission_id": w.bids_opened},
         case="opened", **COMMISSIONER),
    rule("bids.staff_bid",
         args=lambda w: {"commission_id": w.bids_opened, "bid_id": w.bids_unsealed_bid},
         case="opened", **UNSEALED),
    rule("bids.staff_bid",
         args=lambda w: {"commission_id": w.bids_opened, "bid_id": w.bids_sealed_bid},
         case="a bid of another commission", **SEALED),
    rule("bids.staff_export", args=lambda w: {"commission_id": w.bids_opened},
         case="opened", **UNSEALED),
    rule("documents.download", args=lambda w: {"document_id": w.bids_unsealed_document},
         case="opened bid document", default=404, anonymous=302, supplier_owner_a=200,
         commissioner=200),
    # Changing state, last
    rule("bids.open_bids", "POST", args=_o, case="before the deadline: refused",
         **COMMISSIONER | {"commissioner": 302}),
    rule("bids.open_bids", "POST", args=lambda w: {"commission_id": w.bids_closed},
         **COMMISSIONER | {"commissioner": 302}),
    rule("bids.confirm_price", "POST", args=_o, **A_REDIRECTED),
    rule("bids.submit", "POST", args=_o, **A_REDIRECTED),
    rule("bids.reopen", "POST", args=_o, **A_REDIRECTED),
    rule("bids.withdraw", "POST", args=_o, **A_REDIRECTED),
    rule("bids.start", "POST", args=_o, **A_REDIRECTED | {"supplier_member_b": 302}),
]
