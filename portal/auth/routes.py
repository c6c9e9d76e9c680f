"""Signing in and out, registration, e-mail verification, passwords, the account page
and the staff second factor. Thin: parse the form, call one service, commit once."""

from __future__ import annotations

import contextlib
import hashlib
import io

import pyotp
import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from markupsafe import Markup

from portal import crypto
from portal.access import mark_second_factor_passed, second_factor_passed
from portal.auth import forms
from portal.extensions import db, limiter, login_manager
from portal.login import (
    SIGNED_IN_AT,
    end_session,
    enforce_session_rules,
    keep_session_alive,
    safe_next,
    session_timing,
    start_session,
)
from portal.services import accounts
from portal.services.accounts import (
    AccountError,
    LinkInvalid,
    SecondFactorStatus,
    SignInStatus,
)

bp = Blueprint("auth", __name__)
bp.before_app_request(enforce_session_rules)
# base.html renders the timeout warning from this (seconds left, warning time).
bp.add_app_template_global(session_timing, "session_timing")

PENDING_TOTP_KEY = "totp_pending_secret"


# ------------------------------------------------------------------------ rate limits


def _address_key() -> str:
    """The address a POST is about: the e-mail typed into the form or, on a link made for
    one address (a team invitation), that link's token, digested so that no usable token
    sits in the limiter's storage. Without either, the client IP."""
    email = accounts.normalise_email(request.form.get("email", ""))
    if email:
        return f"email:{email}"
    token = (request.view_args or {}).get("token")
    if isinstance(token, str) and token:
        return "link:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return get_remote_address()


# Flask-Limiter counts a limit with this scope under "<endpoint>:email".
ADDRESS_SCOPE = "email"


def limit_per_ip(config_key: str):
    """Per client IP, POST only; the limit string comes from the configuration."""
    return limiter.limit(lambda: current_app.config[config_key], methods=["POST"])


def limit_per_address(config_key: str):
    """Per e-mail address the POST is about (see _address_key), POST only."""
    return limiter.limit(
        lambda: current_app.config[config_key],
        key_func=_address_key,
        methods=["POST"],
        scope=ADDRESS_SCOPE,
    )


def registration_limits():
    """The limits on making an account: REGISTER_RATE_LIMIT per IP and
    REGISTER_EMAIL_RATE_LIMIT per address. Also on teams.invitation (joining by
    invitation makes an account; the address is the one the invitation was sent to)."""
    per_ip = limit_per_ip("REGISTER_RATE_LIMIT")
    per_address = limit_per_address("REGISTER_EMAIL_RATE_LIMIT")
    return lambda view: per_ip(per_address(view))


def _attempts_on_this_address() -> int:
    """How many POSTs the per-address limit of this page has counted for the address in
    this request's form, this one included, in its current window (the most over its
    windows if the setting has several); 0 when rate limiting is off."""
    scope = f"{request.endpoint}:{ADDRESS_SCOPE}"
    return max(
        (counted.limit.amount - counted.remaining for counted in limiter.current_limits
         if counted.request_args and counted.request_args[-1] == scope),
        default=0,
    )


# ---------------------------------------------------------------------------- helpers


def _me():
    """The signed-in user itself, not Flask-Login's proxy (services want the model)."""
    return current_user._get_current_object()


def _home() -> str:
    return url_for("main.dashboard")


def _redirect_signed_in():
    return redirect(safe_next(request.args.get("next"), _home()))


def _form_error(form, field_name: str | None, message: str) -> None:
    field = getattr(form, field_name, None) if field_name else None
    if field is None:
        # The error summary lists every field's errors; attach to the first field.
        field = next(iter(form))
    field.errors = [*list(field.errors or []), message]


def _link_invalid(error: LinkInvalid, what: str):
    return render_template("auth/link_invalid.html", expired=error.expired, what=what), 400


def _check_email_page(heading: str, message: str):
    return render_template("auth/check_email.html", heading=heading, message=message)


# ---------------------------------------------------------------------------- sign in


@bp.route("/sign-in", methods=["GET", "POST"])
@limit_per_ip("SIGN_IN_RATE_LIMIT")
@limit_per_address("SIGN_IN_EMAIL_RATE_LIMIT")
def sign_in():
    if current_user.is_authenticated:
        return _redirect_signed_in()
    form = forms.SignInForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"), "")
    unverified = False
    if form.validate_on_submit():
        result = accounts.sign_in(form.email.data, form.password.data)
        db.session.commit()  # failed attempts and locks are kept as well
        target = safe_next(form.next.data)
        if result.status == SignInStatus.OK:
            user = result.user
            start_session(user)
            if user.is_staff:
                return redirect(url_for("auth.second_factor", next=target))
            if user.partnership_status == "pending":
                flash("A panel administrator has not approved your account yet. We will "
                      "email you when they have.", "info")
            return redirect(target or _home())
        if result.status == SignInStatus.UNVERIFIED:
            unverified = True
        elif result.status == SignInStatus.DEACTIVATED:
            _form_error(form, "email", "Your account has been deactivated. Contact the "
                        "Child Safeguarding Practice Review Panel if you think this is wrong.")
        else:
            _form_error(form, "email", _refused_message())
    return render_template("auth/sign_in.html", form=form, unverified=unverified)


def _refused_message() -> str:
    """For a wrong password, an unknown address and a locked account alike. Saying
    "locked" when the account locks would tell that the address has an account (an
    unknown address never locks: nothing is kept about it). So the words depend only on
    what the per-address rate limit has counted for the address, which is the same
    whether or not it has an account: from the LOCKOUT_THRESHOLD-th attempt in its
    window on, everyone is told to wait. The lock itself still holds, whatever is said;
    with rate limiting off, the message is always the first one."""
    if _attempts_on_this_address() >= current_app.config.get("LOCKOUT_THRESHOLD", 5):
        minutes = current_app.config.get("LOCKOUT_MINUTES", 15)
        return ("You have entered incorrect details too many times. "
                f"Wait {minutes} minutes and try again, or reset your password.")
    return "Enter a correct email address and password"


@bp.post("/sign-out")
def sign_out():
    if current_user.is_authenticated:
        # A new token means a copy of the old session cookie no longer loads anyone.
        accounts.sign_out(_me())
        db.session.commit()
    end_session()
    flash("You have signed out.", "success")
    return redirect(url_for("main.index"))


@bp.post("/session/keep-alive")
def session_keep_alive():
    """The timeout warning's "Stay signed in". enforce_session_rules has already signed
    out a session that timed out (401 here; the page then goes to sign in). Not audited:
    it changes no object, only this session's idle clock, as opening any page does."""
    timing = keep_session_alive()
    if timing is None:
        return {"signed_in": False, "seconds_left": 0}, 401
    return {"signed_in": True, **timing}


# ----------------------------------------------------------------------- registration


@bp.get("/create-account")
def register():
    if current_user.is_authenticated:
        return _redirect_signed_in()
    return render_template("auth/register_start.html")


def _registered_page(email: str):
    return _check_email_page(
        "Check your email",
        f"We have sent a link to {email}. Follow it within 24 hours to confirm your email "
        "address, then sign in. If you already have an account, we have emailed you about "
        "that instead.",
    )


@bp.route("/create-account/supplier", methods=["GET", "POST"])
@registration_limits()
def register_supplier():
    if current_user.is_authenticated:
        return _redirect_signed_in()
    form = forms.SupplierRegistrationForm()
    if form.validate_on_submit():
        try:
            accounts.register_supplier(
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                organisation_name=form.organisation_name.data,
            )
        except AccountError as error:
            db.session.rollback()
            _form_error(form, error.field, error.message)
        else:
            db.session.commit()
            return _registered_page(accounts.normalise_email(form.email.data))
    return render_template("auth/register_supplier.html", form=form)


@bp.route("/create-account/partnership", methods=["GET", "POST"])
@registration_limits()
def register_partnership():
    if current_user.is_authenticated:
        return _redirect_signed_in()
    form = forms.PartnershipRegistrationForm()
    form.set_partnerships(accounts.active_partnerships())
    if form.validate_on_submit():
        try:
            accounts.register_partnership_member(
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                partnership_id=int(form.partnership_id.data),
            )
        except AccountError as error:
            db.session.rollback()
            _form_error(form, error.field, error.message)
        else:
            db.session.commit()
            return _registered_page(accounts.normalise_email(form.email.data))
    return render_template("auth/register_partnership.html", form=form)


# ------------------------------------------------------------------ e-mail verification


@bp.route("/verify-email/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    try:
        user = accounts.user_for_verification(token)
    except LinkInvalid as error:
        return _link_invalid(error, "verify")
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        accounts.verify_email(token)
        db.session.commit()
        flash("Your email address is confirmed. You can now sign in.", "success")
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/verify_email.html", form=form, user=user,
                           already=user.email_verified_at is not None)


@bp.route("/send-confirmation-link", methods=["GET", "POST"])
@limit_per_ip("RESET_RATE_LIMIT")
@limit_per_address("RESET_EMAIL_RATE_LIMIT")
def resend_verification():
    if current_user.is_authenticated:
        return _redirect_signed_in()
    form = forms.EmailOnlyForm()
    if form.validate_on_submit():
        accounts.resend_verification(form.email.data)
        db.session.commit()
        return _check_email_page(
            "Check your email",
            "If there is an account for that address that still needs confirming, we have "
            "sent a new link to it. The link works for 24 hours.",
        )
    return render_template(
        "auth/email_form.html",
        form=form,
        title="Send the confirmation link again",
        intro="Enter the email address you created your account with. We will send a "
        "new link to confirm it.",
    )


# -------------------------------------------------------------------------- passwords


@bp.route("/forgotten-password", methods=["GET", "POST"])
@limit_per_ip("RESET_RATE_LIMIT")
@limit_per_address("RESET_EMAIL_RATE_LIMIT")
def forgotten_password():
    if current_user.is_authenticated:
        return _redirect_signed_in()
    form = forms.EmailOnlyForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        db.session.commit()
        return _check_email_page(
            "Check your email",
            "If there is an account for that address, we have sent it a link to reset the "
            "password. The link works once, for 1 hour.",
        )
    return render_template(
        "auth/email_form.html",
        form=form,
        title="Reset your password",
        intro="Enter the email address you use to sign in. We will send you a link to "
        "create a new password.",
    )


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limit_per_ip("RESET_RATE_LIMIT")
def reset_password(token: str):
    try:
        user = accounts.user_for_reset(token)
    except LinkInvalid as error:
        return _link_invalid(error, "reset")
    form = forms.ResetPasswordForm()
    form.extra_inputs = [user.email, user.name]
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except LinkInvalid as error:
            db.session.rollback()
            return _link_invalid(error, "reset")
        except AccountError as error:
            db.session.rollback()
            _form_error(form, error.field, error.message)
        else:
            db.session.commit()
            end_session()
            flash("Your password has been reset. Sign in with your new password.", "success")
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_password.html", form=form)


# ------------------------------------------------------------------------ your account


@bp.get("/account")
@login_required
def account():
    recovery_left = None
    if current_user.is_staff and current_user.totp_enabled_at:
        recovery_left = accounts.recovery_codes_left(_me())
    return render_template("auth/account.html", user=current_user,
                           recovery_left=recovery_left)


def _restart_session_after_token_change(was_second_factor_passed: bool) -> None:
    """The service rotated the session token (ending every other session); keep this one
    going with the new token, without resetting its absolute timeout."""
    signed_in_at = session.get(SIGNED_IN_AT)
    start_session(_me(), keep_signed_in_at=signed_in_at,
                  second_factor=was_second_factor_passed)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = forms.ChangePasswordForm()
    form.extra_inputs = [current_user.email, current_user.name]
    if form.validate_on_submit():
        passed = second_factor_passed(current_user)
        try:
            accounts.change_password(_me(), form.current_password.data,
                                     form.password.data)
        except AccountError as error:
            db.session.commit()  # keeps the count of wrong current passwords
            _form_error(form, error.field, error.message)
        else:
            db.session.commit()
            _restart_session_after_token_change(passed)
            flash("Your password has been changed. You have been signed out everywhere else.",
                  "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
def change_email():
    form = forms.ChangeEmailForm()
    if form.validate_on_submit():
        try:
            accounts.request_email_change(_me(), form.current_password.data,
                                          form.email.data)
        except AccountError as error:
            db.session.commit()  # keeps the count of wrong passwords
            _form_error(form, error.field, error.message)
        else:
            db.session.commit()
            return _check_email_page(
                "Check your email",
                f"We have sent a link to {accounts.normalise_email(form.email.data)}. "
                "Follow it within 24 hours to confirm the change. Until then, keep using "
                "your current email address.",
            )
    return render_template("auth/change_email.html", form=form)


@bp.route("/account/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str):
    try:
        user, new_email = accounts.email_change_for(token)
    except LinkInvalid as error:
        return _link_invalid(error, "change_email")
    form = forms.ConfirmForm()
    error_message = None
    if form.validate_on_submit():
        try:
            accounts.confirm_email_change(token)
        except AccountError as error:
            db.session.rollback()
            error_message = error.message
        else:
            db.session.commit()
            flash(f"Your email address is now {new_email}.", "success")
            if current_user.is_authenticated and current_user.id == user.id:
                return redirect(url_for("auth.account"))
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/confirm_email_change.html", form=form, new_email=new_email,
                           error_message=error_message)


@bp.route("/account/recovery-codes", methods=["GET", "POST"])
@login_required
def recovery_codes():
    if not current_user.is_staff or current_user.totp_enabled_at is None:
        abort(404)
    if not second_factor_passed(current_user):
        return redirect(url_for("auth.second_factor", next=url_for("auth.recovery_codes")))
    form = forms.RecoveryCodesForm()
    if form.validate_on_submit():
        try:
            codes = accounts.regenerate_recovery_codes(_me(), form.current_password.data)
        except AccountError as error:
            db.session.commit()
            _form_error(form, error.field or "current_password", error.message)
        else:
            db.session.commit()
            return render_template("auth/recovery_codes.html", codes=codes,
                                   continue_url=url_for("auth.account"), new=True)
    return render_template("auth/regenerate_recovery_codes.html", form=form)


# ---------------------------------------------------------------- staff second factor


def _staff_only():
    """None to carry on, or the response for someone who has no business here."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_staff:
        abort(403)
    return None


@bp.route("/second-factor", methods=["GET", "POST"])
@limit_per_ip("SECOND_FACTOR_RATE_LIMIT")
def second_factor():
    refused = _staff_only()
    if refused is not None:
        return refused
    target = safe_next(request.values.get("next"))
    if second_factor_passed(current_user):
        return redirect(target or _home())
    if current_user.totp_enabled_at is None:
        return redirect(url_for("auth.second_factor_setup", next=target))
    form = forms.SecondFactorForm()
    if request.method == "GET":
        form.next.data = target or ""
    if form.validate_on_submit():
        result = accounts.verify_second_factor(_me(), form.code.data)
        db.session.commit()
        if result.status == SecondFactorStatus.OK:
            mark_second_factor_passed(current_user)
            if result.used_recovery_code:
                flash(
                    f"You used a recovery code. It will not work again. You have "
                    f"{result.recovery_codes_left} left: create new ones from your account "
                    "page if you are running low.",
                    "info",
                )
            return redirect(target or _home())
        if result.status == SecondFactorStatus.LOCKED:
            end_session()
            minutes = current_app.config.get("LOCKOUT_MINUTES", 15)
            flash(f"You have entered incorrect codes too many times. Your account is locked "
                  f"for {minutes} minutes.", "info")
            return redirect(url_for("auth.sign_in"))
        if result.status == SecondFactorStatus.REUSED:
            _form_error(form, "code", "That code has already been used. Wait for your app "
                        "to show a new code and enter that")
        else:
            _form_error(form, "code", "The code is not correct. Enter the 6-digit code from "
                        "your authenticator app, or a recovery code")
    return render_template("auth/second_factor.html", form=form)


def _qr_svg(uri: str) -> Markup:
    """The enrolment QR code as inline SVG: no script, no style attribute (CSP-safe).
    Made by us from the provisioning URI, so marking it safe is sound."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer, kind="svg", xmldecl=False, svgns=True, scale=5, border=4,
        dark="#0b0c0c", light="#ffffff", svgclass="app-qr-code", lineclass=None,
    )
    return Markup(buffer.getvalue().decode("ascii"))  # noqa: S704


def _pending_secret() -> str:
    """The seed being enrolled, kept in the session until the first code proves it. The
    session is a signed cookie anyone holding it can read, so the seed travels encrypted
    as stored seeds are (DATA_ENCRYPTION_KEYS)."""
    stored = session.get(PENDING_TOTP_KEY)
    if isinstance(stored, str):
        with contextlib.suppress(crypto.DecryptionError, ValueError, TypeError):
            secret = crypto.decrypt(stored)  # damaged or from a retired key: start again
            if len(secret) == 32 and pyotp.TOTP(secret).now():
                return secret
    secret = accounts.new_totp_secret()
    session[PENDING_TOTP_KEY] = crypto.encrypt(secret)
    return secret


@bp.route("/second-factor/set-up", methods=["GET", "POST"])
@limit_per_ip("SECOND_FACTOR_RATE_LIMIT")
def second_factor_setup():
    refused = _staff_only()
    if refused is not None:
        return refused
    target = safe_next(request.values.get("next"))
    if current_user.totp_enabled_at is not None:
        return redirect(url_for("auth.second_factor", next=target))
    secret = _pending_secret()
    form = forms.TotpSetupForm()
    if request.method == "GET":
        form.next.data = target or ""
    if form.validate_on_submit():
        try:
            codes = accounts.enrol_totp(_me(), secret, form.code.data)
        except AccountError as error:
            db.session.rollback()
            _form_error(form, "code", error.message)
        else:
            db.session.commit()
            session.pop(PENDING_TOTP_KEY, None)
            mark_second_factor_passed(current_user)
            return render_template("auth/recovery_codes.html", codes=codes,
                                   continue_url=target or _home(), new=False)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template(
        "auth/totp_setup.html",
        form=form,
        qr_svg=_qr_svg(accounts.totp_uri(_me(), secret)),
        secret=grouped,
    )
