"""The upload form of a CSV import. It shapes input; the rules live in the services."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.conf import settings

from apps.imports.models import ImportJob


def _zones() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones()) if "/" in name or name == "UTC"]


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, the first line naming the columns (see the README).",
        error_messages={"required": "Choose a CSV file.", "empty": "The file is empty."},
    )
    kind = forms.ChoiceField(
        label="The file holds",
        choices=ImportJob.Kind.choices,
        initial=ImportJob.Kind.RELEASES,
    )
    mode = forms.ChoiceField(
        label="Mode",
        choices=ImportJob.Mode.choices,
        initial=ImportJob.Mode.EVERY_ROW,
        widget=forms.RadioSelect,
        help_text="All or nothing imports no row if any row would be refused.",
    )
    time_zone = forms.ChoiceField(
        label="Time zone of times without an offset",
        help_text="A timestamp with an offset (+01:00, Z) keeps it.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        field.choices = _zones()  # type: ignore[attr-defined]
        field.initial = settings.EXECDASH_TIME_ZONE

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.EXECDASH_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size // (1024 * 1024)} MB; at most "
                f"{limit // (1024 * 1024)} MB can be imported here (the import_csv command "
                "has no limit)."
            )
        return upload

    def clean_time_zone(self) -> str:
        zone = self.cleaned_data["time_zone"]
        ZoneInfo(zone)
        return str(zone)
