from __future__ import annotations

from typing import Any

from django import forms

from apps.teams.models import Team

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
