"""Two people acting at the same moment cannot leave an organisation without an owner, or
the service without an admin: the services count under a lock (the organisation row, the
admin role rows on PostgreSQL; BEGIN IMMEDIATE on SQLite)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import OrganisationMember, User, UserRole
from portal.services import admin_users, teams
from tests.fixtures.users import OrganisationFactory, make_staff, make_supplier


def run_together(app, actions) -> list[BaseException | None]:
    """Run each action(thread_number) in its own thread, app context and session."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[BaseException | None] = [None] * len(actions)

    def worker(number: int) -> None:
        try:
            with app.test_request_context():  # e-mails carry absolute links
                barrier.wait(timeout=30)
                try:
                    actions[number]()
                    db.session.commit()
                except BaseException:
                    db.session.rollback()
                    raise
        except BaseException as exc:  # reported to the test
            outcomes[number] = exc

    db.session.commit()  # the test's session must not hold SQLite's write lock
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    db.session.expire_all()
    return outcomes


def slow(monkeypatch, module, name: str) -> None:
    """Widen the window between counting and writing, as a slow server would."""
    original = getattr(module, name)

    def slower(*args, **kwargs):
        result = original(*args, **kwargs)
        time.sleep(0.3)
        return result

    monkeypatch.setattr(module, name, slower)


def test_two_owners_stepping_down_at_once_leave_one_owner(app, monkeypatch):
    organisation = OrganisationFactory()
    first = make_supplier(organisation, role="owner")
    second = make_supplier(organisation, role="owner")
    people = [(first.id, first.membership.id), (second.id, second.membership.id)]
    slow(monkeypatch, teams, "_owner_count")

    def step_down(number):
        user_id, member_id = people[number]
        return lambda: teams.change_role(db.session.get(User, user_id), member_id, "member")

    outcomes = run_together(app, [step_down(0), step_down(1)])
    refused = [o for o in outcomes if o is not None]
    assert len(refused) == 1 and isinstance(refused[0], teams.TeamError), outcomes
    owners = db.session.execute(
        select(func.count()).select_from(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation.id,
            OrganisationMember.role == "owner",
        )
    ).scalar_one()
    assert owners == 1


def test_two_owners_leaving_at_once_leave_one_owner(app, monkeypatch):
    organisation = OrganisationFactory()
    ids = [make_supplier(organisation, role="owner").id for _ in range(2)]
    slow(monkeypatch, teams, "_owner_count")
    outcomes = run_together(
        app, [lambda i=i: teams.leave(db.session.get(User, i)) for i in ids]
    )
    assert sum(o is None for o in outcomes) == 1, outcomes
    assert db.session.execute(
        select(func.count()).select_from(OrganisationMember)
    ).scalar_one() == 1


def test_two_admins_removing_each_others_role_keep_one_admin(app, monkeypatch):
    first = make_staff("admin")
    second = make_staff("admin")
    pairs = [(first.id, second.id), (second.id, first.id)]
    slow(monkeypatch, admin_users, "_active_admin_ids")

    def remove(number):
        actor_id, target_id = pairs[number]
        return lambda: admin_users.change_roles(
            db.session.get(User, actor_id), target_id, ["commissioner"]
        )

    outcomes = run_together(app, [remove(0), remove(1)])
    refused = [o for o in outcomes if o is not None]
    assert len(refused) == 1 and isinstance(refused[0], admin_users.AdminError), outcomes
    admins = db.session.execute(
        select(func.count()).select_from(UserRole).where(UserRole.role == "admin")
    ).scalar_one()
    assert admins == 1
