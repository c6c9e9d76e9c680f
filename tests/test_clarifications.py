"""Clarification questions: asked by invited suppliers before the clarification deadline
(the clock moved around it), answered publicly without the asker or privately; suppliers
never see each other's questions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.commissions import ClarificationQuestion, QuestionStatus
from portal.models.outbox import OutboxEmail
from portal.services import clarifications as qa
from portal.services.commissions import CommissionError
from tests.commissions_support import make_open
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier


@pytest.fixture
def commissioner():
    return make_staff("commissioner", email="commissioner@panel.example")


@pytest.fixture
def world(commissioner):
    asker_org = OrganisationFactory(legal_name="Northern Evidence Partnership")
    other_org = OrganisationFactory(legal_name="Southern Review Group")
    asker = make_supplier(asker_org, email="ann@northern-evidence.example", name="Ann Asker")
    other = make_supplier(other_org, email="bob@southern.example")
    outsider = make_supplier(OrganisationFactory(), email="olly@outside.example")
    commission = make_open(commissioner, members=[asker_org, other_org])
    return commission, asker, other, outsider


def _mail(template):
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == template)))


def _questions() -> int:
    return db.session.scalar(select(func.count(ClarificationQuestion.id)))


def test_ask_before_the_deadline_and_not_at_or_after(client, sign_in, world, time_machine):
    commission, asker, _other, _outsider = world
    deadline = commission.clarification_deadline
    url = f"/opportunities/{commission.id}/questions/new"

    time_machine.move_to(deadline - timedelta(seconds=1), tick=False)
    sign_in(asker)
    assert client.get(url).status_code == 200
    response = client.post(url, data={"question": "   "})
    assert response.status_code == 400
    assert "Enter your question" in response.get_data(as_text=True)
    response = client.post(url, data={"question": "x" * 2001})
    assert response.status_code == 400
    assert _questions() == 0
    response = client.post(url, data={"question": "When does the work start?"})
    assert response.status_code == 302
    assert _questions() == 1
    assert _mail("commission_question_asked")  # the commissioner is told

    time_machine.move_to(deadline, tick=False)
    sign_in(asker)
    response = client.post(url, data={"question": "One more?"})
    assert response.status_code == 400
    assert "The deadline for clarification questions was" in response.get_data(as_text=True)
    assert _questions() == 1
    page = client.get(f"/opportunities/{commission.id}").get_data(as_text=True)
    assert "Ask a question" not in page
    assert "The deadline for questions was" in page

    time_machine.move_to(deadline + timedelta(days=1), tick=False)
    with pytest.raises(CommissionError, match="deadline for clarification questions"):
        qa.ask_question(asker, commission, "Later?")


def test_a_supplier_not_invited_cannot_ask(app, world):
    commission, _asker, _other, outsider = world
    with pytest.raises(CommissionError):
        qa.ask_question(outsider, commission, "Can I bid?")
    assert _questions() == 0


def test_public_answer_hides_the_asker_and_emails_every_invitee(
    client, sign_in, world, commissioner
):
    commission, asker, other, _outsider = world
    question = qa.ask_question(
        asker, commission, "Northern Evidence Partnership asks: can we use two sites?")
    db.session.commit()

    # Before an answer: the other supplier sees nothing of it
    sign_in(other)
    text = client.get(f"/opportunities/{commission.id}").get_data(as_text=True)
    assert "two sites" not in text

    sign_in(commissioner)
    url = f"/commissioning/commissions/{commission.id}/questions/{question.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Northern Evidence Partnership asks" in page  # prefilled for editing
    response = client.post(url, data={})
    assert response.status_code == 400
    assert "Select who should see the answer" in response.get_data(as_text=True)
    # The published text must not identify the asker
    response = client.post(url, data={
        "visibility": "public",
        "published_question": "Northern Evidence Partnership asks: can we use two sites?",
        "answer": "Yes.",
    })
    assert response.status_code == 400
    assert "it identifies who asked the question" in response.get_data(as_text=True)
    response = client.post(url, data={
        "visibility": "public", "published_question": "  ", "answer": "Yes."})
    assert response.status_code == 400
    assert "Enter the question as it will be published" in response.get_data(as_text=True)
    db.session.expire_all()
    assert question.status == QuestionStatus.AWAITING

    response = client.post(url, data={
        "visibility": "public",
        "published_question": "Can fieldwork use two sites?",
        "answer": "Yes, two sites are fine.",
    })
    assert response.status_code == 302
    db.session.expire_all()
    assert question.status == QuestionStatus.PUBLIC
    recipients = sorted(m.recipient for m in _mail("commission_clarification_published"))
    assert recipients == sorted([asker.email, other.email])
    for mail in _mail("commission_clarification_published"):
        assert "Northern" not in mail.text_body
        assert "Can fieldwork use two sites?" in mail.text_body

    sign_in(other)
    text = client.get(f"/opportunities/{commission.id}").get_data(as_text=True)
    assert "Can fieldwork use two sites?" in text
    assert "Yes, two sites are fine." in text
    assert "Northern" not in text
    assert "asks:" not in text
    assert "ann@" not in text

    # Answering twice is refused
    sign_in(commissioner)
    response = client.post(url, data={"visibility": "private", "answer": "No"})
    assert response.status_code == 302
    db.session.expire_all()
    assert question.answer == "Yes, two sites are fine."


def test_private_answer_only_for_the_asker(client, sign_in, world, commissioner):
    commission, asker, other, _outsider = world
    question = qa.ask_question(asker, commission, "Is our conflict a problem?")
    db.session.commit()
    sign_in(commissioner)
    response = client.post(
        f"/commissioning/commissions/{commission.id}/questions/{question.id}",
        data={"visibility": "private", "answer": "Declare it in your bid."})
    assert response.status_code == 302
    [mail] = _mail("commission_clarification_private")
    assert mail.recipient == asker.email
    assert _mail("commission_clarification_published") == []

    sign_in(asker)
    text = client.get(f"/opportunities/{commission.id}").get_data(as_text=True)
    assert "Is our conflict a problem?" in text
    assert "Declare it in your bid." in text
    sign_in(other)
    text = client.get(f"/opportunities/{commission.id}").get_data(as_text=True)
    assert "conflict" not in text
    assert "Declare it in your bid." not in text
    assert [q.id for q in qa.questions_for_supplier(commission, other.membership.organisation_id)
            ] == []


def test_answers_only_while_open(app, world, commissioner, time_machine):
    commission, asker, _other, _outsider = world
    question = qa.ask_question(asker, commission, "Late answer?")
    db.session.commit()
    time_machine.move_to(commission.submission_deadline, tick=False)
    with pytest.raises(CommissionError, match="only be answered while"):
        qa.answer_question(commissioner, question, answer="x", public=False,
                           published_question=None)


def test_question_predicates(app, world, commissioner):
    commission, asker, other, outsider = world
    question = qa.ask_question(asker, commission, "Predicate?")
    assert question.can_view(commissioner)
    assert question.can_view(asker)
    assert not question.can_view(other)
    assert not question.can_view(outsider)
    question.status = QuestionStatus.PUBLIC
    question.published_question = "Predicate?"
    question.answer = "Yes"
    question.answered_at = question.asked_at
    assert question.can_view(other)
    assert not question.can_view(outsider)
