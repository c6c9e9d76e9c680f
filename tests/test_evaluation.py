"""The evaluation journey through the pages, and every bad input: nothing is saved when
something is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.commissions import CommissionState
from portal.models.evaluation import (
    ConflictDeclaration,
    ConsensusScore,
    EvaluatorSubmission,
    Score,
)
from portal.models.outbox import OutboxEmail
from portal.services import evaluation as service
from tests.evaluation_support import (
    JUSTIFICATION,
    RATIONALE,
    add_panel,
    declare_all,
    entries,
    moderate,
    opened,
    score_all,
)
from tests.fixtures.users import login_as, make_staff


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.sequence)))


def _score_form(setup, values=(3, 3), text=JUSTIFICATION) -> dict:
    data = {}
    for criterion, value in zip(setup.criteria, values, strict=True):
        if value is not None:
            data[f"score_{criterion.id}"] = str(value)
        data[f"justification_{criterion.id}"] = text
    return data


def _consensus_form(setup, values=(3, 3), text=RATIONALE) -> dict:
    data = {}
    for criterion, value in zip(setup.criteria, values, strict=True):
        if value is not None:
            data[f"score_{criterion.id}"] = str(value)
        data[f"rationale_{criterion.id}"] = text
    return data


# --- the whole journey, through the pages ------------------------------------------------


def test_whole_journey_through_the_pages(app, client):
    setup = opened(days=(10, 12))
    commission = setup.commission
    cid = commission.id
    first, second = setup.bids
    eva = make_staff("evaluator", name="Eva One", email="eva.one@panel.example")
    evan = make_staff("evaluator", name="Evan Two", email="evan.two@panel.example")
    assert commission.state == CommissionState.OPENED

    # The commissioner sets up the panel and starts.
    login_as(client, setup.commissioner)
    page = client.get(f"/commissioning/commissions/{cid}/evaluation")
    assert page.status_code == 200
    assert "Assign at least 2 evaluators" in page.text
    assert client.post(f"/commissioning/commissions/{cid}/evaluation/evaluators",
                       data={"user_id": eva.id, "moderator": "y"}).status_code == 302
    refused = client.post(f"/commissioning/commissions/{cid}/evaluation/start")
    assert refused.status_code == 302
    db.session.expire_all()
    assert commission.evaluation_started_at is None
    assert client.post(f"/commissioning/commissions/{cid}/evaluation/evaluators",
                       data={"user_id": evan.id}).status_code == 302
    assert client.post(f"/commissioning/commissions/{cid}/evaluation/start").status_code == 302
    db.session.expire_all()
    assert commission.state == CommissionState.IN_EVALUATION
    invites = db.session.scalars(select(OutboxEmail.recipient).where(
        OutboxEmail.template == "evaluation_assigned")).all()
    assert sorted(invites) == ["eva.one@panel.example", "evan.two@panel.example"]

    # Each evaluator declares, reads, scores (draft), then submits.
    for person in (eva, evan):
        login_as(client, person)
        assert commission.reference in client.get("/evaluation").text
        assert client.get(f"/evaluation/commissions/{cid}").status_code == 200
        bid_page = client.get(f"/evaluation/commissions/{cid}/bids/{first.id}")
        assert bid_page.status_code == 302 and "/declaration" in bid_page.location
        score_page = client.get(f"/evaluation/commissions/{cid}/bids/{first.id}/scores")
        assert score_page.status_code == 302 and "/declaration" in score_page.location
        for bid in (first, second):
            declaration = client.get(f"/evaluation/commissions/{cid}/bids/{bid.id}/declaration")
            assert declaration.status_code == 200
            assert bid.organisation.display_name in declaration.text
            assert client.post(f"/evaluation/commissions/{cid}/bids/{bid.id}/declaration",
                               data={"has_conflict": "no"}).status_code == 302
            read = client.get(f"/evaluation/commissions/{cid}/bids/{bid.id}")
            assert read.status_code == 200
            assert "Interviews and case file reading." in read.text
            form = client.get(f"/evaluation/commissions/{cid}/bids/{bid.id}/scores")
            assert form.status_code == 200
            # the guidance for each score is beside the radios
            assert "Excellent: the response meets the requirement fully" in form.text
            assert 'type="radio"' in form.text
            saved = client.post(f"/evaluation/commissions/{cid}/bids/{bid.id}/scores",
                                data=_score_form(setup, (3, 2) if person is eva else (1, 4)))
            assert saved.status_code == 302
        assert client.get(f"/evaluation/commissions/{cid}/submit").status_code == 200
        assert client.post(f"/evaluation/commissions/{cid}/submit").status_code == 302
        # locked
        again = client.post(f"/evaluation/commissions/{cid}/bids/{first.id}/scores",
                            data=_score_form(setup, (0, 0)))
        assert again.status_code == 403

    assert _count(EvaluatorSubmission) == 2
    assert _count(Score, Score.status == "submitted") == 8
    assert db.session.scalar(select(OutboxEmail.recipient).where(
        OutboxEmail.template == "evaluation_ready_to_moderate")) == "eva.one@panel.example"

    # The moderator sees both side by side; spread >= 2 is flagged.
    login_as(client, eva)
    moderation = client.get(f"/evaluation/commissions/{cid}/moderation")
    assert moderation.status_code == 200
    assert "Spread of 2" in moderation.text  # 3 v 1 on Methodology
    assert "Eva One" in moderation.text and "Evan Two" in moderation.text
    for bid in (first, second):
        assert client.get(
            f"/evaluation/commissions/{cid}/moderation/bids/{bid.id}").status_code == 200
        assert client.post(f"/evaluation/commissions/{cid}/moderation/bids/{bid.id}",
                           data=_consensus_form(setup, (3, 3) if bid is first else (2, 3))
                           ).status_code == 302
    assert client.post(f"/evaluation/commissions/{cid}/moderation/complete").status_code == 302
    db.session.expire_all()
    assert commission.state == CommissionState.MODERATED

    # The commissioner opens the price envelope and sees the ranking, report, exports.
    login_as(client, setup.commissioner)
    assert client.get(f"/commissioning/commissions/{cid}/evaluation/progress").status_code == 200
    assert client.get(f"/commissioning/commissions/{cid}/evaluation/price").status_code == 200
    assert client.post(f"/commissioning/commissions/{cid}/evaluation/price").status_code == 302
    db.session.expire_all()
    assert commission.price_opened_at is not None
    ranking = client.get(f"/commissioning/commissions/{cid}/evaluation/ranking")
    assert ranking.status_code == 200
    assert "82.50" in ranking.text  # first: 30 + 22.50 + 30.00
    report = client.get(f"/commissioning/commissions/{cid}/evaluation/report")
    assert report.status_code == 200 and "evaluation.css" in report.text
    assert JUSTIFICATION in report.text and RATIONALE in report.text
    csv_file = client.get(f"/commissioning/commissions/{cid}/evaluation/scores.csv")
    assert csv_file.status_code == 200 and csv_file.mimetype == "text/csv"
    assert len(csv_file.text.strip().splitlines()) == 1 + 8
    xlsx = client.get(f"/commissioning/commissions/{cid}/evaluation/scores.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"

    actions = _actions()
    for action in ("evaluation.evaluator_assigned", "evaluation.started",
                   "evaluation.conflict_declared", "evaluation.scores_saved",
                   "evaluation.scores_submitted", "evaluation.consensus_recorded",
                   "evaluation.moderation_completed", "evaluation.price_opened"):
        assert action in actions, action
    assert actions.count("evaluation.conflict_declared") == 4


# --- bad inputs ---------------------------------------------------------------------------


@pytest.fixture
def started(app):
    setup = opened(days=(10, 12))
    add_panel(setup, 2)
    return setup


@pytest.mark.parametrize("value", ["5", "-1", "x", "", "3.5", "10"])
def test_score_outside_the_scale_is_refused_and_nothing_saved(started, client, value):
    setup = started
    evaluator = setup.evaluators[1]
    declare_all(setup, evaluator)
    login_as(client, evaluator)
    data = _score_form(setup)
    data[f"score_{setup.criteria[0].id}"] = value
    page = client.post(f"/evaluation/commissions/{setup.commission.id}/bids/"
                       f"{setup.bids[0].id}/scores", data=data)
    assert page.status_code == 400
    assert "Choose a score from 0 to 4 for Methodology" in page.text
    assert "govuk-error-summary" in page.text
    assert _count(Score) == 0


def test_score_outside_the_scale_refused_by_the_database_too(started):
    from sqlalchemy.exc import IntegrityError

    setup = started
    declare_all(setup, setup.evaluators[1])
    service.save_scores(setup.evaluators[1], setup.commission, setup.bids[0], entries(setup))
    db.session.commit()
    row = db.session.scalars(select(Score)).first()
    row.score = 5
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("text, message", [
    ("", "Enter a justification for your score for Team"),
    ("   ", "Enter a justification for your score for Team"),
    ("x" * 49, "The justification for Team must be at least 50 characters"),
])
def test_missing_or_short_justification(started, client, text, message):
    setup = started
    evaluator = setup.evaluators[1]
    declare_all(setup, evaluator)
    login_as(client, evaluator)
    data = _score_form(setup)
    data[f"justification_{setup.criteria[1].id}"] = text
    page = client.post(f"/evaluation/commissions/{setup.commission.id}/bids/"
                       f"{setup.bids[0].id}/scores", data=data)
    assert page.status_code == 400
    assert message in page.text
    assert _count(Score) == 0
    # exactly the minimum is fine
    data[f"justification_{setup.criteria[1].id}"] = "y" * 50
    assert client.post(f"/evaluation/commissions/{setup.commission.id}/bids/"
                       f"{setup.bids[0].id}/scores", data=data).status_code == 302
    assert _count(Score) == 2


@pytest.mark.parametrize("app_overrides", [{"SCORE_JUSTIFICATION_MIN": 10}])
def test_justification_minimum_is_configurable(started, client):
    setup = started
    declare_all(setup, setup.evaluators[1])
    service.save_scores(setup.evaluators[1], setup.commission, setup.bids[0],
                        entries(setup, text="ten chars!"))
    db.session.commit()
    assert _count(Score) == 2


def test_scoring_before_declaring_is_forbidden(started, client):
    setup = started
    evaluator = setup.evaluators[1]
    login_as(client, evaluator)
    page = client.post(f"/evaluation/commissions/{setup.commission.id}/bids/"
                       f"{setup.bids[0].id}/scores", data=_score_form(setup))
    assert page.status_code == 403
    with pytest.raises(service.EvaluationForbidden):
        service.save_scores(evaluator, setup.commission, setup.bids[0], entries(setup))
    db.session.rollback()
    assert _count(Score) == 0


def test_declared_conflict_hides_the_bid_and_blocks_scoring(started, client):
    setup = started
    evaluator = setup.evaluators[1]
    conflicted, clear = setup.bids
    declare_all(setup, evaluator, conflict_with=[conflicted])
    cid = setup.commission.id
    login_as(client, evaluator)
    assert client.get(f"/evaluation/commissions/{cid}/bids/{conflicted.id}").status_code == 404
    assert client.get(f"/evaluation/commissions/{cid}/bids/{clear.id}").status_code == 200
    assert client.get(
        f"/evaluation/commissions/{cid}/bids/{conflicted.id}/scores").status_code == 403
    assert client.post(f"/evaluation/commissions/{cid}/bids/{conflicted.id}/scores",
                       data=_score_form(setup)).status_code == 403
    # the bid's documents are out of reach too
    document = conflicted.current_documents[0].document_id
    assert client.get(f"/documents/{document}").status_code == 404
    assert _count(Score) == 0
    # the commissioner sees it and is told
    assert db.session.scalar(select(OutboxEmail.template).where(
        OutboxEmail.template == "evaluation_conflict")) == "evaluation_conflict"
    login_as(client, setup.commissioner)
    panel = client.get(f"/commissioning/commissions/{cid}/evaluation")
    assert "I worked with this team last year." in panel.text
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "evaluation.conflict_declared")).all()
    assert [e.data["has_conflict"] for e in event] == [True, False]


def test_declaration_needs_an_answer_and_a_description_and_is_final(started, client):
    setup = started
    evaluator = setup.evaluators[1]
    bid = setup.bids[0]
    url = f"/evaluation/commissions/{setup.commission.id}/bids/{bid.id}/declaration"
    login_as(client, evaluator)
    page = client.post(url, data={})
    assert page.status_code == 400
    assert "Select whether you have a conflict of interest" in page.text
    page = client.post(url, data={"has_conflict": "yes", "description": "  "})
    assert page.status_code == 400 and "Describe the conflict of interest" in page.text
    assert _count(ConflictDeclaration) == 0
    assert client.post(url, data={"has_conflict": "no"}).status_code == 302
    assert client.post(url, data={"has_conflict": "yes", "description": "Later"}
                       ).status_code == 400
    assert _count(ConflictDeclaration) == 1
    with pytest.raises(service.EvaluationError):
        service.declare(evaluator, setup.commission, bid, True, "Changed my mind")
    db.session.rollback()


def test_moderating_before_everyone_submitted_is_refused(started, client):
    setup = started
    moderator, other = setup.evaluators
    score_all(setup, moderator)
    score_all(setup, other, submit=False)
    cid = setup.commission.id
    login_as(client, moderator)
    page = client.get(f"/evaluation/commissions/{cid}/moderation")
    assert page.status_code == 200
    assert "1 of 2 evaluators have not submitted their scores yet" in page.text
    assert JUSTIFICATION not in page.text
    bid = setup.bids[0]
    assert client.get(f"/evaluation/commissions/{cid}/moderation/bids/{bid.id}"
                      ).status_code == 302
    refused = client.post(f"/evaluation/commissions/{cid}/moderation/bids/{bid.id}",
                          data=_consensus_form(setup))
    assert refused.status_code == 400
    assert _count(ConsensusScore) == 0
    assert client.post(f"/evaluation/commissions/{cid}/moderation/complete").status_code == 302
    db.session.expire_all()
    assert setup.commission.moderated_at is None


def test_only_the_moderator_moderates(started, client):
    setup = started
    for evaluator in setup.evaluators:
        score_all(setup, evaluator)
    cid = setup.commission.id
    login_as(client, setup.evaluators[1])
    assert client.get(f"/evaluation/commissions/{cid}/moderation").status_code == 403
    assert client.post(f"/evaluation/commissions/{cid}/moderation/bids/{setup.bids[0].id}",
                       data=_consensus_form(setup)).status_code == 403
    assert client.post(f"/evaluation/commissions/{cid}/moderation/complete").status_code == 403
    assert _count(ConsensusScore) == 0


def test_consensus_needs_score_and_rationale_for_every_criterion(started, client):
    setup = started
    for evaluator in setup.evaluators:
        score_all(setup, evaluator)
    cid = setup.commission.id
    bid = setup.bids[0]
    login_as(client, setup.evaluators[0])
    page = client.post(f"/evaluation/commissions/{cid}/moderation/bids/{bid.id}",
                       data=_consensus_form(setup, (None, 9), text=""))
    assert page.status_code == 400
    for message in ("Choose a consensus score from 0 to 4 for Methodology",
                    "Choose a consensus score from 0 to 4 for Team",
                    "Enter the rationale for the consensus score for Methodology"):
        assert message in page.text
    assert _count(ConsensusScore) == 0
    # completing with a bid not moderated is refused
    client.post(f"/evaluation/commissions/{cid}/moderation/bids/{bid.id}",
                data=_consensus_form(setup))
    assert _count(ConsensusScore) == 2
    with pytest.raises(service.EvaluationError, match="every criterion of the bid from"):
        service.complete_moderation(setup.evaluators[0], setup.commission)
    db.session.rollback()


def test_opening_the_price_envelope_before_moderation_is_refused(started, client):
    setup = started
    cid = setup.commission.id
    login_as(client, setup.commissioner)
    page = client.get(f"/commissioning/commissions/{cid}/evaluation/price")
    assert page.status_code == 200
    assert "only be opened once quality moderation is complete" in page.text
    assert client.post(f"/commissioning/commissions/{cid}/evaluation/price").status_code == 302
    db.session.expire_all()
    assert setup.commission.price_opened_at is None
    with pytest.raises(service.EvaluationError, match="once quality moderation"):
        service.open_price(setup.commissioner, setup.commission)
    db.session.rollback()
    assert "evaluation.price_opened" not in _actions()


def test_submitting_with_work_missing_is_refused(started, client):
    setup = started
    evaluator = setup.evaluators[1]
    declare_all(setup, evaluator)
    service.save_scores(evaluator, setup.commission, setup.bids[0], entries(setup))
    db.session.commit()
    login_as(client, evaluator)
    page = client.post(f"/evaluation/commissions/{setup.commission.id}/submit")
    assert page.status_code == 400
    assert "Score the bid from Bidder B Ltd on every criterion" in page.text
    assert _count(EvaluatorSubmission) == 0


def test_panel_rules(app, client):
    setup = opened(days=(10, 12))
    commissioner = setup.commissioner
    cid = setup.commission.id
    login_as(client, commissioner)
    # only people with the evaluator role
    not_evaluator = make_staff("commissioner")
    page = client.post(f"/commissioning/commissions/{cid}/evaluation/evaluators",
                       data={"user_id": not_evaluator.id})
    assert page.status_code == 400
    assert "Select a person with the evaluator role" in page.text
    page = client.post(f"/commissioning/commissions/{cid}/evaluation/evaluators", data={})
    assert page.status_code == 400
    evaluators = add_panel(setup, 3, start=False)
    # one moderator at a time
    service.set_moderator(commissioner, setup.commission,
                          service.assignments(setup.commission)[2].id)
    db.session.commit()
    assert [a.is_moderator for a in service.assignments(setup.commission)] == [
        False, False, True]
    # the same person twice
    with pytest.raises(service.EvaluationError, match="already on the panel"):
        service.assign_evaluator(commissioner, setup.commission, evaluators[0].id)
    db.session.rollback()


@pytest.mark.parametrize("app_overrides", [{"EVALUATORS_MIN": 3}])
def test_minimum_panel_size_is_configurable(app):
    setup = opened(days=(10,), names=["Solo Ltd"])
    add_panel(setup, 2, start=False)
    with pytest.raises(service.EvaluationError, match="Assign at least 3 evaluators"):
        service.start_evaluation(setup.commissioner, setup.commission)
    db.session.rollback()


@pytest.mark.parametrize("app_overrides", [{"EVALUATORS_MIN": 1}])
def test_a_panel_is_never_smaller_than_two(app):
    setup = opened(days=(10,), names=["Solo Ltd"])
    add_panel(setup, 1, start=False)
    with pytest.raises(service.EvaluationError, match="Assign at least 2 evaluators"):
        service.start_evaluation(setup.commissioner, setup.commission)
    db.session.rollback()


def test_evaluation_needs_opened_bids(app, client):
    setup = opened(days=(10,), names=["Solo Ltd"], open_bids=False)
    login_as(client, setup.commissioner)
    assert client.get(f"/commissioning/commissions/{setup.commission.id}/evaluation"
                      ).status_code == 404
    evaluator = make_staff("evaluator")
    with pytest.raises(service.EvaluationError):
        service.assign_evaluator(setup.commissioner, setup.commission, evaluator.id)
    db.session.rollback()


def test_conflict_leaves_a_bid_short_until_a_replacement_scores_it(app):
    setup = opened(days=(10, 12))
    moderator, conflicted_evaluator = add_panel(setup, 2)
    conflicted_bid = setup.bids[0]
    score_all(setup, moderator)
    declare_all(setup, conflicted_evaluator, conflict_with=[conflicted_bid])
    service.save_scores(conflicted_evaluator, setup.commission, setup.bids[1], entries(setup))
    service.submit_scores(conflicted_evaluator, setup.commission)
    db.session.commit()
    problems = [m for _, m in service.moderation_problems(setup.commission)]
    assert problems == [
        "The bid from Bidder A Ltd has 1 evaluator without a conflict who submitted "
        "scores: it needs 2. Assign a replacement evaluator"]
    replacement = make_staff("evaluator", name="Rita Replacement")
    old = service.assignments(setup.commission)[1]
    service.assign_evaluator(setup.commissioner, setup.commission, replacement.id,
                             replaces_id=old.id)
    db.session.commit()
    assert db.session.scalar(select(OutboxEmail.recipient).where(
        OutboxEmail.template == "evaluation_assigned",
        OutboxEmail.recipient == replacement.email)) == replacement.email
    score_all(setup, replacement)
    assert service.moderation_problems(setup.commission) == []
    moderate(setup)
    assert setup.commission.state == CommissionState.MODERATED


def test_moderator_with_a_conflict_must_be_replaced(app):
    setup = opened(days=(10, 12))
    moderator, other, third = add_panel(setup, 3)
    declare_all(setup, moderator, conflict_with=[setup.bids[0]])
    service.save_scores(moderator, setup.commission, setup.bids[1], entries(setup))
    service.submit_scores(moderator, setup.commission)
    db.session.commit()
    score_all(setup, other)
    score_all(setup, third)
    problems = [m for _, m in service.moderation_problems(setup.commission)]
    assert problems == ["The moderator declared a conflict with Bidder A Ltd: choose "
                        "another moderator"]
    new_moderator = service.assignments(setup.commission)[1]
    service.set_moderator(setup.commissioner, setup.commission, new_moderator.id)
    db.session.commit()
    assert service.moderation_problems(setup.commission) == []
    chosen = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "evaluation.moderator_chosen").order_by(AuditEvent.sequence)).all()
    assert chosen[-1].data == {"assignment_id": new_moderator.id, "user_id": other.id}
    assert chosen[-1].actor_id == setup.commissioner.id


def test_removing_an_evaluator(app, client):
    setup = opened(days=(10,), names=["Solo Ltd"])
    _moderator, other, third = add_panel(setup, 3)
    score_all(setup, other)
    panel = service.assignments(setup.commission)
    with pytest.raises(service.EvaluationError, match="has submitted their scores"):
        service.remove_evaluator(setup.commissioner, setup.commission, panel[1].id)
    db.session.rollback()
    with pytest.raises(service.EvaluationError, match="Choose another moderator"):
        service.remove_evaluator(setup.commissioner, setup.commission, panel[0].id)
    db.session.rollback()
    login_as(client, setup.commissioner)
    assert client.post(f"/commissioning/commissions/{setup.commission.id}/evaluation/"
                       f"evaluators/{panel[2].id}/remove").status_code == 302
    db.session.expire_all()
    assert len(service.assignments(setup.commission)) == 2
    removed = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "evaluation.evaluator_removed")).one()
    assert removed.data == {"assignment_id": panel[2].id, "user_id": third.id}
    assert removed.actor_id == setup.commissioner.id
    # a removed evaluator loses access at once
    login_as(client, third)
    assert client.get(f"/evaluation/commissions/{setup.commission.id}").status_code == 404
