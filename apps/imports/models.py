"""A CSV import: the uploaded file (on disk, under MEDIA_ROOT), what checking it found, and
how far importing it got. Progress lives on the row, so the job's page shows it after a
reload and from any process.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class ImportJob(models.Model):
    class Kind(models.TextChoices):
        INCIDENTS = "incidents", "Incidents"
        RELEASES = "releases", "Releases"

    class Mode(models.TextChoices):
        EVERY_ROW = "every_row", "Import every acceptable row"
        ALL_OR_NOTHING = "all_or_nothing", "All or nothing"

    class State(models.TextChoices):
        CHECKING = "checking", "Checking the file"
        CHECKED = "checked", "Checked, ready to import"
        QUEUED = "queued", "Waiting for the worker"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="import_jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.EVERY_ROW)
    time_zone = models.CharField(max_length=64)
    file_path = models.CharField(max_length=300, help_text="Relative to MEDIA_ROOT.")
    file_name = models.CharField(max_length=200)
    file_size = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.CHECKING)
    # What checking the whole file found (a dry run), then what the import did.
    total_rows = models.PositiveIntegerField(default=0)
    checked_rows = models.PositiveIntegerField(default=0)
    will_create = models.PositiveIntegerField(default=0)
    will_update = models.PositiveIntegerField(default=0)
    will_flag = models.PositiveIntegerField(default=0)
    will_refuse = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    flagged_count = models.PositiveIntegerField(default=0)
    refused_count = models.PositiveIntegerField(default=0)
    # Unknown columns (ignored) and problems with the file as a whole.
    notes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    # The stage running a failed job again starts ("check" or "import"); empty when running
    # it again cannot help (the file itself is at fault).
    rerun_stage = models.CharField(max_length=8, blank=True)
    # Raised by every re-run: a worker still busy with an earlier attempt finds it changed
    # and stops instead of writing (services._beat).
    attempt = models.PositiveIntegerField(default=0)
    # When the current stage was handed to the worker queue, and the last sign of life of
    # the worker running it (empty until a worker takes it). A running job whose heartbeat
    # is too old has lost its worker (services.import_jobs_fail_stale).
    queued_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.file_name}"

    def get_absolute_url(self) -> str:
        return reverse("imports:detail", kwargs={"slug": self.team.slug, "pk": self.pk})

    @property
    def running(self) -> bool:
        return self.state in (self.State.CHECKING, self.State.QUEUED, self.State.IMPORTING)

    @property
    def can_rerun(self) -> bool:
        return self.state == self.State.FAILED and bool(self.rerun_stage)


class ImportProblem(models.Model):
    """A row the import refuses (`refused`) or stores with a flag: its number in the file,
    the column and the reason, and the row as it was read (for the download)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="problems")
    stage = models.CharField(max_length=8, default="import")  # "check" or "import"
    row_number = models.PositiveIntegerField()
    column = models.CharField(max_length=64, blank=True)
    message = models.TextField()
    refused = models.BooleanField(default=True)
    raw = models.JSONField(default=dict)

    class Meta:
        ordering = ["row_number", "id"]
        indexes = [models.Index(fields=["job", "stage", "refused", "row_number"])]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.message}"
