"""The supplier journey: the task list from start to submit, and bad input on each form."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.outbox import OutboxEmail
from portal.models.pool import (
    ApplicationEvidence,
    DeclarationAnswer,
    PoolApplication,
    seed_declaration_questions,
)
from tests.fixtures.users import OrganisationFactory, make_supplier
from tests.pool_support import (
    category,
    complete_details,
    passing_answers_form,
    pdf_upload,
)


@pytest.fixture(autouse=True)
def questions(app):
    seed_declaration_questions()
    db.session.commit()


@pytest.fixture
def owner(sign_in):
    organisation = OrganisationFactory()
    complete_details(organisation)
    user = make_supplier(organisation, role="owner")
    sign_in(user)
    return user


def start(client) -> PoolApplication:
    response = client.post("/pool/apply")
    assert response.status_code == 302
    return db.session.scalars(select(PoolApplication)).one()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_full_journey_to_submission(client, owner):
    page = client.get("/pool/apply")
    assert page.status_code == 200
    assert b"Start an application" in page.data

    application = start(client)
    task_list = client.get(f"/pool/apply/{application.id}")
    assert task_list.status_code == 200
    assert b"Choose service categories" in task_list.data
    assert b"Cannot start yet" in task_list.data

    c1, c3 = category(1), category(3)
    response = client.post(
        f"/pool/apply/{application.id}/categories", data={"categories": [c1.id, c3.id]}
    )
    assert response.status_code == 302
    assert {c.category_id for c in application.categories} == {c1.id, c3.id}

    form = client.get(f"/pool/apply/{application.id}/declarations")
    assert form.status_code == 200
    assert b"Mandatory grounds for exclusion" in form.data
    response = client.post(
        f"/pool/apply/{application.id}/declarations", data=passing_answers_form()
    )
    assert response.status_code == 302, response.data
    assert count(DeclarationAnswer) == 13
    assert {a.assessment for a in application.answers} == {"pass"}

    for c in (c1, c3):
        for kind in ("cv", "sample"):
            response = client.post(
                f"/pool/apply/{application.id}/evidence",
                data={"category": c.id, "kind": kind, "description": f"{kind} {c.number}",
                      "file": pdf_upload(f"{kind}.pdf")},
                content_type="multipart/form-data",
            )
            assert response.status_code == 302, response.data
    assert count(ApplicationEvidence) == 4

    check = client.get(f"/pool/apply/{application.id}/check")
    assert check.status_code == 200
    assert b"Accept and send" in check.data

    response = client.post(f"/pool/apply/{application.id}/submit")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/pool/apply/{application.id}/submitted")
    db.session.refresh(application)
    assert application.status == "submitted"
    assert application.submitted_at is not None
    confirmation = client.get(f"/pool/apply/{application.id}/submitted")
    assert application.reference.encode() in confirmation.data
    mail = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.template == "pool_submitted")
    ).all()
    assert [m.recipient for m in mail] == [owner.email]
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"pool_application.started", "pool_application.categories_saved",
            "pool_application.declarations_saved", "pool_application.evidence_added",
            "pool_application.submitted"} <= actions
    # Once submitted the pages no longer change it.
    response = client.post(
        f"/pool/apply/{application.id}/categories", data={"categories": [c1.id]}
    )
    assert response.status_code == 302
    assert len(application.categories) == 2
