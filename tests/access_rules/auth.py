"""Signing in, registration, account security and the staff second factor.

Decisions written down here:
- Pages for signed-out people (sign in, create an account, forgotten password, send the
  confirmation link again) redirect anyone already signed in to their home page (302).
- Links from e-mails (verify, reset password, confirm an e-mail change) work for anyone
  who holds a valid link, signed in or not; a broken or expired link gives 400.
- The second-factor pages are for staff only: 403 for everyone else, 302 to sign in when
  signed out. Staff who have already passed the second factor are sent on (302); staff
  without an authenticator app are sent from /second-factor to the set-up page.
- In this world the admin has an authenticator app set up; the other staff have not.
- The session keep-alive (the timeout warning's "Stay signed in") answers JSON to everyone
  signed in, staff before their second factor as well, and 401 to anyone signed out.
"""

from portal.models.base import utcnow
from portal.services import accounts
from tests.access_rules import rule
from tests.fixtures.users import UserFactory

SIGNED_OUT_ONLY = {"default": 302, "anonymous": 200}
SIGNED_IN_ONLY = {"default": 200, "anonymous": 302}
STAFF_ONLY = {
    "default": 403,
    "anonymous": 302,
    "commissioner": 200,
    "evaluator": 200,
    "admin": 302,  # already enrolled: sent on to /second-factor
}
SECOND_FACTOR = {"default": 403, "anonymous": 302, "commissioner": 302, "evaluator": 302,
                 "admin": 302}


def build_world(world) -> None:
    unverified = UserFactory(email="unverified@example.org", email_verified_at=None)
    world.verify_token = accounts.verification_token(unverified)
    resetting = UserFactory(email="resetting@example.org")
    world.reset_token = accounts.reset_token(resetting)
    moving = UserFactory(email="moving@example.org")
    world.email_change_token = accounts.make_token(
        accounts.CHANGE_EMAIL_PURPOSE,
        {"u": moving.id, "e": "moved@example.org", "o": accounts.fingerprint(moving.email)},
    )
    admin = world.people["admin"]
    admin.totp_secret = accounts.new_totp_secret()
    admin.totp_enabled_at = utcnow()


RULES = [
    rule("auth.sign_in", "GET", **SIGNED_OUT_ONLY),
    rule("auth.sign_in", "POST", **SIGNED_OUT_ONLY),
    rule("auth.sign_out", "POST", default=302),
    # The timeout warning's "Stay signed in": JSON, 401 (and nothing changed) signed out.
    rule("auth.session_keep_alive", "POST", default=200, anonymous=401),
    rule("auth.register", "GET", **SIGNED_OUT_ONLY),
    rule("auth.register_supplier", "GET", **SIGNED_OUT_ONLY),
    rule("auth.register_supplier", "POST", **SIGNED_OUT_ONLY),
    rule("auth.register_partnership", "GET", **SIGNED_OUT_ONLY),
    rule("auth.register_partnership", "POST", **SIGNED_OUT_ONLY),
    rule("auth.resend_verification", "GET", **SIGNED_OUT_ONLY),
    rule("auth.resend_verification", "POST", **SIGNED_OUT_ONLY),
    rule("auth.forgotten_password", "GET", **SIGNED_OUT_ONLY),
    rule("auth.forgotten_password", "POST", **SIGNED_OUT_ONLY),
    # Links from e-mails: anyone with a valid link.
    rule("auth.verify_email", "GET", default=200, args=lambda w: {"token": w.verify_token}),
    rule("auth.verify_email", "POST", default=302, args=lambda w: {"token": w.verify_token}),
    rule("auth.verify_email", "GET", default=400, args=lambda w: {"token": "forged"},
         case="forged link"),
    rule("auth.reset_password", "GET", default=200, args=lambda w: {"token": w.reset_token}),
    # No form data: the form is shown again with its errors.
    rule("auth.reset_password", "POST", default=200, args=lambda w: {"token": w.reset_token}),
    rule("auth.confirm_email_change", "GET", default=200,
         args=lambda w: {"token": w.email_change_token}),
    rule("auth.confirm_email_change", "POST", default=302,
         args=lambda w: {"token": w.email_change_token}),
    # Your account.
    rule("auth.account", "GET", **SIGNED_IN_ONLY),
    rule("auth.change_password", "GET", **SIGNED_IN_ONLY),
    rule("auth.change_password", "POST", **SIGNED_IN_ONLY),
    rule("auth.change_email", "GET", **SIGNED_IN_ONLY),
    rule("auth.change_email", "POST", **SIGNED_IN_ONLY),
    # Only staff with an authenticator app have recovery codes.
    rule("auth.recovery_codes", "GET", default=404, anonymous=302, admin=200),
    rule("auth.recovery_codes", "POST", default=404, anonymous=302, admin=200),
    # Staff second factor (the matrix signs staff in with it passed already).
    rule("auth.second_factor", "GET", **SECOND_FACTOR),
    rule("auth.second_factor", "POST", **SECOND_FACTOR),
    rule("auth.second_factor_setup", "GET", **STAFF_ONLY),
    rule("auth.second_factor_setup", "POST", **STAFF_ONLY),
]
