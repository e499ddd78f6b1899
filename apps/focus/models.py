from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core import bounds


class FocusKind(models.Model):
    """What a team optimizes for. Three are built in; admins may add others."""

    STABILITY = "stability"
    THROUGHPUT = "throughput"
    KNOWLEDGE_SHARING = "knowledge_sharing"

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    builtin = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FocusPeriod(models.Model):
    """A team's declared focus for a period. Periods of one team never overlap.

    `ends_on` is the last day of the period (inclusive); empty means it is current.
    Its lifecycle (apps.focus.services): proposed -> aligned -> closed, or proposed -> sent
    back -> (edited) proposed again. Every step is a FocusEvent; nothing is overwritten
    without one.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        SENT_BACK = "sent_back", "Sent back"
        ALIGNED = "aligned", "Aligned"
        CLOSED = "closed", "Closed"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="focus_periods")
    kind = models.ForeignKey(FocusKind, on_delete=models.PROTECT, related_name="periods")
    starts_on = models.DateField(validators=[bounds.validate_day])
    ends_on = models.DateField(null=True, blank=True, validators=[bounds.validate_day])
    rationale = models.TextField()
    success_signals = models.JSONField(
        default=list,
        blank=True,
        help_text="Signals that will show it worked: "
        '[{"metric": "time_to_restore", "comparator": "<", "target": 4}] (apps.focus.catalog).',
    )
    tradeoff_metrics = models.JSONField(
        default=list,
        blank=True,
        help_text='The metrics that may get worse meanwhile, e.g. ["deployment_frequency"].',
    )
    tradeoff = models.CharField(
        max_length=200,
        blank=True,
        help_text="Why the team accepts that trade-off, in a sentence.",
    )
    revisit_on = models.DateField(null=True, blank=True, validators=[bounds.validate_day])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    aligned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    aligned_at = models.DateTimeField(null=True, blank=True)
    proposed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was last proposed (waiting for sign-off since)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="focus_ends_after_start",
            ),
            *bounds.constraints_for("focus.FocusPeriod"),
        ]
        indexes = [models.Index(fields=["team", "starts_on"], name="focus_team_start_idx")]
        # On PostgreSQL an exclusion constraint (migration 0002) also forbids overlaps;
        # on SQLite apps.focus.services enforces the same rule.

    def __str__(self) -> str:
        return f"{self.team}: {self.kind} from {self.starts_on}"

    def covers(self, day: dt.date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)

    def revisit_overdue(self, today: dt.date) -> bool:
        return (
            self.revisit_on is not None
            and self.revisit_on < today
            and self.status != self.Status.CLOSED
        )


class FocusEvent(models.Model):
    """One step in a focus period's history: who did what, when, with their note.

    `changes` snapshots what the step changed: `{field: [before, after]}` (for `proposed`,
    the whole proposal as `{field: [null, value]}`), so the timeline can say what an edit or
    a "keep" changed even after later steps.
    """

    class Kind(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        SENT_BACK = "sent_back", "Sent back"
        EDITED = "edited", "Edited"
        ALIGNED = "aligned", "Aligned"
        REVISITED_KEEP = "revisited_keep", "Revisited: kept"
        REVISITED_CHANGE = "revisited_change", "Revisited: changed"
        CLOSED = "closed", "Closed"

    period = models.ForeignKey(FocusPeriod, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["period", "at"], name="focus_event_period_at_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.at:%Y-%m-%d %H:%M})"


class SentReminder(models.Model):
    """A reminder email decided for one recipient about one period on one day.

    The unique key makes "at most one per period, recipient, kind and day" a database rule:
    the row is inserted before the mail is sent (apps.focus.reminders says why).
    """

    class Kind(models.TextChoices):
        REVISIT_DUE = "revisit_due", "Revisit due"
        SIGNOFF_WAITING = "signoff_waiting", "Waiting for sign-off"

    period = models.ForeignKey(FocusPeriod, on_delete=models.CASCADE, related_name="reminders")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-day", "period_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "recipient", "day", "kind"], name="focus_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for period {self.period_id} on {self.day}"


class FocusEvaluation(models.Model):
    """A focus period's stored "did it work" answer (apps.focus.evaluations).

    The worker recomputes a team's rows whenever it recomputes the team's rollups, so pages
    and the API read them in one query. A row holds for the team's recompute version it was
    computed for (`version`, as apps.metrics.selectors.scope_versions gives it), the day it
    was computed (a running period is judged "so far") and the period's kind and dates
    (`signature`); when any of them moved on, readers compute the answer afresh.
    """

    period = models.OneToOneField(FocusPeriod, on_delete=models.CASCADE, related_name="evaluation")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="+")
    version = models.CharField(max_length=40, blank=True)
    evaluated_on = models.DateField()
    signature = models.CharField(max_length=80)
    verdict = models.CharField(max_length=20)
    payload = models.JSONField()
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"evaluation of period {self.period_id}: {self.verdict}"
