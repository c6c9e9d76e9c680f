"""Forms for signing in, registration and account security."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovPasswordInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import HiddenField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, EqualTo, InputRequired, Length, ValidationError

from portal.passwords import MAX_LENGTH, MIN_LENGTH, check_strength

EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.com"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _email_field(label: str = "Email address", description: str = "") -> StringField:
    return StringField(
        label,
        description=description,
        widget=GovTextInput(),
        filters=[_strip],
        validators=[
            InputRequired(message="Enter your email address"),
            Length(max=320, message="Email address must be 320 characters or fewer"),
            Email(message=EMAIL_FORMAT),
        ],
    )


def _new_password_field(label: str = "Create a password") -> PasswordField:
    return PasswordField(
        label,
        description=(
            f"At least {MIN_LENGTH} characters. A few unusual words strung together are "
            "easy to remember and hard to guess."
        ),
        widget=GovPasswordInput(),
        validators=[
            InputRequired(message="Enter a password"),
            Length(
                min=MIN_LENGTH,
                max=MAX_LENGTH,
                message=f"Password must be between {MIN_LENGTH} and {MAX_LENGTH} characters",
            ),
        ],
    )


def _confirm_field() -> PasswordField:
    return PasswordField(
        "Confirm password",
        widget=GovPasswordInput(),
        validators=[
            InputRequired(message="Confirm your password"),
            EqualTo("password", message="The passwords do not match"),
        ],
    )


class StrongPasswordMixin:
    """Runs zxcvbn on `password`, using the other fields as words to avoid."""

    def strength_inputs(self) -> list[str]:
        values = []
        for name in ("email", "name", "organisation_name"):
            field = getattr(self, name, None)
            if field is not None and field.data:
                values.append(field.data)
        return values + list(getattr(self, "extra_inputs", []))

    def validate_password(self, field):
        if field.errors or not field.data:
            return
        if not (MIN_LENGTH <= len(field.data) <= MAX_LENGTH):
            return
        result = check_strength(field.data, self.strength_inputs())
        if not result.ok:
            raise ValidationError(result.message)


class SignInForm(FlaskForm):
    email = _email_field()
    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your password"),
                    Length(max=1024, message="Enter your password")],
    )
    next = HiddenField()
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class SupplierRegistrationForm(StrongPasswordMixin, FlaskForm):
    name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter your full name"),
                    Length(max=200, message="Full name must be 200 characters or fewer")],
    )
    email = _email_field(description="We will send a link to confirm it.")
    organisation_name = StringField(
        "Organisation legal name",
        description=(
            "If you work as an individual reviewer, enter your own name: an individual is "
            "an organisation of one."
        ),
        widget=GovTextInput(),
        validators=[
            InputRequired(message="Enter your organisation's legal name"),
            Length(max=200, message="Organisation legal name must be 200 characters or fewer"),
        ],
    )
    password = _new_password_field()
    confirm = _confirm_field()
    submit = SubmitField("Create account", widget=GovSubmitInput())


class PartnershipRegistrationForm(StrongPasswordMixin, FlaskForm):
    name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter your full name"),
                    Length(max=200, message="Full name must be 200 characters or fewer")],
    )
    email = _email_field(description="Use your work email address.")
    partnership_id = SelectField(
        "Safeguarding partnership",
        description="A panel administrator checks that you work for this partnership.",
        widget=GovSelect(),
        validate_choice=False,
        validators=[InputRequired(message="Select your safeguarding partnership")],
    )
    password = _new_password_field()
    confirm = _confirm_field()
    submit = SubmitField("Create account", widget=GovSubmitInput())

    def set_partnerships(self, partnerships) -> None:
        self.partnership_id.choices = [SelectChoice("", "Select a partnership")] + [
            SelectChoice(str(p.id), p.name) for p in partnerships
        ]

    def validate_partnership_id(self, field):
        valid = {choice.value for choice in (field.choices or []) if choice.value}
        if field.data not in valid:
            raise ValidationError("Select your safeguarding partnership")


class EmailOnlyForm(FlaskForm):
    email = _email_field()
    submit = SubmitField("Send the link", widget=GovSubmitInput())


class ConfirmForm(FlaskForm):
    """A button that turns a link from an e-mail into a POST (no GET changes state)."""

    submit = SubmitField("Confirm", widget=GovSubmitInput())


class ResetPasswordForm(StrongPasswordMixin, FlaskForm):
    password = _new_password_field("New password")
    confirm = _confirm_field()
    submit = SubmitField("Save new password", widget=GovSubmitInput())


class ChangePasswordForm(StrongPasswordMixin, FlaskForm):
    current_password = PasswordField(
        "Current password",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your current password"),
                    Length(max=1024, message="Enter your current password")],
    )
    password = _new_password_field("New password")
    confirm = _confirm_field()
    submit = SubmitField("Change password", widget=GovSubmitInput())


class ChangeEmailForm(FlaskForm):
    email = _email_field("New email address",
                         description="We will send a link to this address to confirm it.")
    current_password = PasswordField(
        "Your password",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your password"),
                    Length(max=1024, message="Enter your password")],
    )
    submit = SubmitField("Change email address", widget=GovSubmitInput())


class SecondFactorForm(FlaskForm):
    code = StringField(
        "Security code",
        description=(
            "The 6-digit code from your authenticator app, or one of your recovery codes."
        ),
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter the code from your authenticator app"),
                    Length(max=40, message="Enter the 6-digit code from your authenticator app")],
    )
    next = HiddenField()
    submit = SubmitField("Continue", widget=GovSubmitInput())


class TotpSetupForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app",
        description="The 6-digit code the app shows now.",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter the code from your authenticator app"),
                    Length(max=20, message="Enter the 6-digit code from your authenticator app")],
    )
    next = HiddenField()
    submit = SubmitField("Confirm and continue", widget=GovSubmitInput())


class RecoveryCodesForm(FlaskForm):
    current_password = PasswordField(
        "Your password",
        widget=GovPasswordInput(),
        validators=[InputRequired(message="Enter your password"),
                    Length(max=1024, message="Enter your password")],
    )
    submit = SubmitField("Create new recovery codes", widget=GovSubmitInput())
