"""Forms for shortlists and enquiries. The search form is a plain GET form (see the
template); its arguments are parsed by services.directory.parse_search."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovRadioInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from portal.profiles.forms import DayMonthYearField, WholeNumberField
from portal.services.directory import SHORTLIST_NAME_MAX
from portal.services.enquiries import MESSAGE_MAX, SUBJECT_MAX, WEEKS_MAX


class ConfirmForm(FlaskForm):
    submit = SubmitField("Confirm", widget=GovSubmitInput())


class ShortlistForm(FlaskForm):
    name = StringField(
        "Name of the new shortlist",
        widget=GovTextInput(),
        validators=[InputRequired("Enter a name for the shortlist"),
                    Length(max=SHORTLIST_NAME_MAX,
                           message=f"Shortlist name must be {SHORTLIST_NAME_MAX} "
                           "characters or fewer")],
    )
    submit = SubmitField("Create shortlist", widget=GovSubmitInput())


class AddToShortlistForm(FlaskForm):
    shortlist = RadioField("Shortlist", choices=[], widget=GovRadioInput(),
                           validators=[Optional()], validate_choice=False)
    new_name = StringField(
        "Or save to a new shortlist called",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=SHORTLIST_NAME_MAX,
                                       message=f"Shortlist name must be {SHORTLIST_NAME_MAX} "
                                       "characters or fewer")],
    )
    submit = SubmitField("Save to shortlist", widget=GovSubmitInput())


class EnquiryForm(FlaskForm):
    subject = StringField(
        "Subject",
        widget=GovTextInput(),
        validators=[InputRequired("Enter a subject"),
                    Length(max=SUBJECT_MAX,
                           message=f"Subject must be {SUBJECT_MAX} characters or fewer")],
    )
    message = TextAreaField(
        "Message",
        description="Describe the review: what happened, the agencies involved and what "
        "you need from a reviewer. Do not include the names of children or families.",
        widget=GovCharacterCount(),
        validators=[InputRequired("Enter your message"),
                    Length(max=MESSAGE_MAX,
                           message=f"Message must be {MESSAGE_MAX} characters or fewer")],
    )
    expected_start = DayMonthYearField(
        "Expected start date", noun="Expected start date",
        description="For example, 27 3 2027",
    )
    expected_weeks = WholeNumberField(
        "Expected length, in weeks", minimum=1, maximum=WEEKS_MAX,
        noun="Expected length",
        validators=[InputRequired("Enter the expected length in weeks")],
    )
    submit = SubmitField("Send enquiry", widget=GovSubmitInput())


class ReplyForm(FlaskForm):
    body = TextAreaField(
        "Your reply",
        widget=GovCharacterCount(),
        validators=[InputRequired("Enter your reply"),
                    Length(max=MESSAGE_MAX,
                           message=f"Reply must be {MESSAGE_MAX} characters or fewer")],
    )
    submit = SubmitField("Send reply", widget=GovSubmitInput())
