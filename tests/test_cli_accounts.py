"""`flask create-admin`, `flask demo-totp` and `flask seed-demo`."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import func, select

from portal import demo
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Organisation,
    OrganisationMember,
    Partnership,
    User,
    UserRole,
)
from portal.passwords import check_strength, verify_password
from tests.fixtures.users import UserFactory, make_supplier

STRONG = "Quartz-Harbour-Meadow-91"


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def _run(*args, input=None):
        # The command works in its own app context and session: let go of the SQLite
        # write lock first, and read fresh rows afterwards.
        db.session.commit()
        result = runner.invoke(args=list(args), input=input)
        db.session.expire_all()
        return result

    return _run


def user(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def counts() -> dict:
    return {
        model.__name__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (User, UserRole, Organisation, OrganisationMember, Partnership)
    }


def all_counts() -> dict:
    """Rows in every table but the audit trail (a second run records that it ran)."""
    return {
        table.name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
        for table in db.metadata.sorted_tables
        if table.name not in {"audit_events", "audit_head"}
    }


# create-admin --------------------------------------------------------------------------


def test_create_admin_from_stdin(run):
    result = run("create-admin", "--email", "Boss@Panel.example", "--name", "Bo Boss",
                 "--password-stdin", input=STRONG + "\n")
    assert result.exit_code == 0, result.output
    assert "Created admin account boss@panel.example" in result.output
    assert "authenticator app" in result.output
    admin = user("boss@panel.example")
    assert admin.is_admin
    assert admin.name == "Bo Boss"
    assert admin.email_verified_at is not None
    assert verify_password(admin.password_hash, STRONG)
    assert db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "admin.created_by_command")
    ).scalar_one()


def test_create_admin_prompts_with_confirmation(run):
    result = run("create-admin", "--email", "prompt@panel.example",
                 input=f"{STRONG}\n{STRONG}\n")
    assert result.exit_code == 0, result.output
    assert user("prompt@panel.example").is_admin
    assert user("prompt@panel.example").name == "prompt"


def test_create_admin_prompt_mismatch_asks_again(run):
    result = run("create-admin", "--email", "m@panel.example",
                 input=f"{STRONG}\nsomething else\n{STRONG}\n{STRONG}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower() or "match" in result.output.lower()


@pytest.mark.parametrize("password", ["short", "password1234", "boss@panel.example1"])
def test_create_admin_refuses_weak_passwords(run, password):
    result = run("create-admin", "--email", "boss@panel.example", "--password-stdin",
                 input=password + "\n")
    assert result.exit_code == 1
    assert "Password" in result.output
    assert user("boss@panel.example") is None


def test_create_admin_refuses_a_bad_email(run):
    result = run("create-admin", "--email", "not an email", "--password-stdin",
                 input=STRONG + "\n")
    assert result.exit_code == 1
    assert "correct format" in result.output
    assert counts()["User"] == 0


def test_create_admin_upgrades_an_existing_account(run):
    existing = UserFactory(email="staff@panel.example", name="Old Name", email_verified_at=None)
    old_token = existing.session_token
    result = run("create-admin", "--email", "staff@panel.example", "--password-stdin",
                 input=STRONG + "\n")
    assert result.exit_code == 0, result.output
    assert "Updated admin account" in result.output
    again = user("staff@panel.example")
    assert again.is_admin and again.name == "Old Name"
    assert again.email_verified_at is not None
    assert again.session_token != old_token
    # Running it again changes nothing more (still one admin role row).
    run("create-admin", "--email", "staff@panel.example", "--password-stdin",
        input=STRONG + "\n")
    assert counts()["UserRole"] == 1


def test_create_admin_refuses_a_supplier_account(run):
    make_supplier(email="supplier@firm.example")
    result = run("create-admin", "--email", "supplier@firm.example", "--password-stdin",
                 input=STRONG + "\n")
    assert result.exit_code == 1
    assert "supplier organisation" in result.output
    assert not user("supplier@firm.example").is_admin


# demo-totp ------------------------------------------------------------------------------


def test_demo_totp_refused_outside_development(app, run):
    run("seed-demo")
    assert app.config["ENV_NAME"] == "testing"
    result = run("demo-totp", "admin@panel.example")
    assert result.exit_code == 1
    assert "only works in development" in result.output
    assert not any(ch.isdigit() for ch in result.output.split("\n")[0])


def test_demo_totp_prints_the_current_code_in_development(app, run):
    run("seed-demo")
    app.config["ENV_NAME"] = "development"
    result = run("demo-totp", "admin@panel.example")
    assert result.exit_code == 0, result.output
    code = result.output.split()[0]
    secret = user("admin@panel.example").totp_secret
    assert pyotp.TOTP(secret).verify(code, valid_window=1)


def test_demo_totp_unknown_or_without_totp(app, run):
    app.config["ENV_NAME"] = "development"
    UserFactory(email="plain@example.org")
    assert run("demo-totp", "nobody@example.org").exit_code == 1
    result = run("demo-totp", "plain@example.org")
    assert result.exit_code == 1
    assert "no authenticator" in result.output


# seed-demo ------------------------------------------------------------------------------


def test_seed_demo_creates_the_demo_world_and_is_idempotent(run):
    first = run("seed-demo")
    assert first.exit_code == 0, first.output
    after_first = all_counts()
    second = run("seed-demo")
    assert second.exit_code == 0, second.output
    assert all_counts() == after_first  # every table, every step
    assert "nothing new" in second.output
    assert db.session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "demo.seeded")
    ).scalar_one() == 1

    admin = user("admin@panel.example")
    assert admin.is_admin and admin.totp_enabled_at and admin.totp_secret
    assert user("commissioner@panel.example").is_commissioner
    assert user("evaluator@panel.example").is_evaluator
    for email in ("commissioner@panel.example", "evaluator@panel.example"):
        assert user(email).totp_enabled_at is not None
    for domain in ("hartley-reviews.example", "wessex-research.example"):
        owner, member = user(f"owner@{domain}"), user(f"member@{domain}")
        assert owner.membership.role == "owner"
        assert member.membership.role == "member"
        assert owner.membership.organisation_id == member.membership.organisation_id
    assert user("partnership@leeds-lscp.example").is_approved_partnership_member
    assert user("pending@berkshirewest-lscp.example").partnership_status == "pending"
    leeds = db.session.execute(
        select(Partnership).where(Partnership.name.like("Leeds%"))
    ).scalar_one()
    assert leeds.areas == ["Leeds"]

    # Every printed sign-in exists, is verified, and its password works.
    for login in demo.logins():
        assert login.email in first.output and login.password in first.output
        account = user(login.email)
        assert account is not None, login.email
        assert account.email_verified_at is not None
        assert verify_password(account.password_hash, login.password), login.email
    assert "flask demo-totp admin@panel.example" in first.output


def test_seed_demo_if_empty_does_nothing_when_users_exist(run):
    UserFactory()
    before = counts()
    result = run("seed-demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert "already exist" in result.output
    assert "admin@panel.example" in result.output  # the sign-ins are still printed
    assert counts() == before


def test_seed_demo_if_empty_seeds_an_empty_database(run):
    result = run("seed-demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert user("admin@panel.example") is not None


def test_seed_demo_refused_in_production(app, run, monkeypatch):
    app.config["ENV_NAME"] = "production"
    monkeypatch.delenv("ALLOW_DEMO_DATA", raising=False)
    result = run("seed-demo")
    assert result.exit_code == 1
    assert counts()["User"] == 0


def test_demo_passwords_pass_the_strength_rules():
    for login in demo.logins():
        name = login.email.split("@")[0]
        assert check_strength(login.password, [login.email, name]).ok, login.password


def test_steps_can_be_added(monkeypatch):
    monkeypatch.setattr(demo, "STEPS", list(demo.STEPS))
    seen = []
    demo.register_step(demo.Step("extra", lambda ctx: seen.append(ctx) or {"things": 0}),
                       after="accounts")
    assert [s.name for s in demo.STEPS][:2] == ["accounts", "extra"]
    demo.register_step(demo.Step("extra", lambda ctx: None))
    assert [s.name for s in demo.STEPS].count("extra") == 1
