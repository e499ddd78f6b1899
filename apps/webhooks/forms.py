from __future__ import annotations

from typing import Any

from django import forms

from apps.incidents.models import Incident
from apps.teams.models import Team
from apps.webhooks.models import Webhook


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


class SecretForm(forms.Form):
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
