"""Forms for organisation details and reviewer profiles.

The forms give the first, friendly error; services/profiles.py checks the same rules
again, so nothing can be saved around them.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxesInput,
    GovCheckboxInput,
    GovDateInput,
    GovFileInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from portal.models.profiles import (
    COMPETENCE_AREA_LABELS,
    DBS_TYPES,
    DIVERSITY_FIELDS,
    ORGANISATION_KIND_LABELS,
    PROFESSIONAL_BACKGROUND_LABELS,
    REGIONS,
    REVIEW_TYPE_LABELS,
    CompetenceArea,
    ReviewType,
)
from portal.services.profiles import (
    normalise_charity_number,
    normalise_company_number,
    normalise_https_url,
    normalise_postcode,
)

YES_NO = [("yes", "Yes"), ("no", "No")]


def _options(pairs) -> list[SelectChoice]:
    """(value, label) pairs, as the models keep them, as WTForms options."""
    return [SelectChoice(value, label) for value, label in pairs]


def _radio(label, choices, required_message=None, **kwargs):
    validators = [InputRequired(required_message)] if required_message else [Optional()]
    return RadioField(
        label,
        choices=_options(choices),
        widget=GovRadioInput(),
        validators=validators,
        invalid_choice_message="Select an answer from the list",
        **kwargs,
    )


class WholeNumberField(Field):
    """A whole number typed into a text box; blank is None (add InputRequired to refuse it)."""

    widget = GovTextInput()

    def __init__(self, label=None, validators=None, minimum=0, maximum=999, noun=None,
                 **kwargs):
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum
        self.noun = noun or (label or "This").capitalize()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        text = valuelist[0].strip().replace(",", "")
        if not re.fullmatch(r"\d{1,6}", text):
            raise ValueError(f"{self.noun} must be a whole number, like 3")
        self.data = int(text)

    def pre_validate(self, form):
        if self.data is not None and not self.minimum <= self.data <= self.maximum:
            raise ValidationError(
                f"{self.noun} must be between {self.minimum} and {self.maximum}"
            )


class PoundsField(Field):
    """An amount in pounds (e.g. 450 or 450.50); `data` is whole pence or None."""

    widget = GovTextInput()

    def __init__(self, label=None, validators=None, maximum_pence=10_000_00, noun=None,
                 **kwargs):
        super().__init__(label, validators, **kwargs)
        self.maximum_pence = maximum_pence
        self.noun = noun or (label or "Amount")

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        pounds, pence = divmod(self.data, 100)
        return f"{pounds}" if not pence else f"{pounds}.{pence:02d}"

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        text = valuelist[0].strip().lstrip("£").replace(",", "").strip()
        if not re.fullmatch(r"\d{1,7}(\.\d{1,2})?", text):
            raise ValueError(f"{self.noun} must be an amount in pounds, like 450 or 450.50")
        try:
            self.data = int(Decimal(text) * 100)
        except InvalidOperation:
            raise ValueError(f"{self.noun} must be an amount in pounds, like 450") from None

    def pre_validate(self, form):
        if self.data is not None and self.data > self.maximum_pence:
            raise ValidationError(
                f"{self.noun} must be £{self.maximum_pence // 100:,} or less"
            )


class DayMonthYearField(Field):
    """The GOV.UK date input: three boxes, each named after the field."""

    widget = GovDateInput()

    def __init__(self, label=None, validators=None, noun="Date", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.noun = noun

    def _value(self):
        return ""

    def process_formdata(self, valuelist):
        self.data = None
        parts = [(v or "").strip() for v in (valuelist or [])][:3]
        parts += [""] * (3 - len(parts))
        self.raw_data = parts
        if not any(parts):
            return
        missing = [name for name, v in zip(("day", "month", "year"), parts, strict=True) if not v]
        if missing:
            raise ValueError(f"{self.noun} must include a {' and '.join(missing)}")
        if not all(re.fullmatch(r"\d{1,4}", v) for v in parts) or len(parts[2]) != 4:
            raise ValueError(f"{self.noun} must be a real date, like 27 3 2025")
        try:
            self.data = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            raise ValueError(f"{self.noun} must be a real date, like 27 3 2025") from None


class _Validating:
    """Run a normaliser as a WTForms validator and keep the normalised value."""

    def __init__(self, normalise):
        self.normalise = normalise

    def __call__(self, form, field):
        if not (field.data or "").strip():
            return
        try:
            field.data = self.normalise(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class ConfirmForm(FlaskForm):
    submit = SubmitField("Confirm", widget=GovSubmitInput())


class OrganisationDetailsForm(FlaskForm):
    legal_name = StringField(
        "Legal name",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the legal name of your organisation"),
                    Length(max=200, message="Legal name must be 200 characters or fewer")],
        description="For an individual reviewer, your own full name.",
    )
    trading_name = StringField(
        "Trading name (optional)",
        widget=GovTextInput(),
        validators=[Optional(),
                    Length(max=200, message="Trading name must be 200 characters or fewer")],
    )
    kind = _radio(
        "What kind of organisation is it?",
        [(k.value, label) for k, label in ORGANISATION_KIND_LABELS.items()],
        "Select what kind of organisation it is",
    )
    companies_house_number = StringField(
        "Companies House number",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=20, message="Companies House number must be "
                                       "8 characters"),
                    _Validating(normalise_company_number)],
        description="Required for a limited company. 8 characters, like 01234567 or "
        "SC123456. Leave blank if you do not have one.",
    )
    charity_number = StringField(
        "Registered charity number",
        widget=GovTextInput(),
        validators=[Optional(), Length(max=20, message="Charity number must be 6 or 7 "
                                       "digits, or SC then 6 digits"),
                    _Validating(normalise_charity_number)],
        description="Required for a charity. England and Wales: 6 or 7 digits. "
        "Scotland: SC then 6 digits. Leave blank if you do not have one.",
    )
    address_line_1 = StringField(
        "Address line 1",
        widget=GovTextInput(),
        validators=[InputRequired("Enter address line 1, typically the building and street"),
                    Length(max=200, message="Address line 1 must be 200 characters or fewer")],
    )
    address_line_2 = StringField(
        "Address line 2 (optional)",
        widget=GovTextInput(),
        validators=[Optional(),
                    Length(max=200, message="Address line 2 must be 200 characters or fewer")],
    )
    town = StringField(
        "Town or city",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the town or city"),
                    Length(max=100, message="Town or city must be 100 characters or fewer")],
    )
    postcode = StringField(
        "Postcode",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the postcode"),
                    Length(max=10, message="Enter a real UK postcode, like SW1A 1AA"),
                    _Validating(normalise_postcode)],
    )
    regions = SelectMultipleField(
        "Which regions do you cover?",
        choices=_options(REGIONS),
        widget=GovCheckboxesInput(),
        validators=[InputRequired("Select at least one region you cover")],
        invalid_choice_message="Select regions from the list",
        description="Select all that apply.",
    )
    website = StringField(
        "Website (optional)",
        widget=GovTextInput(),
        validators=[Optional(), _Validating(normalise_https_url)],
        description="Starting with https://",
    )
    is_sme = _radio(
        "Is your organisation a small or medium-sized enterprise (SME)?",
        YES_NO,
        "Select yes if your organisation is a small or medium-sized enterprise",
        description="Fewer than 250 staff, and a turnover of no more than £44 million or a "
        "balance sheet of no more than £38 million. An individual reviewer is an SME.",
    )
    submit = SubmitField("Save and continue", widget=GovSubmitInput())


REVIEW_COUNT_NOUNS = {
    ReviewType.NATIONAL: "Number of national reviews",
    ReviewType.LCSPR: "Number of LCSPRs",
    ReviewType.SERIOUS_CASE: "Number of serious case reviews",
    ReviewType.RAPID: "Number of rapid reviews",
    ReviewType.THEMATIC: "Number of thematic reviews",
    ReviewType.LITERATURE: "Number of literature reviews",
}
REVIEW_COUNT_FIELDS = [(f"reviews_{t.value}", REVIEW_TYPE_LABELS[t], REVIEW_COUNT_NOUNS[t])
                       for t in ReviewType]


class ReviewerProfileForm(FlaskForm):
    name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the reviewer's full name"),
                    Length(max=200, message="Full name must be 200 characters or fewer")],
    )
    professional_background = _radio(
        "Professional background",
        [(b.value, label) for b, label in PROFESSIONAL_BACKGROUND_LABELS.items()],
        "Select a professional background",
    )
    years_experience = WholeNumberField(
        "Years of safeguarding experience",
        validators=[InputRequired("Enter the years of safeguarding experience")],
        maximum=70,
        noun="Years of safeguarding experience",
    )
    summary = TextAreaField(
        "Summary of experience",
        widget=GovCharacterCount(),
        validators=[InputRequired("Enter a summary of the reviewer's experience"),
                    Length(max=3000, message="Summary must be 3,000 characters or fewer")],
        description="What the reviewer has done and is known for. Commissioners, and "
        "partnerships if the reviewer opts in to the directory, read this.",
    )
    regions = SelectMultipleField(
        "Regions the reviewer can work in",
        choices=_options(REGIONS),
        widget=GovCheckboxesInput(),
        validators=[InputRequired("Select at least one region")],
        invalid_choice_message="Select regions from the list",
        description="Select all that apply.",
    )
    available_from = DayMonthYearField(
        "Available from (optional)",
        noun="Available from date",
        description="For example, 27 3 2027. Leave blank if available now.",
    )
    days_per_month = WholeNumberField(
        "Days available per month (optional)",
        validators=[Optional()],
        maximum=31,
        noun="Days per month",
    )
    is_unavailable = BooleanField(
        "Not taking on new work at the moment",
        widget=GovCheckboxInput(),
    )
    day_rate = PoundsField(
        "Day rate in pounds (optional)",
        validators=[Optional()],
        noun="Day rate",
        description="Excluding VAT.",
    )
    submit = SubmitField("Save and continue", widget=GovSubmitInput())


for _name, _label, _noun in REVIEW_COUNT_FIELDS:
    setattr(
        ReviewerProfileForm,
        _name,
        WholeNumberField(_label, validators=[Optional()], maximum=999, noun=_noun),
    )


class ExpertiseForm(FlaskForm):
    tags = SelectMultipleField(
        "Areas of expertise",
        coerce=int,
        widget=GovCheckboxesInput(),
        validators=[Optional()],
        invalid_choice_message="Select areas of expertise from the list",
        invalid_value_message="Select areas of expertise from the list",
        description="Select all that apply.",
    )
    submit = SubmitField("Save and continue", widget=GovSubmitInput())


class CompetencesForm(FlaskForm):
    submit = SubmitField("Save and continue", widget=GovSubmitInput())

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for area in CompetenceArea:
            answer = getattr(self, area.value)
            example = getattr(self, f"{area.value}_example")
            if answer.data == "yes" and not (example.data or "").strip() and not example.errors:
                example.errors.append(
                    f"Give an example of analysing the impact of {area.value}"
                )
                ok = False
        return ok


for _area in CompetenceArea:
    setattr(
        CompetencesForm,
        _area.value,
        _radio(
            f"Can the reviewer analyse the impact of {_area.value}?",
            YES_NO,
            f"Select yes or no for {_area.value}",
        ),
    )
    setattr(
        CompetencesForm,
        f"{_area.value}_example",
        TextAreaField(
            f"Example for {COMPETENCE_AREA_LABELS[_area].lower()}",
            widget=GovTextArea(),
            validators=[Optional(),
                        Length(max=1500, message="Example must be 1,500 characters or fewer")],
            description="Required if yes: a review or piece of work where they did this.",
        ),
    )


class PublicationForm(FlaskForm):
    title = StringField(
        "Title of the review",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the title of the review"),
                    Length(max=300, message="Title must be 300 characters or fewer")],
    )
    url = StringField(
        "Web address where it is published",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the web address where the review is published"),
                    _Validating(lambda v: normalise_https_url(v, max_length=500))],
        description="Starting with https://",
    )
    year = WholeNumberField(
        "Year published",
        validators=[InputRequired("Enter the year the review was published")],
        minimum=1950,
        maximum=2100,
        noun="Year published",
    )
    review_type = _radio(
        "Type of review",
        [(t.value, label) for t, label in REVIEW_TYPE_LABELS.items()],
        "Select the type of review",
    )
    submit = SubmitField("Add review", widget=GovSubmitInput())


class SensitiveDataForm(FlaskForm):
    lived_experience_detail = TextAreaField(
        "If you want to, tell us more (optional)",
        widget=GovTextArea(),
        validators=[Optional(),
                    Length(max=2000, message="This must be 2,000 characters or fewer")],
    )
    dbs_type = _radio(
        "Type of DBS check",
        [*DBS_TYPES, ("none", "No current DBS check")],
        "Select the type of DBS check, or that there is none",
    )
    dbs_certificate_date = DayMonthYearField(
        "Date on the DBS certificate",
        noun="Date on the DBS certificate",
        description="For example, 14 6 2025",
    )
    dbs_update_service = _radio(
        "Is the certificate on the DBS update service?",
        YES_NO,
    )
    submit = SubmitField("Save", widget=GovSubmitInput())

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.dbs_type.data in ("enhanced", "standard"):
            if self.dbs_certificate_date.data is None and not self.dbs_certificate_date.errors:
                self.dbs_certificate_date.errors.append("Enter the date on the DBS certificate")
                ok = False
            if not self.dbs_update_service.data and not self.dbs_update_service.errors:
                self.dbs_update_service.errors.append(
                    "Select yes if the certificate is on the DBS update service"
                )
                ok = False
        return ok


for _name, _question, _choices in DIVERSITY_FIELDS:
    setattr(SensitiveDataForm, _name, _radio(_question, _choices))


class ConsentForm(FlaskForm):
    text_version = HiddenField()
    consent = BooleanField(
        "I agree that this profile can appear in the partnership directory",
        widget=GovCheckboxInput(),
        validators=[InputRequired("Tick the box to agree, or go back without agreeing")],
    )
    submit = SubmitField("Save consent", widget=GovSubmitInput())


class WithdrawConsentForm(FlaskForm):
    submit = SubmitField("Withdraw consent", widget=GovSubmitInput())


class DocumentForm(FlaskForm):
    slot = _radio(
        "Which document is this?",
        [("cv", "CV"), ("sample", "Sample of published work")],
        "Select which document you are uploading",
    )
    file = FileField(
        "Upload a file",
        widget=GovFileInput(),
        description="PDF, DOCX or ODT, up to 25 MB.",
    )
    submit = SubmitField("Upload", widget=GovSubmitInput())


class TagForm(FlaskForm):
    name = StringField(
        "Name",
        widget=GovTextInput(),
        validators=[InputRequired("Enter the name of the area of expertise"),
                    Length(max=80, message="Name must be 80 characters or fewer")],
    )
    submit = SubmitField("Save", widget=GovSubmitInput())
