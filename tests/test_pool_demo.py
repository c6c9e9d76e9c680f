"""The demo pool step of `flask seed-demo`."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.demo_pool import seed_demo_pool
from portal.extensions import db
from portal.models.pool import PoolApplication, PoolMembership


def test_demo_pool_is_realistic_and_idempotent(client, app):
    counts = seed_demo_pool()
    db.session.commit()
    assert counts == {"members": 6, "waiting": 3, "changes_requested": 1, "suspended": 1}
    active = db.session.scalars(
        select(PoolMembership.category_id).where(PoolMembership.status == "active")
    ).all()
    assert len(set(active)) == 5
    assert db.session.scalar(
        select(func.count()).select_from(PoolApplication)
        .where(PoolApplication.status == "submitted")
    ) == 3
    assert seed_demo_pool() == {"members": 0, "waiting": 0, "changes_requested": 0,
                                "suspended": 0}
    db.session.commit()
    page = client.get("/pool")
    assert b"6 members" in page.data
    assert b"Harbour Consulting" not in page.data
