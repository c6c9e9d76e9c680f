"""Helpers for the award, standstill and OCDS tests (tests/test_award*.py,
test_standstill*.py, test_ocds*.py, tests/access_rules/award.py): a commission whose bids
were submitted, opened and evaluated, ready for an award.

The evaluation itself belongs to the evaluation work package; these helpers write its
outcome directly (consensus scores with rationales, moderation complete, price envelope
open), which is all the award needs from it (`rank_bids`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import time_machine

from portal.extensions import db
from portal.models.base import utcnow
from portal.models.commissions import Invitation
from portal.models.evaluation import ConsensusScore
from portal.services import bids as bid_service
from tests.bids_support import complete_bid, open_commission
from tests.commissions_support import criterion
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier

OCDS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "ocds"

UNDERSTANDING_SECRET = "Secret understanding of the brief"


@dataclass
class Evaluated:
    commission: object
    commissioner: object
    suppliers: list  # one owner per bidding organisation, in bid order
    bids: list
    others: list = field(default_factory=list)  # invited organisations' users, no bid

    @property
    def organisations(self):
        return [user.organisation for user in self.suppliers]


def rationale(organisation_name: str, criterion_name: str, score: int) -> str:
    return f"Rationale for {organisation_name} on {criterion_name}: scored {score}."


def evaluated_commission(
    commissioner=None,
    *,
    scores=((4, 3), (2, 2), (1, 3)),
    days=(10, 10, 11),
    names=("Alpha Research Ltd", "Beta Reviews Ltd", "Gamma Associates"),
    kinds=None,
    number: int = 1,
    moderated: bool = True,
    price_open: bool = True,
    extra_invited: int = 0,
    bidders=(),
) -> Evaluated:
    """A commission in category `number` with one submitted bid per entry of `scores`
    (consensus scores for Methodology (40%) and Experience (30%); price 30%), opened,
    moderated and priced unless told otherwise. `bidders` are existing supplier users
    who bid first (their organisations invited directly); fresh organisations make up the
    rest."""
    commissioner = commissioner or make_staff("commissioner")
    suppliers = list(bidders)
    for index in range(len(bidders), len(scores)):
        kind = kinds[index] if kinds else "company"
        organisation = OrganisationFactory(
            legal_name=names[index], kind=kind, town="Leeds", postcode="LS1 4AP",
            companies_house_number=f"{number:02d}{index:06d}" if kind == "company" else None,
        )
        suppliers.append(make_supplier(organisation, role="owner",
                                       email=f"owner{index}-{number}@bidder{index}.example"))
    others = []
    for index in range(extra_invited):
        organisation = OrganisationFactory(legal_name=f"Invited Only {index} Ltd")
        others.append(make_supplier(organisation, role="owner",
                                    email=f"invited{index}-{number}@other.example"))
    members = suppliers[len(bidders):] + others
    with time_machine.travel(utcnow() - timedelta(days=20), tick=True):
        commission = open_commission(
            commissioner, *[u.organisation for u in members], number=number,
            criteria=[criterion("Methodology", 40), criterion("Experience", 30)],
            price_weight=30,
        )
        # Existing organisations are invited without a pool membership (so the helper
        # never collides with memberships other tests make).
        for user in bidders:
            db.session.add(Invitation(commission_id=commission.id,
                                      organisation_id=user.organisation.id))
        db.session.commit()
        bids = []
        for user, day_count in zip(suppliers, days, strict=False):
            bid = complete_bid(user, commission, days=day_count, submit=False)
            bid.understanding = f"{UNDERSTANDING_SECRET} by {user.organisation.legal_name}"
            db.session.commit()
            bid_service.submit(user, bid)
            db.session.commit()
            bids.append(bid)
    bid_service.open_bids(commissioner, commission)
    db.session.commit()
    now = utcnow()
    commission.evaluation_started_at = now
    if moderated:
        criteria = list(commission.criteria)
        for bid, row in zip(bids, scores, strict=True):
            for crit, score in zip(criteria, row, strict=True):
                db.session.add(ConsensusScore(
                    commission_id=commission.id, bid_id=bid.id, criterion_id=crit.id,
                    score=score,
                    rationale=rationale(bid.organisation.legal_name, crit.name, score),
                    recorded_by_id=commissioner.id,
                ))
        commission.moderated_at = now
    if moderated and price_open:
        commission.price_opened_at = now
        commission.price_opened_by_id = commissioner.id
    db.session.commit()
    return Evaluated(commission, commissioner, suppliers, bids, others)


def admin(email: str = "admin@panel.example", *roles: str):
    return make_staff("admin", *roles, email=email)
