"""Helpers for the evaluation tests (tests/test_evaluation*.py, test_ranking*.py,
test_conflicts*.py and tests/access_rules/evaluation.py): an opened commission with
submitted bids at different prices, a panel, and the journey driven through the real
services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import time_machine

from portal.extensions import db
from portal.models.base import utcnow
from portal.services import bids as bid_service
from portal.services import evaluation as service
from tests.bids_support import complete_bid, open_commission, profile
from tests.commissions_support import criterion
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier

JUSTIFICATION = ("The response addresses the requirement with relevant evidence from "
                 "comparable reviews and a clear, realistic plan.")
RATIONALE = "The panel agreed this score after discussing the evidence in the bid."


@dataclass
class Setup:
    commissioner: object
    commission: object
    bids: list
    suppliers: list
    evaluators: list = field(default_factory=list)

    @property
    def criteria(self):
        return list(self.commission.criteria)


def opened(commissioner=None, *, days=(10, 12, 20), number: int = 1, names=None,
           criteria=None, price_weight: int = 30, open_bids: bool = True) -> Setup:
    """A commission whose deadline passed with one submitted bid per entry of `days`
    (price = days x £600 + £250 expenses), bids opened unless told otherwise."""
    commissioner = commissioner or make_staff("commissioner", name="Cara Commissioner")
    names = names or [f"Bidder {chr(65 + i)} Ltd" for i in range(len(days))]
    organisations = [OrganisationFactory(legal_name=name) for name in names]
    suppliers = [make_supplier(org, role="owner") for org in organisations]
    criteria = criteria or [criterion("Methodology", 40), criterion("Team", 30)]
    with time_machine.travel(utcnow() - timedelta(days=20), tick=True):
        commission = open_commission(commissioner, *organisations, number=number,
                                     criteria=criteria, price_weight=price_weight)
        bids = []
        for supplier, day_count in zip(suppliers, days, strict=True):
            reviewer = profile(supplier.organisation, name=f"Reviewer of {supplier.id}")
            bids.append(complete_bid(supplier, commission, reviewer=reviewer,
                                     days=day_count, submit=True))
    if open_bids:
        bid_service.open_bids(commissioner, commission)
        db.session.commit()
    return Setup(commissioner, commission, bids, suppliers)


def add_panel(setup: Setup, count: int = 2, *, start: bool = True, **staff_kw) -> list:
    evaluators = []
    for index in range(count):
        user = make_staff("evaluator", name=f"Eva Evaluator {index + 1}",
                          email=f"eva{index + 1}.{setup.commission.id}@panel.example")
        service.assign_evaluator(setup.commissioner, setup.commission, user.id,
                                 moderator=index == 0)
        evaluators.append(user)
    db.session.commit()
    if start:
        service.start_evaluation(setup.commissioner, setup.commission)
        db.session.commit()
    setup.evaluators = evaluators
    return evaluators


def entries(setup: Setup, scores: dict | int = 3, text: str = JUSTIFICATION):
    """ScoreInputs for every criterion: `scores` one value or {criterion position: v}."""
    result = []
    for index, c in enumerate(setup.criteria):
        value = scores if isinstance(scores, int) else scores[index]
        result.append(service.ScoreInput(c.id, str(value), text))
    return result


def consensus_entries(setup: Setup, scores: dict | int = 3, text: str = RATIONALE):
    result = []
    for index, c in enumerate(setup.criteria):
        value = scores if isinstance(scores, int) else scores[index]
        result.append(service.ConsensusInput(c.id, str(value), text))
    return result


def declare_all(setup: Setup, evaluator, conflict_with=()) -> None:
    for bid in setup.bids:
        conflicted = bid in conflict_with
        service.declare(evaluator, setup.commission, bid, conflicted,
                        "I worked with this team last year." if conflicted else "")
    db.session.commit()


def score_all(setup: Setup, evaluator, scores=3, submit: bool = True) -> None:
    """Declare no conflict with every bid, score them all (`scores` per bid: a value, a
    list per criterion, or a dict bid -> either), and submit."""
    declare_all(setup, evaluator)
    for bid in setup.bids:
        value = scores.get(bid.id, 3) if isinstance(scores, dict) else scores
        service.save_scores(evaluator, setup.commission, bid, entries(setup, value))
    db.session.commit()
    if submit:
        service.submit_scores(evaluator, setup.commission)
        db.session.commit()


def moderate(setup: Setup, consensus=None, complete: bool = True) -> None:
    """The moderator (evaluators[0]) records consensus for every bid: `consensus`
    maps bid -> value or list per criterion (default 3)."""
    moderator = setup.evaluators[0]
    for bid in setup.bids:
        value = (consensus or {}).get(bid.id, 3)
        service.save_consensus(moderator, setup.commission, bid,
                               consensus_entries(setup, value))
    db.session.commit()
    if complete:
        service.complete_moderation(moderator, setup.commission)
        db.session.commit()


def through_moderation(setup: Setup, consensus=None, evaluators: int = 2) -> None:
    add_panel(setup, evaluators)
    for evaluator in setup.evaluators:
        score_all(setup, evaluator)
    moderate(setup, consensus)
