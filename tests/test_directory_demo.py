"""The directory's demo step, after the accounts, pool and profiles steps."""

from __future__ import annotations

from sqlalchemy import select

from portal.demo import DemoContext, seed_accounts
from portal.demo_directory import seed_demo_directory
from portal.extensions import db
from portal.models import Enquiry, Shortlist
from portal.search import SearchParams, search


def test_demo_directory_is_worth_trying_and_idempotent(app):
    from portal.demo_pool import seed_demo_pool
    from portal.demo_profiles import seed_demo_profiles

    ctx = DemoContext()
    seed_accounts(ctx)
    seed_demo_pool(commissioner=ctx.users.get("commissioner"),
                   password_hash=ctx.password_hash("supplier"))
    seed_demo_profiles()
    first = seed_demo_directory()
    db.session.commit()
    assert first["shortlists"] == 1 and first["enquiries"] == 1
    result = search(SearchParams(per_page=50))
    # Consented reviewers of active pool members only: issue 7 asks for at least 60.
    assert result.total >= 60
    assert search(SearchParams(text="neglect")).total >= 3
    again = seed_demo_directory()
    db.session.commit()
    assert again["shortlists"] == 0 and again["enquiries"] == 0
    assert db.session.scalar(select(db.func.count(Shortlist.id))) == 1
    enquiry = db.session.scalar(select(Enquiry))
    assert [m.side for m in enquiry.messages] == ["partnership", "reviewer"]


def test_reindex_command_and_navigation(app, client, sign_in):
    from tests.directory_support import reviewer
    from tests.fixtures.users import make_partnership_member, make_supplier

    profile = reviewer("Ada Achebe")
    db.session.execute(db.text("DELETE FROM directory_search_documents"))
    db.session.commit()
    assert search(SearchParams(text="achebe")).total == 0
    result = app.test_cli_runner().invoke(args=["directory", "reindex"])
    assert result.exit_code == 0, result.output
    assert "profile(s) indexed" in result.output
    assert search(SearchParams(text="achebe")).total == 1
    sign_in(make_partnership_member())
    page = client.get("/directory/enquiries").text
    assert 'href="/directory"' in page and "Find a reviewer" in page
    sign_in(make_supplier(profile.organisation))
    page = client.get("/directory/enquiries").text
    assert "Find a reviewer" not in page and "Enquiries" in page
