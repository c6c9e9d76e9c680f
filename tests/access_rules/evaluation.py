"""Evaluation pages. Commissioners' pages (/commissioning/commissions/<id>/evaluation...)
answer 403 to every other role and 404 until the bids are opened; evaluators' pages
(/evaluation/...) answer 403 to every other role and 404 to an evaluator not assigned
to the commission.

The world: commission_evaluation (category 5, deadline passed, bids opened, evaluation
started) with bids from A and from a third organisation. The world's evaluator is on the
panel as the moderator with another evaluator; they declared no conflict with A's bid
and scored it (a draft), and have not declared for the other bid or submitted. So their
submission is refused (400), moderation is not ready (the page explains; the consensus
form redirects to it; posting is refused), the panel's scores are not theirs to see yet
(403), and no price is flagged (the abnormally low page is 404).
"""

from __future__ import annotations

from datetime import timedelta

import time_machine

from portal.extensions import db
from portal.models.base import utcnow
from tests.access_rules import rule


def build_world(world) -> None:
    from portal.models.pool import PoolMembership
    from portal.services import bids as bid_service
    from portal.services import evaluation as service
    from tests.bids_support import complete_bid, open_commission
    from tests.evaluation_support import entries
    from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier
    from tests.pool_support import category, make_membership

    commissioner = world.people["commissioner"]
    evaluator = world.people["evaluator"]
    owner_a = world.people["supplier_owner_a"]
    other_org = OrganisationFactory(legal_name="Third Bidder Ltd")
    other = make_supplier(other_org, role="owner")
    number = 5  # other areas' worlds use categories 1-4 for A's memberships
    with time_machine.travel(utcnow() - timedelta(days=20), tick=True):
        for organisation in (world.organisation_a, other_org):
            if db.session.query(PoolMembership).filter_by(
                    organisation_id=organisation.id, category_id=category(number).id
            ).first() is None:
                make_membership(organisation, number=number)
        commission = open_commission(commissioner, number=number)
        bid_a = complete_bid(owner_a, commission, submit=True)
        bid_other = complete_bid(other, commission, submit=True)
    bid_service.open_bids(commissioner, commission)
    second = make_staff("evaluator", name="Second Evaluator")
    service.assign_evaluator(commissioner, commission, evaluator.id, moderator=True)
    service.assign_evaluator(commissioner, commission, second.id)
    service.start_evaluation(commissioner, commission)
    service.declare(evaluator, commission, bid_a, False, "")
    db.session.commit()

    class _Setup:
        criteria = list(commission.criteria)

    service.save_scores(evaluator, commission, bid_a, entries(_Setup))
    db.session.commit()
    world.evaluation_commission = commission.id
    world.evaluation_bid = bid_a.id
    world.evaluation_undeclared_bid = bid_other.id


def _c(w):
    return {"commission_id": w.evaluation_commission}


def _cb(w):
    return {"commission_id": w.evaluation_commission, "bid_id": w.evaluation_bid}


def _with(**extra):
    return lambda w: {"commission_id": w.evaluation_commission, **extra}


MISSING = lambda w: {"commission_id": 999_999}  # noqa: E731

COMMISSIONER = {"default": 403, "anonymous": 302, "commissioner": 200}
COMMISSIONER_MISSING = {**COMMISSIONER, "commissioner": 404}
COMMISSIONER_REDIRECTED = {**COMMISSIONER, "commissioner": 302}
COMMISSIONER_REFUSED = {**COMMISSIONER, "commissioner": 400}
EVALUATOR = {"default": 403, "anonymous": 302, "evaluator": 200}
EVALUATOR_MISSING = {**EVALUATOR, "evaluator": 404}
EVALUATOR_REDIRECTED = {**EVALUATOR, "evaluator": 302}
EVALUATOR_REFUSED = {**EVALUATOR, "evaluator": 400}
EVALUATOR_FORBIDDEN = {**EVALUATOR, "evaluator": 403}

RULES = [
    # Commissioner: reading
    rule("evaluation.panel", args=_c, **COMMISSIONER),
    rule("evaluation.panel", args=MISSING, case="no such commission", **COMMISSIONER_MISSING),
    rule("evaluation.progress", args=_c, **COMMISSIONER),
    rule("evaluation.open_price", args=_c, **COMMISSIONER),
    rule("evaluation.ranking", args=_c, **COMMISSIONER),
    rule("evaluation.report", args=_c, **COMMISSIONER),
    rule("evaluation.export_csv", args=_c, **COMMISSIONER),
    rule("evaluation.export_xlsx", args=_c, **COMMISSIONER),
    rule("evaluation.export_csv", args=MISSING, case="no such commission",
         **COMMISSIONER_MISSING),
    rule("evaluation.abnormally_low", args=_cb, case="not flagged", **COMMISSIONER_MISSING),
    rule("evaluation.abnormally_low", "POST", args=_cb, case="not flagged",
         **COMMISSIONER_MISSING),
    # Commissioner: refused changes
    rule("evaluation.assign", "POST", args=_c, **COMMISSIONER_REFUSED),
    rule("evaluation.remove", "POST", args=_with(assignment_id=999_999),
         **COMMISSIONER_REDIRECTED),
    rule("evaluation.make_moderator", "POST", args=_with(assignment_id=999_999),
         **COMMISSIONER_REDIRECTED),
    rule("evaluation.start", "POST", args=_c, case="already started",
         **COMMISSIONER_REDIRECTED),
    rule("evaluation.open_price", "POST", args=_c, case="before moderation",
         **COMMISSIONER_REDIRECTED),
    # Evaluators: reading
    rule("evaluation.index", **EVALUATOR),
    rule("evaluation.commission", args=_c, **EVALUATOR),
    rule("evaluation.commission", args=MISSING, case="not assigned", **EVALUATOR_MISSING),
    rule("evaluation.declaration", args=_cb, **EVALUATOR),
    rule("evaluation.declaration",
         args=lambda w: {"commission_id": w.evaluation_commission, "bid_id": 999_999},
         case="no such bid", **EVALUATOR_MISSING),
    rule("evaluation.bid", args=_cb, **EVALUATOR),
    rule("evaluation.bid",
         args=lambda w: {"commission_id": w.evaluation_commission,
                         "bid_id": w.evaluation_undeclared_bid},
         case="not declared yet", **EVALUATOR_REDIRECTED),
    rule("evaluation.score", args=_cb, **EVALUATOR),
    rule("evaluation.submit", args=_c, **EVALUATOR),
    rule("evaluation.panel_scores", args=_c, case="own scores not submitted",
         **EVALUATOR_FORBIDDEN),
    rule("evaluation.evaluator_export_csv", args=_c, **EVALUATOR),
    rule("evaluation.evaluator_export_xlsx", args=_c, **EVALUATOR),
    rule("evaluation.evaluator_export_csv", args=MISSING, case="not assigned",
         **EVALUATOR_MISSING),
    rule("evaluation.moderation", args=_c, **EVALUATOR),
    rule("evaluation.moderate_bid", args=_cb, case="not ready", **EVALUATOR_REDIRECTED),
    # Evaluators: refused changes
    rule("evaluation.declaration", "POST", args=_cb, case="already declared",
         **EVALUATOR_REFUSED),
    rule("evaluation.score", "POST", args=_cb, case="no input", **EVALUATOR_REFUSED),
    rule("evaluation.score", "POST",
         args=lambda w: {"commission_id": w.evaluation_commission,
                         "bid_id": w.evaluation_undeclared_bid},
         case="not declared", **EVALUATOR_FORBIDDEN),
    rule("evaluation.submit", "POST", args=_c, case="work missing", **EVALUATOR_REFUSED),
    rule("evaluation.moderate_bid", "POST", args=_cb, case="not ready", **EVALUATOR_REFUSED),
    rule("evaluation.complete_moderation", "POST", args=_c, case="not ready",
         **EVALUATOR_REDIRECTED),
]
