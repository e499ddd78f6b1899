"""The forms of the outcome pages: an outcome, a measurement, and a paste of measurements.

They check the shape of the input; the rules (target beyond the baseline in the direction
that is better, a parent that is organization-wide, no date in the future) are the
services', whose errors the views put back on the fields.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from apps.core import bounds
from apps.outcomes.models import Outcome
from apps.teams.models import Team

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _date_field(label: str, *, required: bool, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        input_formats=["%Y-%m-%d"],
        widget=DATE_INPUT,
        help_text=help_text,
        error_messages={"invalid": "Enter the date as YYYY-MM-DD.", "required": "Enter a date."},
        validators=[bounds.validate_day],
    )


def _number_field(label: str, help_text: str = "") -> forms.FloatField:
    return forms.FloatField(
        label=label,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "any"}),
        error_messages={
            "invalid": "Enter a number (a dot for decimals).",
            "required": "Enter a number.",
        },
        validators=[bounds.validate_number],
    )


class OutcomeForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        empty_label="The whole organization",
        help_text="The team that exists to move it.",
    )
    name = forms.CharField(
        max_length=160,
        help_text="What you want to change for your users or the business, e.g. "
        "“Checkout conversion”.",
        error_messages={"required": "Name the outcome."},
    )
    unit = forms.CharField(max_length=40, required=False, help_text="e.g. %, min, sign-ups.")
    direction = forms.ChoiceField(
        choices=Outcome.Direction.choices,
        initial=Outcome.Direction.UP,
        widget=forms.RadioSelect,
        label="Which way is better?",
    )
    baseline = _number_field("Baseline", "Where it stands when you start: progress 0 %.")
    target = _number_field("Target", "Where you want it: progress 100 %.")
    target_date = _date_field("Target date", required=False, help_text="When, if there is a date.")
    parent = forms.ModelChoiceField(
        queryset=Outcome.objects.none(),
        required=False,
        label="Ladders up to",
        empty_label="No organization outcome",
        help_text="The organization-wide outcome this one helps move.",
    )

    def __init__(
        self,
        *args: Any,
        teams: QuerySet[Team] | None,
        allow_organization: bool,
        parents: QuerySet[Outcome],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        team_field: forms.ModelChoiceField = self.fields["team"]  # type: ignore[assignment]
        if teams is None:  # editing: the team stays
            del self.fields["team"]
        else:
            team_field.queryset = teams
            team_field.required = not allow_organization
            if not allow_organization:
                team_field.empty_label = None
        parent_field: forms.ModelChoiceField = self.fields["parent"]  # type: ignore[assignment]
        parent_field.queryset = parents


class MeasurementForm(forms.Form):
    measured_on = _date_field("Date", required=True)
    value = _number_field("Value")


class MeasurementPasteForm(forms.Form):
    text = forms.CharField(
        label="Measurements",
        widget=forms.Textarea(
            attrs={"rows": 8, "spellcheck": "false", "placeholder": "date,value\n2026-03-02,41.5"}
        ),
        help_text="One date and value a line, e.g. 2026-03-02,41.5 (a header line, tabs from "
        "a spreadsheet and blank lines are fine). A date already measured is updated.",
        error_messages={"required": "Paste at least one line."},
    )
