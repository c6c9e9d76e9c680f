"""Forms for the evaluation pages. They read the request and carry the error messages;
the rules live in portal/services/evaluation.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
)
from wtforms import BooleanField, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice

from portal.models.commissions import SCORE_SCALE
from portal.services.evaluation import DESCRIPTION_MAX, REASON_MAX


def _int_or_none(value):
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


class ConfirmForm(FlaskForm):
    submit = SubmitField("Continue", widget=GovSubmitInput())


class AssignForm(FlaskForm):
    user_id = SelectField("Evaluator", coerce=_int_or_none, widget=GovSelect(),
                          validate_choice=False)
    moderator = BooleanField("Make this person the moderator", widget=GovCheckboxInput())
    replaces_id = SelectField(
        "Replacing (optional)", coerce=_int_or_none, widget=GovSelect(),
        validate_choice=False,
        description="Choose an evaluator if this person replaces one, for example one "
        "who declared a conflict of interest.",
    )
    submit = SubmitField("Add to the panel", widget=GovSubmitInput())


class DeclarationForm(FlaskForm):
    has_conflict = RadioField(
        "Do you have a conflict of interest with this bidder?",
        choices=[SelectChoice("no", "No"), SelectChoice("yes", "Yes")],
        widget=GovRadioInput(),
        validate_choice=False,
    )
    description = TextAreaField(
        "Describe the conflict of interest",
        widget=GovCharacterCount(),
        description="For example a financial interest, a close personal or professional "
        "relationship, or recent work for or with the bidder.",
    )
    submit = SubmitField("Make the declaration", widget=GovSubmitInput())

    def has_conflict_value(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.has_conflict.data or "")


DeclarationForm.description_max = DESCRIPTION_MAX


def scoring_form(criteria, *, consensus: bool = False, formdata=None, **kw):
    """A form with a score (0-4) and a justification (or, for the moderator, a
    consensus score and a rationale) per criterion: fields `score_<id>` and
    `justification_<id>` / `rationale_<id>`."""

    text_name = "rationale" if consensus else "justification"

    class Form(FlaskForm):
        pass

    for criterion in criteria:
        setattr(Form, f"score_{criterion.id}", RadioField(
            ("Consensus score" if consensus else "Score") + f" for {criterion.name}",
            choices=[SelectChoice(str(s), str(s)) for s in SCORE_SCALE],
            validate_choice=False,
        ))
        setattr(Form, f"{text_name}_{criterion.id}", TextAreaField(
            ("Rationale" if consensus else "Justification") + f" for {criterion.name}",
            widget=GovTextArea(),
        ))
    Form.submit = SubmitField(
        "Save consensus scores" if consensus else "Save as draft", widget=GovSubmitInput())
    if formdata is not None:
        return Form(formdata=formdata, **kw)
    return Form(**kw)


class AbnormallyLowForm(FlaskForm):
    outcome = RadioField(
        "Your decision",
        choices=[
            SelectChoice("accepted", "Accept the price: the bid stays in the ranking"),
            SelectChoice("rejected",
                         "Reject the bid as abnormally low: it leaves the ranking"),
        ],
        widget=GovRadioInput(),
        validate_choice=False,
    )
    reason = TextAreaField(
        "Reason for your decision",
        widget=GovCharacterCount(),
        description="For example the bidder's explanation of the price, and why it is or "
        "is not sustainable.",
    )
    submit = SubmitField("Save the decision", widget=GovSubmitInput())


AbnormallyLowForm.reason_max = REASON_MAX
