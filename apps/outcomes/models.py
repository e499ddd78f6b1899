from __future__ import annotations

from django.db import models

from apps.core import bounds


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
    baseline = models.FloatField(validators=[bounds.validate_number])
    target = models.FloatField(validators=[bounds.validate_number])
    target_date = models.DateField(
        null=True,
        blank=True,
        validators=[bounds.validate_day],
        help_text="When the target should be reached (optional).",
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="The organization-wide outcome this team outcome ladders up to (optional).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(baseline=models.F("target")), name="outcome_target_differs"
            ),
            *bounds.constraints_for("outcomes.Outcome"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_organization_wide(self) -> bool:
        return self.team_id is None


class OutcomeMeasurement(models.Model):
    outcome = models.ForeignKey(Outcome, on_delete=models.CASCADE, related_name="measurements")
    measured_on = models.DateField(validators=[bounds.validate_day])
    value = models.FloatField(validators=[bounds.validate_number])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["outcome", "measured_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["outcome", "measured_on"], name="measurement_outcome_day_unique"
            ),
            *bounds.constraints_for("outcomes.OutcomeMeasurement"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome}: {self.value} on {self.measured_on}"


class OutcomeStatus(models.Model):
    """The stored answer for one outcome: its latest progress and whether it moved over the
    last 4 weeks (`apps/outcomes/rules.py`). Rewritten by every write to the outcome and by
    the worker after it recomputes the team; pages read it instead of the measurements."""

    outcome = models.OneToOneField(
        Outcome, on_delete=models.CASCADE, primary_key=True, related_name="status"
    )
    latest_on = models.DateField(null=True, blank=True)
    latest_value = models.FloatField(null=True, blank=True)
    progress = models.FloatField(null=True, blank=True, help_text="0 at baseline, 1 at target.")
    progress_before = models.FloatField(
        null=True, blank=True, help_text="Progress as of the start of the last 4 weeks."
    )
    moved = models.BooleanField(
        default=False, help_text="Progressed toward the target over the last 4 weeks."
    )
    as_of = models.DateField()
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "outcome statuses"

    def __str__(self) -> str:
        return f"status of {self.outcome_id} as of {self.as_of}"


class TeamOutcomeFlag(models.Model):
    """The stored "busy, not moving" answer of a team (METRICS.md, "Outcome vs output"):
    its output over the last 4 full weeks against the 4 before, and how many of its
    outcomes moved. Upserted per team by the worker after each recompute of the team."""

    team = models.OneToOneField(
        "teams.Team", on_delete=models.CASCADE, primary_key=True, related_name="outcome_flag"
    )
    busy_not_moving = models.BooleanField(default=False)
    releases_recent = models.PositiveIntegerField(default=0)
    releases_before = models.PositiveIntegerField(default=0)
    changes_recent = models.PositiveBigIntegerField(default=0)
    changes_before = models.PositiveBigIntegerField(default=0)
    outcomes = models.PositiveIntegerField(default=0)
    outcomes_moved = models.PositiveIntegerField(default=0)
    as_of = models.DateField()
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"outcome flag of {self.team_id} as of {self.as_of}"
