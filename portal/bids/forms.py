"""Forms for the bid pages. The service checks every value again (and is where the
rules live): these forms only read the request and carry the error messages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxInput,
    GovFileInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice

from portal.pool.forms import ChoiceSelect
from portal.profiles.forms import DayMonthYearField
from portal.services.bids import DESCRIPTION_MAX, STATEMENT_MAX, TEXT_MAX


def _int_or_none(value):
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


class ConfirmForm(FlaskForm):
    submit = SubmitField("Continue", widget=GovSubmitInput())


class UnderstandingForm(FlaskForm):
    understanding = TextAreaField(
        "Your understanding of the brief",
        widget=GovCharacterCount(),
        description="What the commission needs to achieve, and the issues you expect.",
    )
    methodology = TextAreaField(
        "Your methodology",
        widget=GovCharacterCount(),
        description="How you will do the work: methods, sources, ethics and quality "
        "assurance.",
    )
    submit = SubmitField("Save and continue", widget=GovSubmitInput())


class TeamMemberForm(FlaskForm):
    profile_id = ChoiceSelect(
        "Reviewer",
        coerce=_int_or_none,
        widget=GovSelect(),
        invalid_message="Select a reviewer from your organisation",
    )
    role = StringField("Role in the team", widget=GovTextInput(),
                       description="For example, lead reviewer or data analyst.")
    days = StringField("Number of days", widget=GovTextInput())
    day_rate = StringField(
        "Day rate (optional)",
        widget=GovTextInput(),
        description="Leave blank to use the day rate on the reviewer's profile.",
    )
    submit = SubmitField("Add to the team", widget=GovSubmitInput())


class MilestoneForm(FlaskForm):
    title = StringField("Milestone", widget=GovTextInput(),
                        description="For example, inception report or draft findings.")
    description = TextAreaField("What will be delivered (optional)", widget=GovTextArea())
    due_date = DayMonthYearField("Due date", noun="The due date",
                                 description="For example, 27 3 2026")
    submit = SubmitField("Add milestone", widget=GovSubmitInput())


class ExpenseForm(FlaskForm):
    description = StringField("Expense", widget=GovTextInput(),
                              description="For example, travel to interviews.")
    amount = StringField("Amount", widget=GovTextInput(), description="In pounds, like 250")
    submit = SubmitField("Add expense", widget=GovSubmitInput())


class ConflictsForm(FlaskForm):
    answer = RadioField(
        "Do you, or anyone in the team, have a conflict of interest with this commission?",
        choices=[SelectChoice("none", "No"), SelectChoice("declared", "Yes")],
        widget=GovRadioInput(),
        validate_choice=False,
        description="For example, a past or present role with the buyer, or with the "
        "agencies or people involved in the case.",
    )
    statement = TextAreaField(
        "Describe each conflict and how you would manage it",
        widget=GovCharacterCount(),
    )
    submit = SubmitField("Save and continue", widget=GovSubmitInput())


class DocumentForm(FlaskForm):
    title = StringField("Document title", widget=GovTextInput(),
                        description="For example, CV of the lead reviewer.")
    file = FileField("Upload a file", widget=GovFileInput(),
                     description="PDF, DOCX, XLSX, ODT, ODS, TXT or CSV.")
    commercial = BooleanField(
        "This document is commercial (prices or day rates)",
        widget=GovCheckboxInput(),
        description="Commercial documents are kept in the price envelope: quality "
        "evaluators do not see them.",
    )
    submit = SubmitField("Upload document", widget=GovSubmitInput())


class DeclarationForm(FlaskForm):
    accept = BooleanField(
        "I confirm the declaration on behalf of my organisation",
        widget=GovCheckboxInput(),
    )
    submit = SubmitField("Save and continue", widget=GovSubmitInput())


LIMITS = {
    "understanding": TEXT_MAX,
    "methodology": TEXT_MAX,
    "statement": STATEMENT_MAX,
    "description": DESCRIPTION_MAX,
}
