"""Evaluation pages make a bounded number of SQL queries: the same for a commission with
six bids as for one with two, and for a panel of four evaluators as for one of two."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from portal.extensions import db
from portal.models import User
from tests.evaluation_support import opened, through_moderation
from tests.fixtures.users import login_as

COMMISSIONER_PAGES = (
    "/commissioning/commissions/{id}/evaluation",
    "/commissioning/commissions/{id}/evaluation/progress",
    "/commissioning/commissions/{id}/evaluation/ranking",
    "/commissioning/commissions/{id}/evaluation/report",
    "/commissioning/commissions/{id}/evaluation/scores.csv",
    "/commissioning/commissions/{id}/award",
)
MODERATOR_PAGES = (
    "/evaluation/commissions/{id}",
    "/evaluation/commissions/{id}/moderation",
    "/evaluation/commissions/{id}/panel-scores",
)


@contextmanager
def count_queries():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _priced(bid_count: int, number: int, evaluators: int = 2):
    setup = opened(days=tuple(10 + i for i in range(bid_count)), number=number,
                   names=[f"Bidder {number}-{i} Ltd" for i in range(bid_count)])
    through_moderation(setup, evaluators=evaluators)
    setup.commission.price_opened_at = setup.commission.moderated_at
    setup.commission.price_opened_by_id = setup.commissioner.id
    db.session.commit()
    return setup


def _counts(client, user_id, pages, commission_id) -> dict[str, int]:
    login_as(client, db.session.get(User, user_id))
    db.session.commit()
    counts = {}
    for page in pages:
        # A fresh session, as a real request has: nothing cached from earlier pages.
        db.session.close()
        with count_queries() as statements:
            response = client.get(page.format(id=commission_id))
        assert response.status_code == 200, page
        counts[page] = len(statements)
    return counts


def _assert_no_growth(client, smaller, larger) -> None:
    """Every page makes no more queries for the larger commission than the smaller."""
    # Ids first: measuring closes the session, detaching the setups' objects.
    ids = [(s.commission.id, s.commissioner.id, s.evaluators[0].id) for s in (smaller, larger)]
    counts = []
    for commission_id, commissioner_id, moderator_id in ids:
        counts.append({
            **_counts(client, commissioner_id, COMMISSIONER_PAGES, commission_id),
            **_counts(client, moderator_id, MODERATOR_PAGES, commission_id),
        })
    few, many = counts
    for page in COMMISSIONER_PAGES + MODERATOR_PAGES:
        assert many[page] <= few[page], (page, few[page], many[page])


def test_evaluation_pages_do_not_grow_with_the_number_of_bids(client):
    _assert_no_growth(client, _priced(2, number=1), _priced(6, number=2))


def test_evaluation_pages_do_not_grow_with_the_panel(client):
    _assert_no_growth(client, _priced(3, number=1, evaluators=2),
                      _priced(3, number=2, evaluators=4))
