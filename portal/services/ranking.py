"""Price scores, abnormally low prices and the ranking of a commission's bids.

    quality points per criterion = consensus score / 4 x criterion weight
    price points                 = lowest compliant price / bid price x price weight
    total                        = sum of the quality points + price points

Every figure is a `Decimal` rounded half-up to 2 decimal places; the total is the sum of
the rounded figures (so the figures shown add up to the total shown). Bids with the same
total are shown as tied (`rank` is the same, e.g. "1="); their order (`position`) is then
decided by the tie-break rules below, in turn, and the rule that decided is recorded on
each tied row (`tie_break`):

    1. the higher total quality points;
    2. the lower price (only once the price envelope is open);
    3. the earlier submission of the bid's latest version.

"Compliant" bids are the submitted bids not rejected as abnormally low. A bid more than
ABNORMALLY_LOW_PERCENT (default 30) per cent below the mean price of all the submitted bids
is flagged as possibly abnormally low; the commissioner notes a decision on it
(`AbnormallyLowDecision`), and a rejected bid is left out of the ranking (listed apart).

`rank_bids(commission)` is pure reading: no audit, no writes. The award work package
uses `Ranking.leader` (position 1) as the default award.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import lazyload, selectinload

from portal.extensions import db
from portal.models.bids import Bid, BidStatus
from portal.models.evaluation import (
    AbnormallyLowDecision,
    AbnormallyLowOutcome,
    ConsensusScore,
)
from portal.models.memo import remembered

CENT = Decimal("0.01")
FOUR = Decimal(4)

TIE_BREAK_RULES = (
    "higher total quality score",
    "lower price",
    "earlier submission",
)
TIE_BREAK_DESCRIPTION = (
    "Bids with the same total are shown as tied. Their order is decided by, in turn: "
    "the higher total quality score; the lower price; the earlier submission."
)


def dp2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def abnormally_low_percent() -> int:
    try:
        return int(current_app.config.get("ABNORMALLY_LOW_PERCENT", 30))
    except RuntimeError:  # outside an app context
        return 30


@dataclass(frozen=True)
class CriterionResult:
    criterion_id: int
    name: str
    weight: int
    consensus: int | None  # None until moderated
    points: Decimal  # consensus / 4 x weight, 2 dp (0.00 while not moderated)


@dataclass
class RankedBid:
    bid: Bid
    bid_id: int
    organisation_id: int
    organisation_name: str
    submitted_at: datetime | None
    criteria: list[CriterionResult]
    quality_points: Decimal
    price_pence: int | None  # None while the price envelope is closed
    price_points: Decimal | None  # None while the price envelope is closed
    total: Decimal
    abnormally_low: bool = False  # flagged (price envelope open only)
    decision: AbnormallyLowDecision | None = None
    excluded: bool = False  # rejected as abnormally low: not ranked
    rank: int | None = None  # 1, 1, 3 ... (ties share a rank); None when excluded
    position: int | None = None  # 1, 2, 3 ... after the tie-break
    tied: bool = False
    tie_break: str | None = None  # the rule that decided this tied bid's position

    @property
    def rank_label(self) -> str:
        if self.rank is None:
            return "Not ranked"
        return f"{self.rank}=" if self.tied else str(self.rank)

    @property
    def needs_decision(self) -> bool:
        return self.abnormally_low and self.decision is None


@dataclass
class Ranking:
    commission_id: int
    criteria: list[tuple[int, str, int]]  # (criterion id, name, weight)
    price_weight: int
    price_open: bool
    moderated: bool
    rows: list[RankedBid] = field(default_factory=list)  # ranked by position
    excluded: list[RankedBid] = field(default_factory=list)  # rejected as abnormally low
    lowest_price_pence: int | None = None  # lowest compliant price
    mean_price_pence: Decimal | None = None  # mean of every submitted bid's price
    threshold_pence: Decimal | None = None  # below this a price is flagged
    tie_break_rule: str = TIE_BREAK_DESCRIPTION
    ties: list[list[int]] = field(default_factory=list)  # bid ids sharing a total

    @property
    def complete(self) -> bool:
        """Moderated, price open, and every flagged bid has a decision: final."""
        return self.moderated and self.price_open and not self.pending_decisions

    @property
    def pending_decisions(self) -> list[RankedBid]:
        return [row for row in self.rows + self.excluded if row.needs_decision]

    @property
    def flagged(self) -> list[RankedBid]:
        return [row for row in self.rows + self.excluded if row.abnormally_low]

    @property
    def leader(self) -> RankedBid | None:
        """The bid in position 1 (after any tie-break), or None."""
        return self.rows[0] if self.rows else None

    def row_for(self, bid_id: int) -> RankedBid | None:
        for row in self.rows + self.excluded:
            if row.bid_id == bid_id:
                return row
        return None


def submitted_bids(commission) -> list[Bid]:
    """The bids the panel evaluates: submitted, with a version, oldest first. A bid still
    waiting to be confirmed again after a material change is not evaluated: its bidder
    was told so when the commission changed (they get a letter saying why at the award)."""
    return list(remembered("submitted_bids", commission.id, lambda: [
        bid for bid in db.session.scalars(
            select(Bid)
            .where(Bid.commission_id == commission.id, Bid.status == BidStatus.SUBMITTED)
            # What the panel's lists need; the bid's parts (team, plan, expenses, each
            # with its own eager loads) only when a page opens one bid.
            .options(selectinload(Bid.versions), selectinload(Bid.organisation),
                     lazyload(Bid.team), lazyload(Bid.milestones), lazyload(Bid.expenses))
            .order_by(Bid.id)
        )
        if bid.latest_version is not None
    ]))


def price_of(bid: Bid) -> int:
    """The price of the bid as submitted (its latest version), in pence."""
    return bid.latest_version.total_price_pence


def price_points(price_pence: int, lowest_pence: int, price_weight: int) -> Decimal:
    """lowest compliant price / bid price x price weight, 2 dp."""
    if price_weight == 0:
        return dp2(Decimal(0))
    if price_pence <= 0:
        # A nil price can only be the lowest: full marks (and no division by zero).
        return dp2(Decimal(price_weight))
    return dp2(Decimal(lowest_pence) / Decimal(price_pence) * Decimal(price_weight))


def quality_points(consensus: int, weight: int) -> Decimal:
    return dp2(Decimal(consensus) / FOUR * Decimal(weight))


def abnormally_low_threshold(prices: list[int], percent: int | None = None) -> Decimal | None:
    """Prices below this are more than `percent` below the mean; None with no prices."""
    if not prices:
        return None
    percent = abnormally_low_percent() if percent is None else percent
    mean = Decimal(sum(prices)) / Decimal(len(prices))
    return mean * (Decimal(100 - percent) / Decimal(100))


def rank_bids(commission, *, include_price: bool | None = None) -> Ranking:
    """The ranking of the commission's submitted bids, from the consensus scores and,
    once the price envelope is open, the prices. `include_price=False` leaves price
    out even when the envelope is open (a quality-only view); price is NEVER included
    while the envelope is closed."""
    price_open = commission.price_opened_at is not None
    with_price = price_open if include_price is None else (include_price and price_open)
    criteria = list(commission.criteria)
    ranking = Ranking(
        commission_id=commission.id,
        criteria=[(c.id, c.name, c.weight) for c in criteria],
        price_weight=commission.price_weight or 0,
        price_open=with_price,
        moderated=commission.moderated_at is not None,
    )
    bids = submitted_bids(commission)
    if not bids:
        return ranking

    consensus = {
        (row.bid_id, row.criterion_id): row.score
        for row in db.session.scalars(
            select(ConsensusScore).where(ConsensusScore.commission_id == commission.id)
        )
    }
    decisions = {
        row.bid_id: row
        for row in db.session.scalars(
            select(AbnormallyLowDecision).where(
                AbnormallyLowDecision.bid_id.in_([b.id for b in bids])
            )
        )
    }

    rows: list[RankedBid] = []
    for bid in bids:
        results = []
        for criterion in criteria:
            score = consensus.get((bid.id, criterion.id))
            points = quality_points(score, criterion.weight) if score is not None else dp2(
                Decimal(0))
            results.append(CriterionResult(criterion.id, criterion.name, criterion.weight,
                                           score, points))
        quality = sum((r.points for r in results), Decimal("0.00"))
        rows.append(RankedBid(
            bid=bid,
            bid_id=bid.id,
            organisation_id=bid.organisation_id,
            organisation_name=bid.organisation.display_name,
            submitted_at=bid.latest_version.submitted_at,
            criteria=results,
            quality_points=dp2(quality),
            price_pence=price_of(bid) if with_price else None,
            price_points=None,
            total=dp2(quality),
        ))

    if with_price:
        prices = [row.price_pence for row in rows]
        threshold = abnormally_low_threshold(prices)
        ranking.mean_price_pence = dp2(Decimal(sum(prices)) / Decimal(len(prices)))
        ranking.threshold_pence = dp2(threshold)
        for row in rows:
            row.abnormally_low = Decimal(row.price_pence) < threshold
            row.decision = decisions.get(row.bid_id)
            row.excluded = bool(
                row.decision is not None
                and row.decision.outcome == AbnormallyLowOutcome.REJECTED
            )
        compliant = [row for row in rows if not row.excluded]
        if compliant:
            lowest = min(row.price_pence for row in compliant)
            ranking.lowest_price_pence = lowest
            for row in compliant:
                row.price_points = price_points(row.price_pence, lowest,
                                                ranking.price_weight)
                row.total = dp2(row.quality_points + row.price_points)

    ranked = [row for row in rows if not row.excluded]
    ranking.excluded = [row for row in rows if row.excluded]
    _order(ranked, with_price)
    ranking.rows = ranked
    ranking.ties = _ties(ranked)
    return ranking


def _order(rows: list[RankedBid], with_price: bool) -> None:
    """Sort by total, give competition ranks, break ties and record the rule used."""

    def key(row: RankedBid):
        return (
            -row.total,
            -row.quality_points,
            row.price_pence if with_price and row.price_pence is not None else 0,
            row.submitted_at.timestamp() if row.submitted_at else 0.0,
            row.bid_id,
        )

    rows.sort(key=key)
    for index, row in enumerate(rows):
        same = [other for other in rows if other.total == row.total]
        row.position = index + 1
        row.rank = 1 + sum(1 for other in rows if other.total > row.total)
        row.tied = len(same) > 1
        row.tie_break = _deciding_rule(row, same, with_price) if row.tied else None


def _deciding_rule(row: RankedBid, same: list[RankedBid], with_price: bool) -> str:
    """The first tie-break rule that separates `row` from every bid it is tied with."""
    others = [other for other in same if other is not row]
    checks = [
        ("higher total quality score", lambda a, b: a.quality_points != b.quality_points),
    ]
    if with_price:
        checks.append(("lower price", lambda a, b: a.price_pence != b.price_pence))
    checks.append(("earlier submission", lambda a, b: a.submitted_at != b.submitted_at))
    remaining = others
    for name, differs in checks:
        remaining = [other for other in remaining if not differs(row, other)]
        if not remaining:
            return name
    return "order of receipt (bid number)"


def _ties(rows: list[RankedBid]) -> list[list[int]]:
    groups: dict[Decimal, list[int]] = {}
    for row in rows:
        groups.setdefault(row.total, []).append(row.bid_id)
    return [ids for ids in groups.values() if len(ids) > 1]
