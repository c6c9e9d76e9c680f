"""Forms for the award pages. The service checks everything again; these forms only read
the request and carry the error messages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextArea
from wtforms import RadioField, SubmitField, TextAreaField


class ProposeForm(FlaskForm):
    bid_id = RadioField("Which bid should win?", widget=GovRadioInput(), choices=[],
                        validate_choice=False)
    reason = TextAreaField(
        "Reason (required if you choose a bid that is not ranked first)",
        widget=GovTextArea(),
        description="An admin reviews this before approving. Bidders do not see it.")
    submit = SubmitField("Propose the award", widget=GovSubmitInput())


class ButtonForm(FlaskForm):
    """A single button (CSRF only)."""

    submit = SubmitField("Continue", widget=GovSubmitInput())


class ReturnForm(FlaskForm):
    reason = TextAreaField(
        "Why are you returning the proposal?", widget=GovTextArea(),
        description="The commissioner who proposed it gets this by e-mail.")
    submit = SubmitField("Return to the commissioner", widget=GovSubmitInput())


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        "Why are you withdrawing the award?", widget=GovTextArea(),
        description="Every bidder gets this by e-mail.")
    submit = SubmitField("Withdraw the award", widget=GovSubmitInput())


class NoSuitableBidForm(FlaskForm):
    reason = TextAreaField(
        "Why is no bid suitable?", widget=GovTextArea(),
        description="Every bidder gets a letter with this reason (and their own scores "
        "once the evaluation is complete). The commission closes.")
    submit = SubmitField("Close with no suitable bid", widget=GovSubmitInput())
