"""Forms for the commission pages. The service checks everything again (weights total,
deadlines on the server's clock); these forms only turn the request into values."""

from __future__ import annotations

from datetime import date, datetime

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovFileInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    Field,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.utils import unset_value
from wtforms.validators import ValidationError

from portal.models.commissions import DEFAULT_SCORE_GUIDANCE, SCORE_SCALE
from portal.ukdatetime import NonexistentTime, parse_time, uk_to_utc, utc_to_uk

PARTS = ("day", "month", "year", "time")


class UKDateTimeField(Field):
    """A date (day, month, year boxes) and a time ("5pm", "17:00"), in UK time; `data`
    is the moment in UTC. Rendered by `uk_datetime_input` in commissions/_macros.html."""

    def __init__(self, label=None, validators=None, *, what: str = "date", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.what = what
        self.raw: dict[str, str] = dict.fromkeys(PARTS, "")

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        self.data = data
        if isinstance(data, datetime):
            local = utc_to_uk(data)
            self.raw = {"day": str(local.day), "month": str(local.month),
                        "year": str(local.year), "time": f"{local:%H:%M}"}
        if formdata is None:
            return
        self.raw = {part: (formdata.get(f"{self.name}-{part}") or "").strip()
                    for part in PARTS}
        self.data = None
        try:
            self.data = self._parse()
        except ValueError as exc:
            self.process_errors.append(str(exc))

    def _parse(self) -> datetime | None:
        raw = self.raw
        what = self.what
        if not any(raw.values()):
            raise ValueError(f"Enter the {what}")
        missing = [p for p in ("day", "month", "year") if not raw[p]]
        if missing:
            raise ValueError(f"The {what} must include a {' and '.join(missing)}")
        if not raw["time"]:
            raise ValueError(f"The {what} must include a time, like 5pm or 17:00")
        if not all(raw[p].isdigit() for p in ("day", "month", "year")) or len(raw["year"]) != 4:
            raise ValueError(f"The {what} must be a real date")
        try:
            day = date(int(raw["year"]), int(raw["month"]), int(raw["day"]))
        except ValueError:
            raise ValueError(f"The {what} must be a real date") from None
        at = parse_time(raw["time"])
        if at is None:
            raise ValueError(f"Enter the time of the {what} like 5pm or 17:00")
        try:
            return uk_to_utc(day, at)
        except NonexistentTime:
            raise ValueError(
                f"{raw['time']} on {day:%-d %B %Y} does not exist in UK time because the "
                "clocks go forward. Enter a different time"
            ) from None

    def _value(self):
        return self.raw


def _category_id(value):
    if isinstance(value, int):
        return value
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 7 else None


class ContentFields:
    """The content of a commission: shared by the draft details and amendment forms."""

    title = StringField("Title", widget=GovTextInput())
    summary = TextAreaField(
        "Summary", widget=GovTextArea(),
        description="A few sentences that appear in the list of opportunities.")
    specification = TextAreaField(
        "Specification", widget=GovTextArea(),
        description="What the work is, its scope and the questions it must answer. You can "
        "use Markdown: **bold**, lists with - at the start of a line, # headings, "
        "[links](https://www.gov.uk).")
    deliverables = TextAreaField(
        "Deliverables", widget=GovTextArea(),
        description="What must be delivered, and when. Markdown works here too.")
    timescale = TextAreaField(
        "Timescale", widget=GovTextArea(),
        description="For example: start in June 2026, final report within 6 months.")
    max_budget = StringField(
        "Maximum budget", widget=GovTextInput(),
        description="In pounds, including expenses and excluding VAT, like 25000.")


class DetailsForm(FlaskForm, ContentFields):
    category_id = SelectField("Service category", coerce=_category_id, widget=GovSelect(),
                              validate_choice=False)
    submit = SubmitField("Save and continue", widget=GovSubmitInput())


class CriterionForm(Form):
    name = StringField("Name", widget=GovTextInput())
    description = TextAreaField("What bidders must show", widget=GovTextArea())
    weight = StringField("Weight", widget=GovTextInput(),
                         description="A whole number, like 20.")
    guidance_0 = TextAreaField("Guidance for a score of 0", widget=GovTextArea(),
                               default=DEFAULT_SCORE_GUIDANCE[0])
    guidance_1 = TextAreaField("Guidance for a score of 1", widget=GovTextArea(),
                               default=DEFAULT_SCORE_GUIDANCE[1])
    guidance_2 = TextAreaField("Guidance for a score of 2", widget=GovTextArea(),
                               default=DEFAULT_SCORE_GUIDANCE[2])
    guidance_3 = TextAreaField("Guidance for a score of 3", widget=GovTextArea(),
                               default=DEFAULT_SCORE_GUIDANCE[3])
    guidance_4 = TextAreaField("Guidance for a score of 4", widget=GovTextArea(),
                               default=DEFAULT_SCORE_GUIDANCE[4])

    def is_blank(self) -> bool:
        return not any(
            (f.data or "").strip() for f in (self.name, self.description, self.weight)
        )


class CriteriaFields:
    criteria = FieldList(FormField(CriterionForm), min_entries=1, max_entries=10)
    price_weight = StringField(
        "Price weight", widget=GovTextInput(),
        description="A whole number. The weights of the criteria and price must add up "
        "to 100.")
    add_criterion = SubmitField("Add another criterion", widget=GovSubmitInput())


class CriteriaForm(FlaskForm, CriteriaFields):
    submit = SubmitField("Save and continue", widget=GovSubmitInput())


class DeadlineFields:
    clarification_deadline = UKDateTimeField(
        "Clarification deadline", what="clarification deadline",
        description="UK time. Suppliers can ask questions until then. For example, "
        "27 3 2026 and 5pm.")
    submission_deadline = UKDateTimeField(
        "Submission deadline", what="submission deadline",
        description="UK time. Bids must be submitted before then. For example, "
        "14 4 2026 and 12pm.")


class DeadlinesForm(FlaskForm, DeadlineFields):
    submit = SubmitField("Save and continue", widget=GovSubmitInput())


class DocumentForm(FlaskForm):
    title = StringField("Title (optional)", widget=GovTextInput(),
                        description="The file name is used if you leave this empty.")
    file = FileField("Upload a file", widget=GovFileInput(),
                     description="PDF, DOCX, XLSX, ODT, ODS, TXT or CSV.")
    submit = SubmitField("Upload document", widget=GovSubmitInput())


class ConfirmForm(FlaskForm):
    submit = SubmitField("Publish commission", widget=GovSubmitInput())


class ExtendForm(FlaskForm, DeadlineFields):
    note = TextAreaField("Message to the organisations invited (optional)",
                         widget=GovTextArea())
    submit = SubmitField("Extend deadline", widget=GovSubmitInput())


class AmendForm(FlaskForm, ContentFields, CriteriaFields, DeadlineFields):
    note = TextAreaField(
        "Describe the change", widget=GovTextArea(),
        description="Every organisation invited sees this and gets it by e-mail.")
    submit = SubmitField("Publish the change", widget=GovSubmitInput())


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Why are you cancelling this commission?", widget=GovTextArea(),
        description="Every organisation invited gets this by e-mail.")
    submit = SubmitField("Cancel commission", widget=GovSubmitInput())


class QuestionForm(FlaskForm):
    question = TextAreaField(
        "Your question", widget=GovTextArea(),
        description="Do not include anything that identifies your organisation. If the "
        "answer is published, your question may be edited and nobody is told who asked it.")
    submit = SubmitField("Send question", widget=GovSubmitInput())


class AnswerForm(FlaskForm):
    visibility = RadioField(
        "Who should see the answer?",
        choices=[
            SelectChoice("public", "Every organisation invited (the question is published "
                         "without saying who asked it)"),
            SelectChoice("private", "Only the organisation that asked"),
        ],
        widget=GovRadioInput(),
        validate_choice=False,
    )
    published_question = TextAreaField(
        "Question as it will be published", widget=GovTextArea(),
        description="Edit it so it does not identify who asked. Only used when the answer "
        "is published.")
    answer = TextAreaField("Answer", widget=GovTextArea())
    submit = SubmitField("Send answer", widget=GovSubmitInput())

    def validate_visibility(self, field):
        if field.data not in ("public", "private"):
            raise ValidationError("Select who should see the answer")


def criterion_guidance(entry) -> list[str]:
    return [getattr(entry, f"guidance_{s}").data or "" for s in SCORE_SCALE]
