"""Forms for the pool pages. The declarations are built from data, so their page reads
the answers itself (see routes.declaration_answers)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxesInput,
    GovFileInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Regexp, ValidationError

from portal.services.pool import DESCRIPTION_MAX, REASON_MAX


class _ChoiceMessage:
    """A choice field whose refusal of a value not offered is a clear GOV.UK message
    (WTForms says "Not a valid choice"). An empty answer is left to InputRequired."""

    def __init__(self, *args, invalid_message: str = "Select an option from the list", **kw):
        super().__init__(*args, **kw)
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.invalid_message) from None

    def pre_validate(self, form):
        if not self.raw_data or self.process_errors:
            return
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(self.invalid_message) from None


class ChoiceSelect(_ChoiceMessage, SelectField):
    pass


class ChoiceRadio(_ChoiceMessage, RadioField):
    pass


class ChoiceCheckboxes(_ChoiceMessage, SelectMultipleField):
    pass


class ConfirmForm(FlaskForm):
    submit = SubmitField("Continue", widget=GovSubmitInput())


class CategoriesForm(FlaskForm):
    categories = ChoiceCheckboxes(
        "Which service categories are you applying for?",
        coerce=int,
        widget=GovCheckboxesInput(),
        validators=[InputRequired("Select at least one service category")],
        description="Select all that apply. Only categories open to new applications are "
        "shown.",
        invalid_message="Select service categories from the list",
    )
    submit = SubmitField("Save and continue", widget=GovSubmitInput())


class EvidenceForm(FlaskForm):
    category = ChoiceSelect(
        "Service category",
        coerce=int,
        widget=GovSelect(),
        invalid_message="Select a service category from your application",
        validators=[InputRequired("Select the service category this evidence is for")],
    )
    kind = ChoiceRadio(
        "What is this document?",
        invalid_message="Select CV or sample of published work",
        choices=[SelectChoice("cv", "CV of a reviewer"),
                 SelectChoice("sample", "Sample of published work")],
        widget=GovRadioInput(),
        validators=[InputRequired("Select what the document is")],
    )
    description = StringField(
        "Description",
        widget=GovTextInput(),
        description="For a CV, the reviewer's name. For a sample, its title and year.",
        validators=[
            InputRequired("Enter a description"),
            Length(max=DESCRIPTION_MAX, message=f"The description must be {DESCRIPTION_MAX} "
                   "characters or fewer"),
        ],
    )
    file = FileField(
        "Upload a file",
        widget=GovFileInput(),
        description="PDF, DOCX or ODT, smaller than 25 MB.",
    )
    submit = SubmitField("Upload", widget=GovSubmitInput())


class DecisionForm(FlaskForm):
    decision = ChoiceRadio(
        "Decision",
        invalid_message="Select admit, reject or request changes",
        choices=[
            SelectChoice("admitted", "Admit to this category"),
            SelectChoice("rejected", "Reject"),
            SelectChoice("changes_requested", "Request changes"),
        ],
        widget=GovRadioInput(),
        validators=[InputRequired("Select admit, reject or request changes")],
    )
    reason = TextAreaField(
        "Reason",
        widget=GovCharacterCount(),
        description="The applicant sees this. Say which criteria are met or not met, or "
        "what must change.",
        validators=[
            InputRequired("Enter the reason for your decision"),
            Length(max=REASON_MAX, message=f"The reason must be {REASON_MAX} characters or "
                   "fewer"),
        ],
    )
    submit = SubmitField("Record decision", widget=GovSubmitInput())


class MembershipActionForm(FlaskForm):
    reason = TextAreaField(
        "Reason",
        widget=GovCharacterCount(),
        description="The member sees this in the e-mail we send them.",
        validators=[
            InputRequired("Enter a reason"),
            Length(max=REASON_MAX, message=f"The reason must be {REASON_MAX} characters or "
                   "fewer"),
        ],
    )
    submit = SubmitField("Confirm", widget=GovSubmitInput())


class CategoryEditForm(FlaskForm):
    name = StringField(
        "Name",
        widget=GovTextInput(),
        validators=[InputRequired("Enter a name"), Length(max=200, message="The name must be "
                                                          "200 characters or fewer")],
    )
    description = TextAreaField(
        "Description",
        widget=GovTextArea(),
        validators=[InputRequired("Enter a description"),
                    Length(max=5000, message="The description must be 5000 characters or "
                           "fewer")],
    )
    membership_criteria = TextAreaField(
        "Membership criteria",
        widget=GovTextArea(),
        validators=[InputRequired("Enter the membership criteria"),
                    Length(max=5000, message="The criteria must be 5000 characters or "
                           "fewer")],
    )
    is_open = ChoiceRadio(
        "Is the category open to new applications?",
        invalid_message="Select whether the category is open",
        choices=[SelectChoice("yes", "Yes, open"), SelectChoice("no", "No, closed")],
        widget=GovRadioInput(),
        validators=[InputRequired("Select whether the category is open")],
    )
    membership_months = StringField(
        "Membership period, in months",
        widget=GovTextInput(),
        description="From 1 to 120. Applies to memberships that start or are renewed from "
        "now.",
        validators=[
            InputRequired("Enter the membership period in months"),
            Regexp(r"^\s*\d{1,3}\s*$", message="Enter the membership period as a whole "
                   "number of months, like 24"),
        ],
    )

    def validate_membership_months(self, field):
        if field.data and field.data.strip().isdigit() and not 1 <= int(field.data) <= 120:
            raise ValidationError("The membership period must be between 1 and 120 months")
    submit = SubmitField("Save changes", widget=GovSubmitInput())
