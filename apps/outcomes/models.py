from __future__ import annotations

from django.db import models


class Outcome(models.Model):
    """A KPI a team (or the organization, with no team) exists to move."""

    class Direction(models.TextChoices):
        UP = "up", "Up is better"
        DOWN = "down", "Down is better"

    team = models.ForeignKey(
        "teams.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outcomes",
        help_text="Empty for an organization-wide outcome.",
    )
    name = models.CharField(max_length=160)
    unit = models.CharField(max_length=40, blank=True)
    direction = models.CharField(max_length=4, choices=Direction.choices, default=Direction.UP)
    baseline = models.FloatField()
    target = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(baseline=models.F("target")), name="outcome_target_differs"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OutcomeMeasurement(models.Model):
    outcome = models.ForeignKey(Outcome, on_delete=models.CASCADE, related_name="measurements")
    measured_on = models.DateField()
    value = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["outcome", "measured_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["outcome", "measured_on"], name="measurement_outcome_day_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outcome}: {self.value} on {self.measured_on}"
