"""The dashboard's forms: the date range of the overview and team page, the API token
settings page's form (the tokens themselves are issued by apps.api.services), and the
webhook settings pages' forms (webhooks are created by apps.webhooks.services)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from apps.core import bounds
from apps.dashboard.dates import DEFAULT_PRESET, MAX_RANGE_DAYS, PRESETS, DateRange
from apps.incidents.models import Incident
from apps.teams.models import Team
from apps.webhooks.models import Webhook


def _day_field(label: str, which: str) -> forms.DateField:
    return forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
        label=label,
        error_messages={"invalid": f"Enter the {which} date as YYYY-MM-DD."},
        validators=[bounds.validate_day],
    )


class DateRangeForm(forms.Form):
    """The date range of the overview and team pages, read from the query string.

    `?range=13w` picks a preset (the last N weeks, today included); `?start=&end=` picks
    custom dates, `end` inclusive as a person reads "from … to …". Nothing given is the
    default preset. A bad value is an error in words, never a 500.
    """

    range = forms.ChoiceField(
        choices=[(key, label) for key, (_weeks, label) in PRESETS.items()], required=False
    )
    start = _day_field("From", "start")
    end = _day_field("To", "end")

    def __init__(self, *args: object, today: dt.date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.today = today
        self.fields["range"].error_messages["invalid_choice"] = (
            "Choose one of the ranges offered: " + ", ".join(PRESETS) + "."
        )
        self.fields["start"].widget.attrs["max"] = today.isoformat()
        self.fields["end"].widget.attrs["max"] = today.isoformat()

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if self.errors:
            return data
        start, end = data.get("start"), data.get("end")
        raw_start, raw_end = self.data.get("start"), self.data.get("end")
        if not raw_start and not raw_end:
            return data
        if start is None or end is None:
            raise forms.ValidationError("Give both a start and an end date, or pick a preset.")
        if end < start:
            raise forms.ValidationError("The end date is before the start date.")
        if end > self.today:
            raise forms.ValidationError(
                f"The end date is in the future; the latest is today ({self.today:%Y-%m-%d})."
            )
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise forms.ValidationError(
                f"Pick at most {MAX_RANGE_DAYS // 7} weeks at once "
                f"({(end - start).days + 1} days were asked for)."
            )
        return data

    def date_range(self) -> DateRange:
        """The valid range asked for, or the default preset when the form has errors."""
        if not self.is_valid():
            return DateRange.preset(DEFAULT_PRESET, self.today)
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        if start and end:
            return DateRange.custom(start, end)
        return DateRange.preset(self.cleaned_data.get("range") or DEFAULT_PRESET, self.today)

    def error_text(self) -> str:
        """All errors in one sentence list, for the message above the range control."""
        if not self.is_bound or self.is_valid():
            return ""
        messages = [str(m) for errors in self.errors.values() for m in errors]
        return " ".join(messages)


# --- the API token settings page ---------------------------------------------------------

ORGANIZATION = "__organization__"


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        help_text="What will use it, e.g. “GitHub Actions deploy job”.",
    )
    scope = forms.ChoiceField(
        label="Acts for",
        help_text="A team token reads and writes its own team only. An organization token "
        "may do everything, including creating teams.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.order_by("name").values_list("slug", "name")
        self.fields["scope"].choices = [  # type: ignore[attr-defined]
            ("", "Choose…"),
            *[(slug, f"Team: {name}") for slug, name in teams],
            (ORGANIZATION, "The whole organization (admin)"),
        ]

    def clean_scope(self) -> Team | None:
        value = self.cleaned_data["scope"]
        if value == ORGANIZATION:
            return None
        team = Team.objects.filter(slug=value).first()
        if team is None:
            raise forms.ValidationError("Choose a team or the whole organization.")
        return team


class WebhookForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        empty_label="Choose…",
        to_field_name="slug",
        error_messages={"required": "Choose the team the deliveries belong to."},
    )
    kind = forms.ChoiceField(
        label="Sender",
        choices=[("", "Choose…"), *Webhook.Kind.choices],
        error_messages={"required": "Choose GitHub or PagerDuty."},
    )
    environment = forms.CharField(
        max_length=100,
        required=False,
        initial="production",
        help_text="GitHub: only deployments to this environment become releases.",
    )
    severity_high = forms.ChoiceField(
        label="High urgency becomes",
        choices=Incident.Severity.choices,
        initial=Incident.Severity.SEV2,
        help_text="PagerDuty: the severity of a high-urgency incident.",
    )
    severity_low = forms.ChoiceField(
        label="Low urgency becomes",
        choices=Incident.Severity.choices,
        initial=Incident.Severity.SEV4,
        help_text="PagerDuty: the severity of a low-urgency incident.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")  # type: ignore[attr-defined]

    def clean_environment(self) -> str:
        return self.cleaned_data["environment"].strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("kind") == Webhook.Kind.GITHUB and not cleaned.get("environment"):
            self.add_error(
                "environment", "Name the environment whose deployments count, e.g. production."
            )
        return cleaned


class WebhookSecretForm(forms.Form):
    secret = forms.CharField(
        label="The provider's signing secret (optional)",
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="PagerDuty makes its own secret when you add the subscription: paste it "
        "here. Leave empty and execdash makes a new one (for GitHub, paste that into GitHub).",
    )

    def clean_secret(self) -> str:
        secret: str = self.cleaned_data["secret"]
        if secret and len(secret) < 16:
            raise forms.ValidationError("A signing secret has at least 16 characters.")
        return secret
