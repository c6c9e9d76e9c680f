"""Pool pages: suppliers see only their own organisation's applications and memberships
(another organisation's is a 404), commissioners decide, anyone reads the public list.

Rules run in order against one world per role, so the pages that change state come
after the pages that read it, and withdrawing comes last."""

from __future__ import annotations

import io

from flask import current_app

from portal.extensions import db
from portal.models.pool import ApplicationStatus, seed_declaration_questions
from portal.storage import get_storage
from tests.access_rules import rule
from tests.pool_support import PDF_BYTES, category, make_application, make_membership


def build_world(world) -> None:
    seed_declaration_questions()
    app_a = make_application(
        world.organisation_a, categories=(1,), status=ApplicationStatus.DRAFT
    )
    app_b = make_application(world.organisation_b, categories=(2,))
    storage = get_storage(current_app)
    for item in app_b.evidence:
        storage.put(item.document.storage_key, io.BytesIO(PDF_BYTES), "application/pdf",
                    len(PDF_BYTES))
    membership_a = make_membership(world.organisation_a, number=3, expires_in_days=60)
    membership_b = make_membership(world.organisation_b, number=4)
    world.pool_app_a = app_a.id
    world.pool_evidence_a = app_a.evidence[0].id
    world.pool_app_b = app_b.id
    world.pool_entry_b = app_b.categories[0].id
    world.pool_document_b = app_b.evidence[0].document_id
    world.pool_membership_a = membership_a.id
    world.pool_membership_b = membership_b.id
    world.pool_category_1 = category(1).id
    db.session.flush()


def _a(w):
    return {"application_id": w.pool_app_a}


SUPPLIER = {"default": 403, "anonymous": 302}
OWN_A = {**SUPPLIER, "supplier_owner_a": 200, "supplier_member_b": 404}
COMMISSIONER = {"default": 403, "anonymous": 302, "commissioner": 200}
ADMIN = {"default": 403, "anonymous": 302, "admin": 200}

RULES = [
    # Supplier: reading
    rule("pool.apply", **SUPPLIER, supplier_owner_a=200, supplier_member_b=200),
    rule("pool.application", args=_a, **OWN_A),
    rule("pool.application", args=lambda w: {"application_id": w.pool_app_b},
         case="submitted, own for b", **SUPPLIER, supplier_owner_a=404, supplier_member_b=200),
    rule("pool.categories", args=_a, **OWN_A),
    rule("pool.declarations", args=_a, **OWN_A),
    rule("pool.evidence", args=_a, **OWN_A),
    rule("pool.check", args=_a, **OWN_A),
    rule("pool.submitted", args=lambda w: {"application_id": w.pool_app_b},
         **SUPPLIER, supplier_owner_a=404, supplier_member_b=200),
    rule("pool.withdraw", args=_a, **OWN_A),
    rule("pool.memberships", **SUPPLIER, supplier_owner_a=200, supplier_member_b=200),
    rule("pool.renew", args=lambda w: {"membership_id": w.pool_membership_a}, **OWN_A),
    rule("documents.download", args=lambda w: {"document_id": w.pool_document_b},
         case="pool evidence of b", default=404, anonymous=302, supplier_member_b=200,
         commissioner=200),
    # Supplier: changing (bad or refused input: nothing changes)
    rule("pool.start", "POST", **SUPPLIER, supplier_owner_a=302, supplier_member_b=302),
    rule("pool.categories", "POST", args=_a, data=lambda w: {"categories": w.pool_category_1},
         **OWN_A | {"supplier_owner_a": 302}),
    rule("pool.declarations", "POST", args=_a, **OWN_A | {"supplier_owner_a": 400}),
    rule("pool.evidence", "POST", args=_a, **OWN_A | {"supplier_owner_a": 400}),
    rule("pool.submit", "POST", args=_a, **OWN_A | {"supplier_owner_a": 302}),
    rule("pool.renew", "POST", args=lambda w: {"membership_id": w.pool_membership_a},
         **OWN_A | {"supplier_owner_a": 400}),
    rule("pool.remove_evidence", "POST",
         args=lambda w: {"application_id": w.pool_app_a, "evidence_id": w.pool_evidence_a},
         **OWN_A | {"supplier_owner_a": 302}),
    rule("pool.withdraw", "POST", args=_a, **OWN_A | {"supplier_owner_a": 302}),
    # Commissioners
    rule("pool.queue", **COMMISSIONER),
    rule("pool.review", args=lambda w: {"application_id": w.pool_app_b}, **COMMISSIONER),
    rule("pool.review", args=_a, case="a draft is not theirs to see",
         **COMMISSIONER | {"commissioner": 404}),
    rule("pool.decide", args=lambda w: {"application_id": w.pool_app_b,
                                        "entry_id": w.pool_entry_b}, **COMMISSIONER),
    rule("pool.decide", "POST", args=lambda w: {"application_id": w.pool_app_b,
                                                "entry_id": w.pool_entry_b},
         **COMMISSIONER | {"commissioner": 400}),
    rule("pool.members", **COMMISSIONER),
    rule("pool.member", args=lambda w: {"membership_id": w.pool_membership_b}, **COMMISSIONER),
    rule("pool.member_action",
         args=lambda w: {"membership_id": w.pool_membership_b, "action": "suspend"},
         **COMMISSIONER),
    rule("pool.member_action", "POST",
         args=lambda w: {"membership_id": w.pool_membership_b, "action": "suspend"},
         **COMMISSIONER | {"commissioner": 400}),
    # Public
    rule("pool.public_list", default=200),
    rule("pool.public_csv", default=200),
    # Admin
    rule("admin.categories", **ADMIN),
    rule("admin.category_edit", args=lambda w: {"category_id": w.pool_category_1}, **ADMIN),
    rule("admin.category_edit", "POST", args=lambda w: {"category_id": w.pool_category_1},
         **ADMIN | {"admin": 400}),
]
