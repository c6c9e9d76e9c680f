"""Forms for the team pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovPasswordInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import PasswordField, RadioField, SelectChoice, StringField, SubmitField
from wtforms.validators import EqualTo, InputRequired, Length


class InviteForm(FlaskForm):
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        validators=[InputRequired("Enter an email address"), Length(max=320)],
        description="We will send them a link to join your organisation. It works for 7 days.",
    )
    submit = SubmitField("Send invitation", widget=GovSubmitInput())


class JoinRegisterForm(FlaskForm):
    name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[InputRequired("Enter your full name"), Length(max=200)],
    )
    password = PasswordField(
        "Create a password",
        widget=GovPasswordInput(),
        validators=[InputRequired("Enter a password")],
        description="At least 10 characters. A few unrelated words make a strong password.",
    )
    confirm_password = PasswordField(
        "Confirm your password",
        widget=GovPasswordInput(),
        validators=[
            InputRequired("Confirm your password"),
            EqualTo("password", "The passwords do not match"),
        ],
    )
    submit = SubmitField("Create account and join", widget=GovSubmitInput())


class JoinForm(FlaskForm):
    submit = SubmitField("Join the organisation", widget=GovSubmitInput())


class ConfirmForm(FlaskForm):
    submit = SubmitField("Confirm", widget=GovSubmitInput())


class LeaveForm(FlaskForm):
    confirm = RadioField(
        "Are you sure you want to leave this organisation?",
        choices=[SelectChoice("yes", "Yes, leave"), SelectChoice("no", "No, stay")],
        widget=GovRadioInput(),
        validators=[InputRequired("Select yes if you want to leave the organisation")],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class RoleForm(FlaskForm):
    role = RadioField(
        "Role",
        choices=[
            SelectChoice("owner", "Owner: manages the team and the organisation's details"),
            SelectChoice("member", "Member"),
        ],
        widget=GovRadioInput(),
        validators=[InputRequired("Select a role")],
    )
    submit = SubmitField("Save role", widget=GovSubmitInput())
