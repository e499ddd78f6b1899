"""Forms of the release pages. They parse and shape input; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from apps.core.forms import ListFilterForm, TeamRecordChoiceField, local_datetime_field
from apps.incidents.models import Incident
from apps.incidents.selectors import incident_choices
from apps.releases.models import Release
from apps.teams.models import Team


class IncidentChoiceField(TeamRecordChoiceField):
    model = Incident
    plural = "incidents"

    def label_from_instance(self, obj: Incident) -> str:  # type: ignore[override]
        started = timezone.localtime(obj.started_at).strftime("%d %b %Y %H:%M")
        return f"{obj.severity} · {obj.title} — began {started}"


class ReleaseForm(forms.Form):
    service = forms.CharField(
        max_length=120,
        error_messages={"required": "Name the service that was deployed."},
        widget=forms.TextInput(attrs={"list": "service-options", "autocomplete": "off"}),
    )
    version = forms.CharField(
        max_length=120,
        error_messages={"required": "Give the version (a tag, a number or a commit)."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    deployed_at = local_datetime_field(label="Deployed at", required=True)
    status = forms.ChoiceField(
        choices=Release.Status.choices,
        initial=Release.Status.SUCCEEDED,
        help_text="Failed or rolled back counts toward the change failure rate.",
    )
    first_commit_at = local_datetime_field(
        label="First commit at",
        required=False,
        help_text="When the oldest change in it was committed; gives the lead time.",
    )
    change_count = forms.IntegerField(
        label="Changes",
        min_value=0,
        max_value=1_000_000,
        required=False,
        initial=0,
        help_text="Commits or merged pull requests in this release.",
        error_messages={"invalid": "Enter a whole number.", "min_value": "Cannot be negative."},
    )
    deployed_by = forms.CharField(max_length=150, required=False, help_text="A username or handle.")
    fixes_incident = IncidentChoiceField(
        label="Fixes incident",
        required=False,
        empty_label="None",
        help_text="If this release fixed one of the team's incidents.",
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields["deployed_at"].error_messages["required"] = "Say when it was deployed."
        self.fields["fixes_incident"].queryset = incident_choices(team=team)  # type: ignore[attr-defined]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "service": data["service"].strip(),
            "version": data["version"].strip(),
            "deployed_at": data["deployed_at"],
            "status": data["status"],
            "first_commit_at": data.get("first_commit_at"),
            "change_count": data.get("change_count") or 0,
            "deployed_by": (data.get("deployed_by") or "").strip(),
            "fixes_incident": data.get("fixes_incident"),
        }


class ReleaseStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Release.Status.choices)


class ReleaseLinkIncidentForm(forms.Form):
    """Name this release as the cause of one of the team's incidents."""

    incident = IncidentChoiceField(
        label="Incident it caused",
        empty_label="Choose an incident…",
        help_text="Incidents of the team that began after this release was deployed.",
        required_message="Choose the incident this release caused.",
    )

    def __init__(self, *args: Any, release: Release, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["incident"].queryset = incident_choices(  # type: ignore[attr-defined]
            team=release.team, started_since=release.deployed_at
        )


class ReleaseFilterForm(ListFilterForm):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Release.Status.choices], required=False
    )
    field_order = ("status", "service")
