"""The transaction memo (portal/models/memo.py) answers a question once per transaction
and forgets the answer whenever the data behind it may have changed."""

from __future__ import annotations

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import User
from portal.models.memo import remembered
from tests.fixtures.users import UserFactory


def _names() -> list[str]:
    return list(db.session.scalars(select(User.name).order_by(User.id)))


def _asked(counter: list[int]):
    def answer():
        counter[0] += 1
        return _names()
    return answer


def test_a_question_is_answered_once_per_transaction(app):
    UserFactory(name="Ada")
    db.session.commit()
    asked = [0]
    first = remembered("names", 1, _asked(asked))
    again = remembered("names", 1, _asked(asked))
    assert first == again == ["Ada"]
    assert asked == [1]
    assert remembered("names", 2, _asked(asked)) == ["Ada"]  # another key: asked anew
    assert asked == [2]

    db.session.commit()  # the transaction ends: the answer is forgotten
    remembered("names", 1, _asked(asked))
    assert asked == [3]


def test_unflushed_changes_are_never_answered_from_memory(app):
    user = UserFactory(name="Ada")
    db.session.commit()
    asked = [0]
    assert remembered("names", 1, _asked(asked)) == ["Ada"]
    user.name = "Grace"  # pending: the database (through autoflush) must answer
    assert remembered("names", 1, _asked(asked)) == ["Grace"]
    assert asked == [2]
    # The autoflush emptied the memo: the next answer is read afresh and then kept.
    assert remembered("names", 1, _asked(asked)) == ["Grace"]
    assert remembered("names", 1, _asked(asked)) == ["Grace"]
    assert asked == [3]


def test_an_update_statement_forgets_the_answer(app):
    user = UserFactory(name="Ada")
    db.session.commit()
    asked = [0]
    remembered("names", 1, _asked(asked))
    db.session.execute(update(User).where(User.id == user.id).values(name="Grace"))
    assert remembered("names", 1, _asked(asked)) == ["Grace"]
    assert asked == [2]


def test_a_rollback_forgets_the_answer(app):
    UserFactory(name="Ada")
    db.session.commit()
    asked = [0]
    remembered("names", 1, _asked(asked))
    db.session.rollback()
    remembered("names", 1, _asked(asked))
    assert asked == [2]
