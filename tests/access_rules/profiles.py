"""Organisation details, reviewer profiles, special-category data, directory consent,
and the admin expertise list and diversity report.

Supplier pages are for supplier members (403 for everyone else); another
organisation's profile is 404. Special-category data is for owners of the profile's
organisation only: a member of the same organisation gets 403, anyone else 404.
"""

from __future__ import annotations

import io
from datetime import date

from werkzeug.datastructures import FileStorage

from portal.extensions import db
from portal.models import (
    ExpertiseTag,
    ReviewerProfile,
    ReviewerPublication,
    ReviewerRegion,
    ReviewerSensitiveData,
)
from portal.models.profiles import DOCUMENT_AREA, seed_expertise_tags
from tests.access_rules import rule

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _profile(organisation, name: str) -> int:
    profile = ReviewerProfile(
        organisation_id=organisation.id,
        name=name,
        professional_background="social_work",
        years_experience=12,
        summary="Independent reviewer.",
    )
    profile.region_links.append(ReviewerRegion(region="london"))
    profile.sensitive = ReviewerSensitiveData(
        ethnicity="white", dbs_type="enhanced", dbs_certificate_date=date(2025, 1, 6),
        dbs_update_service=True,
    )
    db.session.add(profile)
    db.session.flush()
    return profile.id


def build_world(world) -> None:
    seed_expertise_tags()
    world.profile_of_a = _profile(world.organisation_a, "Alex Reviewer")
    world.profile_of_b = _profile(world.organisation_b, "Bea Reviewer")
    world.profile_to_remove_a = _profile(world.organisation_a, "Removable Reviewer")
    world.profile_to_erase_a = _profile(world.organisation_a, "Erasable Reviewer")
    publication = ReviewerPublication(
        reviewer_id=world.profile_of_a, title="Child Q", url="https://example.org/child-q",
        year=2022, review_type="lcspr",
    )
    db.session.add(publication)
    db.session.flush()
    world.publication_of_a = publication.id
    # A CV on A's profile, stored through the upload pipeline.
    from portal.services.documents import store_upload

    cv = store_upload(
        world.people["supplier_owner_a"],
        FileStorage(stream=io.BytesIO(PDF), filename="alex-cv.pdf"),
        area=DOCUMENT_AREA,
    )
    db.session.get(ReviewerProfile, world.profile_of_a).cv_document_id = cv.id
    world.profile_cv_of_a = cv.id
    world.expertise_tag = db.session.query(ExpertiseTag).order_by(ExpertiseTag.id).first().id
    world.expertise_tag_to_retire = (
        db.session.query(ExpertiseTag).order_by(ExpertiseTag.id.desc()).first().id
    )


def _a(w):
    return {"profile_id": w.profile_of_a}


def _b(w):
    return {"profile_id": w.profile_of_b}


# Supplier pages: suppliers only. Owner of A sees A's things; member of B sees B's.
SUPPLIER = {"default": 403, "anonymous": 302}

RULES = [
    rule("profiles.details", **SUPPLIER, supplier_owner_a=200, supplier_member_b=200),
    rule("profiles.edit_details", **SUPPLIER, supplier_owner_a=200),
    # An empty form comes back with errors (200) for the owner; nothing is saved.
    rule("profiles.edit_details", "POST", **SUPPLIER, supplier_owner_a=200),
    rule("profiles.reviewers", **SUPPLIER, supplier_owner_a=200, supplier_member_b=200),
    rule("profiles.new_reviewer", **SUPPLIER, supplier_owner_a=200, supplier_member_b=200),
    rule("profiles.new_reviewer", "POST", **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=200),
    rule("profiles.reviewer", args=_a, **SUPPLIER, supplier_owner_a=200, supplier_member_b=404),
    rule("profiles.reviewer", args=_b, case="of B", **SUPPLIER, supplier_owner_a=404,
         supplier_member_b=200),
    rule("profiles.edit_reviewer", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    rule("profiles.edit_reviewer", "POST", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    rule("profiles.expertise", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    rule("profiles.expertise", args=_b, case="of B", **SUPPLIER, supplier_owner_a=404,
         supplier_member_b=200),
    rule("profiles.expertise", "POST", args=_a, data=lambda w: {"tags": [w.expertise_tag]},
         **SUPPLIER, supplier_owner_a=302, supplier_member_b=404),
    rule("profiles.competences", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    rule("profiles.competences", "POST", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    rule("profiles.add_publication", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    rule("profiles.add_publication", "POST", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    rule("profiles.remove_publication", "POST",
         args=lambda w: {"profile_id": w.profile_of_a, "publication_id": w.publication_of_a},
         **SUPPLIER, supplier_owner_a=302, supplier_member_b=404),
    rule("profiles.remove_publication", "POST", case="of A through B's profile",
         args=lambda w: {"profile_id": w.profile_of_b, "publication_id": w.publication_of_a},
         **SUPPLIER, supplier_owner_a=404, supplier_member_b=404),
    rule("profiles.remove_reviewer", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    rule("profiles.remove_reviewer", "POST",
         args=lambda w: {"profile_id": w.profile_to_remove_a},
         **SUPPLIER, supplier_owner_a=302, supplier_member_b=404),
    rule("profiles.sensitive", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    # A member (not an owner) of B may see B's profile but not its special-category data.
    rule("profiles.sensitive", args=_b, case="of B", **SUPPLIER, supplier_owner_a=404,
         supplier_member_b=403),
    rule("profiles.sensitive", "POST", args=_a, **SUPPLIER, supplier_owner_a=302,
         supplier_member_b=404, data=lambda w: {"dbs_type": "none"}),
    rule("profiles.erase_sensitive", "POST",
         args=lambda w: {"profile_id": w.profile_to_erase_a},
         **SUPPLIER, supplier_owner_a=302, supplier_member_b=404),
    rule("profiles.erase_sensitive", "POST", args=_b, case="of B",
         **SUPPLIER, supplier_owner_a=404, supplier_member_b=403),
    rule("profiles.consent", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    rule("profiles.consent", "POST", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    rule("profiles.withdraw_consent", "POST", args=_a, **SUPPLIER, supplier_owner_a=302,
         supplier_member_b=404),
    # Admin: the expertise list and the diversity report.
    rule("admin.expertise_tags", default=403, anonymous=302, admin=200),
    rule("admin.new_expertise_tag", default=403, anonymous=302, admin=200),
    rule("admin.new_expertise_tag", "POST", default=403, anonymous=302, admin=200),
    rule("admin.rename_expertise_tag", args=lambda w: {"tag_id": w.expertise_tag},
         default=403, anonymous=302, admin=200),
    rule("admin.rename_expertise_tag", "POST", args=lambda w: {"tag_id": w.expertise_tag},
         default=403, anonymous=302, admin=200),
    rule("admin.rename_expertise_tag", args=lambda w: {"tag_id": 999999}, case="unknown",
         default=403, anonymous=302, admin=404),
    rule("admin.retire_expertise_tag", "POST",
         args=lambda w: {"tag_id": w.expertise_tag_to_retire},
         default=403, anonymous=302, admin=302),
    rule("admin.restore_expertise_tag", "POST",
         args=lambda w: {"tag_id": w.expertise_tag_to_retire},
         default=403, anonymous=302, admin=302),
    rule("admin.diversity_report", default=403, anonymous=302, admin=200),
]

RULES += [
    rule("profiles.documents", args=_a, **SUPPLIER, supplier_owner_a=200,
         supplier_member_b=404),
    # No file chosen: the form comes back with an error.
    rule("profiles.documents", "POST", args=_a, data=lambda w: {"slot": "cv"}, **SUPPLIER,
         supplier_owner_a=200, supplier_member_b=404),
    # A has a CV but no sample yet: nothing to remove.
    rule("profiles.remove_document", "POST", args=lambda w: {"profile_id": w.profile_of_a,
                                                             "slot": "sample"},
         **SUPPLIER, supplier_owner_a=404, supplier_member_b=404),
    rule("profiles.remove_document", "POST", args=lambda w: {"profile_id": w.profile_of_a,
                                                             "slot": "cv"}, case="cv",
         **SUPPLIER, supplier_owner_a=302, supplier_member_b=404),

]
# Downloading the CV must be checked before the rule that removes it: put it first.
RULES.insert(0, rule("documents.download", args=lambda w: {"document_id": w.profile_cv_of_a},
                     case="reviewer CV", default=404, anonymous=302, supplier_owner_a=200,
                     commissioner=200, admin=200))
