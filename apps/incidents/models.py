from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from apps.core import bounds
from apps.core.records import SourcedRecord, optional_link


class Incident(SourcedRecord):
    class Severity(models.TextChoices):
        SEV1 = "SEV1", "SEV1 – critical"
        SEV2 = "SEV2", "SEV2 – major"
        SEV3 = "SEV3", "SEV3 – minor"
        SEV4 = "SEV4", "SEV4 – low"

    class Cause(models.TextChoices):
        RELEASE = "release", "A release of the team"
        NOT_DEPLOY = "not_deploy", "Not caused by a deployment"
        UNKNOWN = "unknown", "Unknown yet"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="incidents")
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=4, choices=Severity.choices, default=Severity.SEV3)
    service = models.CharField(max_length=120, blank=True)
    started_at = models.DateTimeField(
        help_text="When the impact began.", validators=[bounds.validate_instant]
    )
    # A sender told execdash of the resolution only (a PagerDuty `incident.resolved` without
    # `created_at`, its trigger never received): `started_at` then holds the earliest moment
    # known, not the start, and the incident is left out of the recovery times until an event
    # or a person gives the real start.
    start_unknown = models.BooleanField(
        default=False,
        db_default=False,  # rows written outside the ORM (a bulk COPY) are whole by default
        help_text=(
            "The start was not reported: started at is the first moment known, and the "
            "incident is left out of time to restore."
        ),
    )
    detected_at = models.DateTimeField(null=True, blank=True, validators=[bounds.validate_instant])
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty while open.", validators=[bounds.validate_instant]
    )
    cause = models.CharField(max_length=16, choices=Cause.choices, default=Cause.UNKNOWN)
    caused_by = optional_link("releases.Release", related_name="caused_incidents")
    summary = models.TextField(blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    reported_by = optional_link(settings.AUTH_USER_MODEL, related_name="+")

    class Meta(SourcedRecord.Meta):
        ordering = ["-started_at", "-id"]
        constraints = [
            *SourcedRecord.Meta.constraints,
            *bounds.constraints_for("incidents.Incident"),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("started_at")),
                name="incident_resolved_after_start",
            ),
            models.CheckConstraint(
                condition=Q(detected_at__isnull=True) | Q(detected_at__gte=F("started_at")),
                name="incident_detected_after_start",
            ),
            models.CheckConstraint(
                condition=Q(caused_by__isnull=True) | Q(cause="release"),
                name="incident_caused_by_only_when_release",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "started_at"], name="incident_team_started_idx"),
            models.Index(fields=["started_at"], name="incident_started_idx"),
            models.Index(fields=["caused_by"], name="incident_caused_by_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", kwargs={"slug": self.team.slug, "pk": self.pk})

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
