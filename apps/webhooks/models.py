from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

from apps.incidents.models import Incident

RETENTION_DAYS = 30


def record_key(webhook_id: int, provider_id: str) -> str:
    """The `external_id` of a release or incident a webhook writes: the provider's id
    (a GitHub deployment id, a PagerDuty incident id) namespaced by the webhook. Ids are
    unique per sender, not across senders: github.com and a GitHub Enterprise Server both
    have a deployment 2, and each names its own release.

    The same spelling is frozen in migration 0002, which moved the rows written before."""
    return f"webhook-{webhook_id}:{provider_id}"


def new_public_id() -> str:
    """The unguessable part of the receiver's URL (letters, digits, - and _)."""
    return secrets.token_urlsafe(18)


class Webhook(models.Model):
    """Where GitHub or PagerDuty deliver events for one team.

    The secret is kept encrypted (see apps/webhooks/crypto.py) in a column that is left out
    of serialization (`serialize=False`), so `dumpdata` never exports it.
    """

    class Kind(models.TextChoices):
        GITHUB = "github", "GitHub (deployment statuses)"
        PAGERDUTY = "pagerduty", "PagerDuty (v3 incident events)"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="webhooks")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    public_id = models.CharField(max_length=40, unique=True, default=new_public_id, editable=False)
    environment = models.CharField(
        max_length=100,
        blank=True,
        default="production",
        help_text="GitHub only: the deployment environment whose statuses become releases.",
    )
    severity_high = models.CharField(
        max_length=4,
        choices=Incident.Severity.choices,
        default=Incident.Severity.SEV2,
        help_text="PagerDuty only: the severity of a high-urgency incident.",
    )
    severity_low = models.CharField(
        max_length=4,
        choices=Incident.Severity.choices,
        default=Incident.Severity.SEV4,
        help_text="PagerDuty only: the severity of a low-urgency incident.",
    )
    secret_sealed = models.TextField(editable=False, serialize=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["team__name", "kind", "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} webhook of {self.team}"

    def get_absolute_url(self) -> str:
        return reverse("webhooks:detail", kwargs={"pk": self.pk})

    def record_key(self, provider_id: str) -> str:
        """The `external_id` of the record this webhook writes for the provider's id."""
        return record_key(self.pk, provider_id)

    @property
    def receiver_path(self) -> str:
        return reverse("webhook_receive", kwargs={"public_id": self.public_id})


class WebhookDelivery(models.Model):
    """One request to a webhook's URL and what came of it. Never the secret or the
    signature; kept RETENTION_DAYS days."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        IGNORED = "ignored", "Ignored"
        REFUSED = "refused", "Refused"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    received_at = models.DateTimeField()
    event_id = models.CharField(max_length=200, blank=True)
    event_type = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=500, blank=True)
    http_status = models.PositiveSmallIntegerField()
    record_kind = models.CharField(max_length=16, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # An event is applied once: a redelivery racing the first delivery loses here,
            # is retried, and is then acknowledged as already received.
            models.UniqueConstraint(
                fields=["webhook", "event_id"],
                condition=models.Q(outcome="accepted") & ~models.Q(event_id=""),
                name="delivery_event_accepted_once",
            ),
        ]
        indexes = [
            models.Index(fields=["webhook", "-received_at"], name="delivery_webhook_recent_idx"),
            models.Index(fields=["webhook", "event_id"], name="delivery_webhook_event_idx"),
            models.Index(fields=["received_at"], name="delivery_received_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type or 'delivery'} {self.outcome} ({self.http_status})"
