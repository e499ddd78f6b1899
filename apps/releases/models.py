from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.core import bounds
from apps.core.records import Source, SourcedRecord, optional_link


class Release(SourcedRecord):
    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        ROLLED_BACK = "rolled_back", "Rolled back"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="releases")
    service = models.CharField(max_length=120)
    version = models.CharField(max_length=120)
    deployed_at = models.DateTimeField(validators=[bounds.validate_instant])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUCCEEDED)
    first_commit_at = models.DateTimeField(
        null=True, blank=True, validators=[bounds.validate_instant]
    )
    change_count = models.PositiveIntegerField(default=0)
    deployed_by = models.CharField(
        max_length=150, blank=True, help_text="Who deployed it (a username or handle)."
    )
    fixes_incident = optional_link("incidents.Incident", related_name="fixed_by_releases")
    recorded_by = optional_link(settings.AUTH_USER_MODEL, related_name="+")

    class Meta(SourcedRecord.Meta):
        ordering = ["-deployed_at", "-id"]
        constraints = [
            *SourcedRecord.Meta.constraints,
            *bounds.constraints_for("releases.Release"),
        ]
        indexes = [
            models.Index(fields=["team", "deployed_at"], name="release_team_deployed_idx"),
            models.Index(fields=["deployed_at"], name="release_deployed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.version}"

    def get_absolute_url(self) -> str:
        return reverse("releases:detail", kwargs={"slug": self.team.slug, "pk": self.pk})

    @property
    def is_failed_status(self) -> bool:
        return self.status in (self.Status.FAILED, self.Status.ROLLED_BACK)


FAILED_STATUSES = (Release.Status.FAILED, Release.Status.ROLLED_BACK)
__all__ = ["FAILED_STATUSES", "Q", "Release", "Source"]
