"""Importing rows: good, flagged and refused rows in both modes, re-import, keys, time zones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.records import Source
from apps.imports.models import ImportJob, ImportProblem
from apps.imports.services import import_check, job_create, job_start
from apps.incidents.models import Incident
from apps.metrics.models import DirtyBucket
from apps.releases.models import Release
from tests.factories import IncidentFactory, ReleaseFactory, TeamFactory
from tests.imports.helpers import csv_bytes, run

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs"
RELEASE_HEADER = [
    "external_id",
    "service",
    "version",
    "deployed_at",
    "status",
    "first_commit_at",
    "change_count",
]


def ago(**kw: float) -> str:
    return (timezone.now() - dt.timedelta(**kw)).isoformat()


def release_rows() -> list[list[object]]:
    return [
        ["r1", "checkout", "1.0", ago(days=3), "succeeded", ago(days=4), 3],  # good
        ["r2", "checkout", "1.1", ago(days=2), "failed", ago(days=1), 1],  # flagged
        ["r3", "checkout", "1.2", ago(days=1), "shipped", "", 2],  # refused: status
        ["r4", "search", "9", "yesterday", "succeeded", "", ""],  # refused: timestamp
    ]


def test_every_acceptable_row_imports_good_and_flagged_rows_and_lists_the_refused() -> None:
    team = TeamFactory()
    job = run(team, "releases", csv_bytes(RELEASE_HEADER, release_rows()))
    assert job.state == ImportJob.State.DONE
    assert (job.will_create, job.will_flag, job.will_refuse) == (2, 1, 2)
    assert (job.created_count, job.updated_count, job.flagged_count, job.refused_count) == (
        2,
        0,
        1,
        2,
    )
    stored = {r.external_id: r for r in Release.objects.filter(team=team)}
    assert set(stored) == {"r1", "r2"}
    assert stored["r2"].status == Release.Status.FAILED
    assert stored["r2"].source == Source.CSV
    refused = ImportProblem.objects.filter(job=job, stage="import", refused=True)
    reasons = {(p.row_number, p.column): p.message for p in refused}
    assert reasons[(4, "status")].startswith("Must be one of")
    assert "ISO 8601" in reasons[(5, "deployed_at")]
    flag = ImportProblem.objects.get(job=job, stage="import", refused=False)
    assert (flag.row_number, flag.column) == (3, "first_commit_at")
    # The weeks of what was written are marked for the worker.
    assert DirtyBucket.objects.filter(team=team).exists()


def test_all_or_nothing_with_a_refused_row_imports_nothing() -> None:
    team = TeamFactory()
    job = job_create(
        team=team,
        kind="releases",
        mode=ImportJob.Mode.ALL_OR_NOTHING,
        time_zone="UTC",
        file_name="t.csv",
        chunks=[csv_bytes(RELEASE_HEADER, release_rows())],
        check=False,
    )
    job = import_check(job=job)
    assert job.will_refuse == 2
    with pytest.raises(ValidationError, match="nothing is imported"):
        job_start(job=job, schedule=False)
    assert not Release.objects.filter(team=team).exists()


def test_all_or_nothing_without_refusals_imports_every_row_flagged_ones_too() -> None:
    team = TeamFactory()
    rows = release_rows()[:2]
    job = run(team, "releases", csv_bytes(RELEASE_HEADER, rows), mode=ImportJob.Mode.ALL_OR_NOTHING)
    assert job.state == ImportJob.State.DONE
    assert (job.created_count, job.flagged_count, job.refused_count) == (2, 1, 0)
    assert Release.objects.filter(team=team).count() == 2


def test_all_or_nothing_rolls_back_when_a_row_is_refused_while_writing() -> None:
    """The file changed its verdict between the check and the import (here: the incident a
    row fixes was deleted): the rows written before it are rolled back."""
    team = TeamFactory()
    incident = IncidentFactory(team=team, external_id="INC-1")
    header = [*RELEASE_HEADER, "fixes_incident"]
    rows = [[f"r{i}", "api", f"1.{i}", ago(days=1), "succeeded", "", 1, ""] for i in range(1500)]
    rows.append(["last", "api", "2.0", ago(days=1), "succeeded", "", 1, "INC-1"])
    job = job_create(
        team=team,
        kind="releases",
        mode=ImportJob.Mode.ALL_OR_NOTHING,
        time_zone="UTC",
        file_name="t.csv",
        chunks=[csv_bytes(header, rows)],
        check=False,
    )
    job = job_start(job=import_check(job=job), schedule=False)
    incident.delete()
    from apps.imports.services import import_run

    job = import_run(job=job)
    assert job.state == ImportJob.State.DONE
    assert job.created_count == 0
    assert job.refused_count == 1
    assert "nothing was imported" in job.error
    assert not Release.objects.filter(team=team).exists()


def test_reimporting_the_same_file_creates_no_duplicates_with_or_without_external_id() -> None:
    team = TeamFactory()
    header = ["service", "version", "deployed_at", "status"]
    rows = [["api", "1.0", ago(days=2), "succeeded"], ["api", "1.1", ago(days=1), "succeeded"]]
    first = run(team, "releases", csv_bytes(header, rows))
    assert first.created_count == 2
    rows[1][3] = "rolled_back"
    second = run(team, "releases", csv_bytes(header, rows))
    assert (second.will_create, second.will_update) == (0, 2)
    assert (second.created_count, second.updated_count) == (0, 2)
    assert Release.objects.filter(team=team).count() == 2
    assert Release.objects.get(team=team, version="1.1").status == Release.Status.ROLLED_BACK
    with_ids = [["e1", *rows[0][:3], "succeeded", "", 0]]
    run(team, "releases", csv_bytes(RELEASE_HEADER, with_ids))
    run(team, "releases", csv_bytes(RELEASE_HEADER, with_ids))
    assert Release.objects.filter(team=team, external_id="e1").count() == 1


def test_a_key_twice_in_one_file_is_one_record_and_the_later_row_wins() -> None:
    team = TeamFactory()
    rows = [
        ["dup", "api", "1", ago(days=2), "succeeded", "", 1],
        ["dup", "api", "1", ago(days=2), "failed", "", 1],
    ]
    job = run(team, "releases", csv_bytes(RELEASE_HEADER, rows))
    assert (job.created_count, job.updated_count) == (1, 1)
    assert Release.objects.get(team=team).status == Release.Status.FAILED


def test_times_without_an_offset_are_read_in_the_chosen_zone() -> None:
    team = TeamFactory()
    job = run(
        team,
        "releases",
        csv_bytes(["service", "version", "deployed_at"], [["api", "1", "2025-07-01 12:00"]]),
        time_zone="Europe/Berlin",
    )
    assert job.created_count == 1
    release = Release.objects.get(team=team)
    assert release.deployed_at == dt.datetime(2025, 7, 1, 10, 0, tzinfo=dt.UTC)


def test_a_row_naming_another_team_or_with_extra_cells_is_refused() -> None:
    team = TeamFactory(slug="payments")
    data = (
        b"team,service,version,deployed_at\n"
        b"search,api,1,2025-01-01T00:00:00Z\n"
        b"payments,api,2,2025-01-01T00:00:00Z,surplus\n"
        b"payments,api,3,2025-01-01T00:00:00Z\n"
    )
    job = run(team, "releases", data)
    assert (job.created_count, job.refused_count) == (1, 2)


def test_incidents_use_the_services_rules_and_name_releases_by_external_id() -> None:
    team = TeamFactory()
    release = ReleaseFactory(
        team=team, external_id="deploy-9", deployed_at=timezone.now() - dt.timedelta(days=2)
    )
    header = [
        "external_id",
        "title",
        "severity",
        "started_at",
        "detected_at",
        "resolved_at",
        "caused_by_release",
        "deploy_caused",
    ]
    rows = [
        ["i1", "Checkout down", "sev1", ago(days=1), "", ago(hours=20), "deploy-9", ""],  # good
        [
            "i2",
            "Slow search",
            "SEV3",
            ago(days=1),
            ago(hours=10),
            ago(hours=20),
            "",
            "false",
        ],  # flagged
        ["i3", "Resolved first", "SEV2", ago(days=1), "", ago(days=2), "", ""],  # refused
        ["i4", "Unknown release", "SEV2", ago(days=1), "", "", "nope", ""],  # refused
        ["i5", "", "SEV2", ago(days=1), "", "", "", ""],  # refused: title
    ]
    job = run(team, "incidents", csv_bytes(header, rows))
    assert (job.created_count, job.flagged_count, job.refused_count) == (2, 1, 3)
    i1 = Incident.objects.get(team=team, external_id="i1")
    assert (i1.severity, i1.cause, i1.caused_by_id) == ("SEV1", Incident.Cause.RELEASE, release.pk)
    assert Incident.objects.get(team=team, external_id="i2").cause == Incident.Cause.NOT_DEPLOY
    reasons = {
        p.row_number: (p.column, p.message)
        for p in job.problems.filter(stage="import", refused=True)
    }
    assert reasons[4] == ("resolved_at", "It cannot be resolved before it started.")
    assert reasons[5][0] == "caused_by_release"
    assert reasons[6][0] == "title"


def test_a_file_without_a_required_column_or_not_utf8_is_refused_whole() -> None:
    team = TeamFactory()
    with pytest.raises(ValidationError, match="lacks the column"):
        job_create(
            team=team,
            kind="releases",
            mode="every_row",
            time_zone="UTC",
            file_name="x.csv",
            chunks=[b"service,version\napi,1\n"],
            check=False,
        )
    with pytest.raises(ValidationError, match="UTF-8"):
        job_create(
            team=team,
            kind="releases",
            mode="every_row",
            time_zone="UTC",
            file_name="x.csv",
            chunks=["service,version,deployed_at\n".encode("utf-16")],
            check=False,
        )
    assert not ImportJob.objects.exists()


def test_the_sample_files_import_as_the_readme_says() -> None:
    team = TeamFactory()
    releases = run(
        team, "releases", (DOCS / "sample-releases.csv").read_bytes(), time_zone="Europe/Berlin"
    )
    assert (releases.created_count, releases.flagged_count, releases.refused_count) == (5, 1, 1)
    incidents = run(
        team, "incidents", (DOCS / "sample-incidents.csv").read_bytes(), time_zone="Europe/Berlin"
    )
    assert (incidents.created_count, incidents.flagged_count, incidents.refused_count) == (3, 1, 1)
    caused = Incident.objects.get(team=team, external_id="PD-7001")
    assert caused.caused_by is not None
    assert caused.caused_by.external_id == "deploy-1042"
