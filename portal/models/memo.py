"""Answers kept for the rest of a database transaction.

A page about one commission asks the same questions many times over: which bids were
submitted, who is on the panel, is this user one of them. Each question is asked once
per transaction and its answer kept in the session's `info`, so a page's query count does
not grow with the number of bids or evaluators (tests/test_evaluation_queries.py).

An answer is only as good as the data it was read from, so the memo is forgotten
whenever that data may change: on every flush, on every ORM UPDATE, DELETE or INSERT
statement, and when the transaction ends (commit, rollback or close). While the session
holds unflushed changes nothing is remembered at all: the question goes to the database,
whose autoflush sees the changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db

T = TypeVar("T")

_INFO_KEY = "portal.transaction_memo"


def remembered(question: str, key: Hashable, answer: Callable[[], T]) -> T:
    """`answer()`, computed at most once per transaction for (question, key)."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
        return answer()
    memo = session.info.setdefault(_INFO_KEY, {})
    slot = (question, key)
    if slot not in memo:
        memo[slot] = answer()
    return memo[slot]


def forget(session: Session) -> None:
    session.info.pop(_INFO_KEY, None)


@event.listens_for(Session, "after_flush")
def _forget_after_flush(session: Session, _flush_context) -> None:
    forget(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_transaction(session: Session, _transaction) -> None:
    forget(session)


@event.listens_for(Session, "do_orm_execute")
def _forget_before_writing(state) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        forget(state.session)
