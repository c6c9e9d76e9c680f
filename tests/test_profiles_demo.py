"""The demo step for reviewer profiles: at least 60 varied, valid profiles, consent for
most, organisation details completed, and idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from portal import demo
from portal.demo_profiles import seed_demo_profiles
from portal.extensions import db
from portal.models import (
    DirectoryConsent,
    Organisation,
    ReviewerProfile,
    ReviewerSensitiveData,
)


def count(model_id) -> int:
    return db.session.scalar(select(func.count(model_id)))


def test_seed_after_the_other_demo_steps(app):
    demo.seed()
    db.session.commit()
    before = count(ReviewerProfile.id)
    result = seed_demo_profiles()
    db.session.commit()
    total = count(ReviewerProfile.id)
    assert total >= 60 and result["profiles"] == total - before
    profiles = db.session.scalars(select(ReviewerProfile)).all()
    assert all(p.summary and p.regions and p.expertise and len(p.competences) == 7
               for p in profiles)
    assert len({p.name for p in profiles}) == total
    assert len({p.professional_background for p in profiles}) >= 6
    consented = count(DirectoryConsent.id)
    assert total * 0.6 <= consented < total
    assert 0 < count(ReviewerSensitiveData.reviewer_id) < total
    assert any(p.dbs_current for p in profiles) and not all(p.dbs_current for p in profiles)
    assert any(p.is_unavailable for p in profiles)
    orgs = db.session.scalars(select(Organisation)).all()
    assert all(o.details_complete for o in orgs)
    assert all(o.reviewer_profiles for o in orgs)

    # Again: nothing new.
    assert seed_demo_profiles()["profiles"] == 0
    db.session.commit()
    assert count(ReviewerProfile.id) == total
    assert count(DirectoryConsent.id) == consented
