"""Forms of the incident pages. They parse and shape input; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from apps.core.forms import (
    ListFilterForm,
    TeamRecordChoiceField,
    apply_service_errors,
    local_datetime_field,
)
from apps.incidents.models import Incident
from apps.releases.models import Release
from apps.releases.selectors import release_choices
from apps.teams.models import Team


class ReleaseChoiceField(TeamRecordChoiceField):
    model = Release
    plural = "releases"

    def label_from_instance(self, obj: Release) -> str:  # type: ignore[override]
        deployed = timezone.localtime(obj.deployed_at).strftime("%d %b %Y %H:%M")
        status = "" if obj.status == Release.Status.SUCCEEDED else f" ({obj.get_status_display()})"
        return f"{obj.service} {obj.version} — deployed {deployed}{status}"


class IncidentForm(forms.Form):
    title = forms.CharField(
        max_length=200,
        error_messages={"required": "Give the incident a title."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="What people noticed, in a few words.",
    )
    severity = forms.ChoiceField(choices=Incident.Severity.choices, initial=Incident.Severity.SEV3)
    service = forms.CharField(
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"list": "service-options", "autocomplete": "off"}),
        help_text="The service that was affected; it narrows the suggested release.",
    )
    started_at = local_datetime_field(
        label="Impact began", required=True, help_text="When users were first affected."
    )
    detected_at = local_datetime_field(label="Detected at", required=False)
    resolved_at = local_datetime_field(
        label="Resolved at", required=False, help_text="Leave empty while it is still open."
    )
    cause = forms.ChoiceField(
        label="What caused it?",
        choices=Incident.Cause.choices,
        initial=Incident.Cause.UNKNOWN,
        widget=forms.RadioSelect,
    )
    caused_by = ReleaseChoiceField(
        label="Release that caused it",
        required=False,
        empty_label="Choose a release…",
        help_text="The team's most recent releases.",
    )
    summary = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What happened and what was done; you can add to it later.",
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields["started_at"].error_messages["required"] = "Say when the impact began."
        self.fields["caused_by"].queryset = release_choices(team=team)  # type: ignore[attr-defined]

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned values as `incident_create` takes them (the ones that parsed, when the
        form has errors). A release picked in the menu counts only when the reporter said a
        release caused it.
        """
        data = getattr(self, "cleaned_data", {})
        cause = data.get("cause") or Incident.Cause.UNKNOWN
        return {
            "title": (data.get("title") or "").strip(),
            "severity": data.get("severity") or Incident.Severity.SEV3,
            "service": (data.get("service") or "").strip(),
            "started_at": data.get("started_at"),
            "detected_at": data.get("detected_at"),
            "resolved_at": data.get("resolved_at"),
            "cause": cause,
            "caused_by": data.get("caused_by") if cause == Incident.Cause.RELEASE else None,
            "summary": (data.get("summary") or "").strip(),
        }


class IncidentCauseForm(forms.Form):
    """Name the release that caused an existing incident."""

    caused_by = ReleaseChoiceField(
        label="Release that caused it",
        empty_label="Choose a release…",
        help_text="Releases of the team deployed before the incident began.",
        required_message="Choose the release that caused it.",
    )

    def __init__(self, *args: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["caused_by"].queryset = release_choices(  # type: ignore[attr-defined]
            team=incident.team, deployed_before=incident.started_at
        )
        self.fields["caused_by"].initial = incident.caused_by_id


STATUS_CHOICES = [("", "Open and resolved"), ("open", "Open"), ("resolved", "Resolved")]


class IncidentFilterForm(ListFilterForm):
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    severity = forms.ChoiceField(
        choices=[("", "Any severity"), *Incident.Severity.choices], required=False
    )
    field_order = ("status", "severity", "service")


# Kept importable from here for the pages that used them before they were shared.
__all__ = [
    "IncidentCauseForm",
    "IncidentFilterForm",
    "IncidentForm",
    "ReleaseChoiceField",
    "apply_service_errors",
    "local_datetime_field",
]
