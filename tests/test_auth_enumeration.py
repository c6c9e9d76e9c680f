"""Nothing tells whether an address has an account (issue 3: "same answer whether or not
the address exists", "Unknown e-mails take the same time as known ones").

Time is not measured here (timed tests are flaky; bench/bench_account_timing.py prints
the times). Instead each pair of requests is checked to do the same expensive work:
Argon2 hashes and verifications, e-mails rendered, tokens signed, audit events written.
Then the words: the fifth wrong password says the same for an address without an account
as for one with.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest

from portal import audit, create_app, passwords
from portal.extensions import db
from portal.models import User
from portal.models.base import utcnow
from portal.services import accounts
from tests.auth_helpers import STRONG, audit_actions, outbox, sign_in_with_password
from tests.fixtures.users import DEFAULT_PASSWORD, PartnershipFactory, make_supplier


@pytest.fixture
def app_overrides():
    # Rate limiting on (the sign-in answer depends on its count), with room for the
    # requests of every test here; the per-address sign-in limit well above the lock.
    return {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SIGN_IN_RATE_LIMIT": "100 per minute",
        "SIGN_IN_EMAIL_RATE_LIMIT": "20 per hour",
        "REGISTER_RATE_LIMIT": "100 per minute",
        "REGISTER_EMAIL_RATE_LIMIT": "100 per minute",
        "RESET_RATE_LIMIT": "100 per minute",
        "RESET_EMAIL_RATE_LIMIT": "100 per minute",
    }


class _CountingHasher:
    """An argon2 PasswordHasher that counts its calls (the real one has __slots__)."""

    def __init__(self, real, counts: Counter):
        self._real = real
        self._counts = counts

    def hash(self, *args, **kwargs):
        self._counts["argon2 hash"] += 1
        return self._real.hash(*args, **kwargs)

    def verify(self, *args, **kwargs):
        self._counts["argon2 verify"] += 1
        return self._real.verify(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.fixture
def work(app, monkeypatch) -> Callable[[Callable[[], object]], Counter]:
    """work(fn): what fn made happen, as counts of the expensive steps."""
    counts: Counter = Counter()
    profile = app.config["PASSWORD_HASH_PROFILE"]
    monkeypatch.setitem(passwords._HASHERS, profile,
                        _CountingHasher(passwords._HASHERS[profile], counts))

    def counting(name, real):
        def spy(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)
        return spy

    monkeypatch.setattr(accounts, "queue_email", counting("e-mail rendered", accounts.queue_email))
    monkeypatch.setattr(accounts, "make_token", counting("token signed", accounts.make_token))
    monkeypatch.setattr(audit, "record", counting("audit event", audit.record))

    def measure(fn: Callable[[], object]) -> Counter:
        counts.clear()
        fn()
        return +counts  # without zero counts

    return measure


# ----------------------------------------------------------------------------- the work


def test_dummy_hash_is_made_when_the_app_starts(monkeypatch, database_url):
    """Not on the first sign-in with an unknown address, which would then be slower."""
    monkeypatch.setattr(passwords, "_DUMMY_HASHES", {})
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    assert set(passwords._DUMMY_HASHES) == {app.config["PASSWORD_HASH_PROFILE"]}
    dummy = passwords._DUMMY_HASHES["cheapest"]
    assert dummy.startswith("$argon2id$v=19$m=8,t=1,p=1$")  # made with the profile in use
    create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    assert passwords._DUMMY_HASHES["cheapest"] == dummy  # once per process


def test_first_unknown_sign_in_verifies_and_hashes_nothing(work, client):
    assert work(lambda: sign_in_with_password(client, "nobody@example.org", "a password")) \
        == {"argon2 verify": 1, "audit event": 1}


def test_sign_in_same_work_known_or_not(work, client):
    make_supplier(email="sam@example.org")
    known = work(lambda: sign_in_with_password(client, "sam@example.org", "wrong password"))
    unknown = work(lambda: sign_in_with_password(client, "nobody@example.org",
                                                 "wrong password"))
    assert known["argon2 verify"] == unknown["argon2 verify"] == 1
    assert known["argon2 hash"] == unknown["argon2 hash"] == 0


def test_sign_in_on_a_locked_account_still_verifies(work, client):
    make_supplier(email="sam@example.org", locked_until=utcnow() + timedelta(minutes=10))
    locked = work(lambda: sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD))
    assert locked == {"argon2 verify": 1}


def _supplier(client, email):
    return client.post("/create-account/supplier", data={
        "name": "Ann Smith", "email": email, "organisation_name": "Smith Reviews Ltd",
        "password": STRONG, "confirm": STRONG,
    })


def _partnership(client, email, partnership_id):
    return client.post("/create-account/partnership", data={
        "name": "Pat Jones", "email": email, "partnership_id": str(partnership_id),
        "password": STRONG, "confirm": STRONG,
    })


def test_supplier_registration_hashes_the_password_either_way(work, client):
    """The Argon2 hash was all the difference (0.04 s against 0.45 s)."""
    make_supplier(email="taken@example.org")
    taken = work(lambda: _supplier(client, "taken@example.org"))
    new = work(lambda: _supplier(client, "new@example.org"))
    assert taken["argon2 hash"] == new["argon2 hash"] == 1
    assert taken["e-mail rendered"] == new["e-mail rendered"] == 1
    assert [m.template for m in outbox()] == ["account_exists", "verify_email"]
    assert db.session.query(User).filter_by(email="taken@example.org").count() == 1


def test_partnership_registration_hashes_the_password_either_way(work, client):
    make_supplier(email="taken@example.org")
    partnership_id = PartnershipFactory().id
    taken = work(lambda: _partnership(client, "taken@example.org", partnership_id))
    new = work(lambda: _partnership(client, "new@example.org", partnership_id))
    assert taken["argon2 hash"] == new["argon2 hash"] == 1
    assert taken["e-mail rendered"] == new["e-mail rendered"] == 1
    for response in (_partnership(client, "taken@example.org", partnership_id),
                     _partnership(client, "other@example.org", partnership_id)):
        assert "Check your email" in response.text


@pytest.mark.parametrize("who", ["deactivated", "unknown"])
def test_forgotten_password_same_work(work, client, who):
    make_supplier(email="sam@example.org")
    if who == "deactivated":
        make_supplier(email="gone@example.org", deactivated_at=utcnow())
    other = "gone@example.org" if who == "deactivated" else "nobody@example.org"
    known = work(lambda: client.post("/forgotten-password", data={"email": "sam@example.org"}))
    without = work(lambda: client.post("/forgotten-password", data={"email": other}))
    assert known == without == {"e-mail rendered": 1, "token signed": 1, "audit event": 1}
    # ... but only the known address is sent anything.
    assert [(m.recipient, m.template) for m in outbox()] == [
        ("sam@example.org", "reset_password")]


def test_resend_confirmation_same_work(work, client):
    make_supplier(email="new@example.org", email_verified_at=None)
    make_supplier(email="done@example.org")
    unverified = work(lambda: client.post("/send-confirmation-link",
                                          data={"email": "new@example.org"}))
    for address in ("done@example.org", "nobody@example.org"):
        assert work(lambda a=address: client.post("/send-confirmation-link",
                                                  data={"email": a})) == unverified
    assert unverified == {"e-mail rendered": 1, "token signed": 1, "audit event": 1}
    assert [(m.recipient, m.template) for m in outbox()] == [
        ("new@example.org", "verify_email")]
    events = audit_actions("auth.verification_resent")
    assert [e.data for e in events] == [{}, {"reason": "no_unverified_account"},
                                        {"reason": "no_unverified_account"}]
    assert events[0].actor_id is not None and events[1].actor_id is None


def test_change_email_same_work_whether_the_new_address_is_taken(work, client, sign_in):
    make_supplier(email="taken@example.org")
    sign_in(make_supplier(email="me@example.org"))

    def change(address):
        return client.post("/account/email", data={"email": address,
                                                   "current_password": DEFAULT_PASSWORD})

    taken = work(lambda: change("taken@example.org"))
    free = work(lambda: change("free@example.org"))
    assert taken == free == {"argon2 verify": 1, "token signed": 1, "e-mail rendered": 2,
                             "audit event": 1}
    assert change("taken@example.org").text.count("Check your email") == \
        change("free@example.org").text.count("Check your email") > 0


# ---------------------------------------------------------------------------- the words


def _answer(response) -> str:
    """The error the sign-in page gives, without the page around it."""
    assert response.status_code == 200
    found = re.search(r'<p id="email-error" class="govuk-error-message">(.*?)</p>',
                      response.text, re.S)
    assert found, "no error on the e-mail field"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_the_fifth_wrong_password_says_the_same_with_or_without_an_account(client):
    make_supplier(email="sam@example.org")
    known, unknown = [], []
    for _ in range(7):
        known.append(_answer(sign_in_with_password(client, "sam@example.org", "wrong one")))
        unknown.append(_answer(sign_in_with_password(client, "nobody@example.org",
                                                     "wrong one")))
    assert known == unknown
    assert all("Enter a correct email address and password" in a for a in known[:4])
    assert all("too many times" in a and "Wait 15 minutes" in a for a in known[4:])
    assert len(audit_actions("auth.locked")) == 1  # the account did lock, at the fifth

    # While locked, the right password gets that answer too: no hint it was right.
    right = _answer(sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD))
    assert right == known[-1]
    assert client.get("/home").status_code == 302


def test_the_answer_follows_the_count_per_address_not_the_account(client):
    """An account locked by failures elsewhere (a wrong current password, say) while
    this address has had few sign-in attempts: the first answer, as for any address."""
    make_supplier(email="sam@example.org", locked_until=utcnow() + timedelta(minutes=10))
    assert _answer(sign_in_with_password(client, "sam@example.org", DEFAULT_PASSWORD)) == \
        _answer(sign_in_with_password(client, "nobody@example.org", DEFAULT_PASSWORD)) == \
        "Error: Enter a correct email address and password"
    assert client.get("/home").status_code == 302
