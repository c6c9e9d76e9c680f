"""Commission pages: commissioners run every commission (drafts included); an invited
supplier organisation sees a commission once it is published; a supplier not invited
gets 404, exactly as for a commission that does not exist; partnership members,
evaluators and admins get 403 on the commissioning pages.

The world: organisation A is an active member of category 5 and invited to an open
commission there (with a document and a question from A); B is not invited. Rules that
would change state send input the service refuses (400) or use an incomplete draft."""

from __future__ import annotations

import io
from datetime import timedelta

from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.models.base import utcnow
from tests.access_rules import rule

CATEGORY = 5


def build_world(world) -> None:
    from portal.services import clarifications, commissions
    from tests.commissions_support import make_draft

    commissioner = world.people["commissioner"]
    world.commission_draft = make_draft(commissioner, CATEGORY).id
    world.commission_incomplete = make_draft(commissioner, CATEGORY, complete=False).id
    from tests.pool_support import make_membership

    make_membership(world.organisation_a, number=CATEGORY)
    now = utcnow()
    draft = make_draft(commissioner, CATEGORY, now=now)
    file = FileStorage(stream=io.BytesIO(b"Terms and conditions\n"), filename="terms.txt")
    link = commissions.add_document(commissioner, draft, file, "Terms")
    commissions.publish(commissioner, draft, now)
    world.commission_open = draft.id
    world.commission_document = link.document_id
    world.commission_link = link.id
    question = clarifications.ask_question(
        world.people["supplier_owner_a"], draft, "What is the start date?",
        now + timedelta(seconds=1),
    )
    world.commission_question = question.id
    db.session.flush()


def _c(name):
    return lambda w: {"commission_id": getattr(w, name)}


COMMISSIONER = {"default": 403, "anonymous": 302, "commissioner": 200}
REFUSED = {**COMMISSIONER, "commissioner": 400}
REDIRECTED = {**COMMISSIONER, "commissioner": 302}
SUPPLIERS = {"default": 403, "anonymous": 302, "supplier_owner_a": 200,
             "supplier_member_b": 200}
INVITED_A = {**SUPPLIERS, "supplier_member_b": 404}

RULES = [
    # Commissioners: reading
    rule("commissions.index", **COMMISSIONER),
    rule("commissions.new", **COMMISSIONER),
    rule("commissions.overview", args=_c("commission_draft"), case="draft", **COMMISSIONER),
    rule("commissions.overview", args=_c("commission_open"), case="open", **COMMISSIONER),
    rule("commissions.overview", args=lambda w: {"commission_id": 999_999}, case="missing",
         **COMMISSIONER | {"commissioner": 404}),
    rule("commissions.details", args=_c("commission_draft"), **COMMISSIONER),
    rule("commissions.details", args=_c("commission_open"), case="published: back",
         **REDIRECTED),
    rule("commissions.criteria", args=_c("commission_draft"), **COMMISSIONER),
    rule("commissions.deadlines", args=_c("commission_draft"), **COMMISSIONER),
    rule("commissions.documents", args=_c("commission_draft"), **COMMISSIONER),
    rule("commissions.check", args=_c("commission_draft"), **COMMISSIONER),
    rule("commissions.extend", args=_c("commission_open"), **COMMISSIONER),
    rule("commissions.extend", args=_c("commission_draft"), case="draft: back",
         **REDIRECTED),
    rule("commissions.amend", args=_c("commission_open"), **COMMISSIONER),
    rule("commissions.cancel", args=_c("commission_open"), **COMMISSIONER),
    rule("commissions.answer",
         args=lambda w: {"commission_id": w.commission_open,
                         "question_id": w.commission_question}, **COMMISSIONER),
    rule("commissions.answer",
         args=lambda w: {"commission_id": w.commission_draft,
                         "question_id": w.commission_question},
         case="question of another commission", **COMMISSIONER | {"commissioner": 404}),
    # Documents of a commission: commissioners, and invited suppliers once published
    rule("documents.download", args=lambda w: {"document_id": w.commission_document},
         case="commission document", default=404, anonymous=302, supplier_owner_a=200,
         commissioner=200),
    # Suppliers: reading
    rule("commissions.opportunities", **SUPPLIERS),
    rule("commissions.opportunity", args=_c("commission_open"), **INVITED_A),
    rule("commissions.opportunity", args=_c("commission_draft"), case="draft",
         **SUPPLIERS | {"supplier_owner_a": 404, "supplier_member_b": 404}),
    rule("commissions.opportunity", args=lambda w: {"commission_id": 999_999},
         case="missing", **SUPPLIERS | {"supplier_owner_a": 404, "supplier_member_b": 404}),
    rule("commissions.ask", args=_c("commission_open"), **INVITED_A),
    # Changing, with input the service refuses (nothing changes)
    rule("commissions.new", "POST", **REFUSED),
    rule("commissions.details", "POST", args=_c("commission_draft"), **REFUSED),
    rule("commissions.criteria", "POST", args=_c("commission_draft"), **REFUSED),
    rule("commissions.deadlines", "POST", args=_c("commission_draft"), **REFUSED),
    rule("commissions.documents", "POST", args=_c("commission_draft"), **REFUSED),
    rule("commissions.remove_document", "POST",
         args=lambda w: {"commission_id": w.commission_draft, "link_id": w.commission_link},
         case="a link of another commission", **REDIRECTED),
    rule("commissions.publish", "POST", args=_c("commission_incomplete"),
         case="incomplete", **COMMISSIONER | {"commissioner": 303}),
    rule("commissions.extend", "POST", args=_c("commission_open"), **REFUSED),
    rule("commissions.amend", "POST", args=_c("commission_open"), **REFUSED),
    rule("commissions.cancel", "POST", args=_c("commission_open"), **REFUSED),
    rule("commissions.answer", "POST",
         args=lambda w: {"commission_id": w.commission_open,
                         "question_id": w.commission_question}, **REFUSED),
    rule("commissions.ask", "POST", args=_c("commission_open"),
         **INVITED_A | {"supplier_owner_a": 400}),
]
