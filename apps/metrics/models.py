from __future__ import annotations

import json
from typing import Any

from django.db import models


class DirtyBucket(models.Model):
    """A team's ISO week whose rollup must be recomputed: the outbox of every write.

    Written in the same transaction as the incident or release, so a recompute is never
    lost to a broker outage. `marked_at` is bumped on every re-mark: the worker clears a
    bucket only if nobody marked it again while it was recomputing.
    """

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "week_start"], name="dirty_team_week_unique"),
        ]

    def __str__(self) -> str:
        return f"dirty {self.team_id} {self.week_start}"


ORG_SCOPE = 0  # WeeklyRollup.scope of the organization-wide rollup


class SamplesField(models.TextField):
    """A sorted list of integers (durations in µs), stored as a compact JSON list in a text
    column; NULL is "not recorded". Plain text rather than jsonb: the rollups write and
    read it as text (the database neither parses it nor prints it back), and it is smaller.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[int] | None:
        return self.to_python(value)

    def to_python(self, value: Any) -> list[int] | None:
        if value is None or isinstance(value, list):
            return value
        parsed: list[int] = json.loads(value)
        return parsed

    def get_prep_value(self, value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return json.dumps([int(v) for v in value], separators=(",", ":"))

    def value_to_string(self, obj: Any) -> str:
        value = self.value_from_object(obj)
        return "" if value is None else str(self.get_prep_value(value))


class WeeklyRollup(models.Model):
    """Every metric of METRICS.md for one team (or the organization) and one ISO week.

    A team's row also keeps the samples behind its duration statistics (sorted integer
    microseconds, as JSON lists), so the organization's week is an exact function of the
    teams' rows of that week: counts add up, medians and p90 come from the merged samples,
    the bus factor is the lowest of the teams'. NULL samples mean "not recorded" (the
    organization's own rows, and rows written before samples were kept): an organization
    week with such a team row is computed from the raw rows instead.
    """

    scope = models.BigIntegerField(help_text="The team's id, or 0 for the whole organization.")
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="rollups"
    )
    week_start = models.DateField()
    deployments = models.PositiveIntegerField(default=0)
    failed_deployments = models.PositiveIntegerField(default=0)
    rework_deployments = models.PositiveIntegerField(default=0)
    change_count = models.PositiveBigIntegerField(default=0)
    incidents = models.PositiveIntegerField(default=0)
    open_incidents = models.PositiveIntegerField(default=0)
    ttr_median = models.FloatField(null=True)
    ttr_mean = models.FloatField(null=True)
    ttr_p90 = models.FloatField(null=True)
    ttr_n = models.PositiveIntegerField(default=0)
    fdrt_median = models.FloatField(null=True)
    fdrt_mean = models.FloatField(null=True)
    fdrt_p90 = models.FloatField(null=True)
    fdrt_n = models.PositiveIntegerField(default=0)
    lead_median = models.FloatField(null=True)
    lead_mean = models.FloatField(null=True)
    lead_p90 = models.FloatField(null=True)
    lead_n = models.PositiveIntegerField(default=0)
    bus_factor = models.PositiveIntegerField(null=True)
    ttr_samples = SamplesField(
        null=True, blank=True, help_text="Time to restore of each resolved incident (µs)."
    )
    fdrt_samples = SamplesField(
        null=True, blank=True, help_text="Failed deployment recovery times (µs)."
    )
    lead_samples = SamplesField(
        null=True, blank=True, help_text="Lead time of each release with a first commit (µs)."
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["scope", "week_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "week_start"], name="rollup_scope_week_unique"
            ),
        ]
        indexes = [
            # Every team's row of one week: the organization's week is derived from them.
            models.Index(fields=["week_start", "scope"], name="rollup_week_scope_idx"),
        ]

    def __str__(self) -> str:
        return f"rollup {self.scope} {self.week_start}"


class RecomputeRun(models.Model):
    """One pass of the worker (or of `recompute_metrics`) over dirty or requested buckets."""

    trigger = models.CharField(max_length=32)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)
    buckets = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["-started_at"], name="recompute_started_idx")]

    def __str__(self) -> str:
        return f"{self.trigger} at {self.started_at}: {self.buckets} buckets"


class ScopeVersion(models.Model):
    """A counter per scope (team id, or 0 for the organization), bumped by every recompute.

    Cached window answers are keyed by it: once the worker has recomputed a scope, every
    answer cached for that scope is stale and is computed afresh from the rows.
    """

    scope = models.BigIntegerField(unique=True)
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"scope {self.scope} v{self.version}"


class WindowSnapshot(models.Model):
    """The exact metrics of one `[start, end)` window, computed from the raw rows.

    Valid while `version` equals the scope's ScopeVersion; pages and the API read it instead
    of recomputing medians over a year of rows on every request.
    """

    scope = models.BigIntegerField()
    start = models.DateField()
    end = models.DateField()
    version = models.BigIntegerField()
    payload = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "start", "end"], name="snapshot_scope_window_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"snapshot {self.scope} {self.start}..{self.end} v{self.version}"
