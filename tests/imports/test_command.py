"""`manage.py import_csv`: the same import from the terminal, a summary, errors in words."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.releases.models import Release
from tests.factories import TeamFactory
from tests.imports.helpers import csv_bytes
from tests.imports.test_rows import RELEASE_HEADER, release_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "deploys.csv"
    path.write_bytes(csv_bytes(RELEASE_HEADER, release_rows()))
    return path


def test_imports_every_acceptable_row_and_lists_the_refused(sample: Path) -> None:
    team = TeamFactory(slug="payments")
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_csv", str(sample), team="payments", kind="releases", stdout=out, stderr=err
    )
    assert "4 rows: 2 created, 0 updated, 1 stored with a flag, 2 refused." in out.getvalue()
    assert "Row 4: status: Must be one of" in err.getvalue()
    assert "Importing" in err.getvalue()  # the progress bar
    assert Release.objects.filter(team=team).count() == 2
    out = io.StringIO()
    call_command(
        "import_csv",
        str(sample),
        team="payments",
        kind="releases",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "0 created, 2 updated" in out.getvalue()
    assert Release.objects.filter(team=team).count() == 2


def test_all_or_nothing_refuses_the_file(sample: Path) -> None:
    TeamFactory(slug="payments")
    with pytest.raises(CommandError, match="nothing is imported"):
        call_command(
            "import_csv",
            str(sample),
            "--all-or-nothing",
            team="payments",
            kind="releases",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert not Release.objects.exists()


def test_time_zone_option(tmp_path: Path) -> None:
    team = TeamFactory(slug="payments")
    path = tmp_path / "x.csv"
    path.write_text("service,version,deployed_at\napi,1,2025-01-10 09:00\n")
    call_command(
        "import_csv",
        str(path),
        team="payments",
        kind="releases",
        timezone="Europe/Berlin",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert Release.objects.get(team=team).deployed_at.isoformat() == "2025-01-10T08:00:00+00:00"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"team": "nope", "kind": "releases"}, "No team with slug 'nope'"),
        ({"team": "payments", "kind": "releases", "timezone": "Mars/Base"}, "not a time zone"),
    ],
)
def test_errors_are_command_errors(sample: Path, options: dict, message: str) -> None:
    TeamFactory(slug="payments")
    with pytest.raises(CommandError, match=message):
        call_command(
            "import_csv", str(sample), stdout=io.StringIO(), stderr=io.StringIO(), **options
        )


def test_a_missing_file_or_column(tmp_path: Path) -> None:
    TeamFactory(slug="payments")
    with pytest.raises(CommandError, match="No file at"):
        call_command("import_csv", str(tmp_path / "none.csv"), team="payments", kind="releases")
    bad = tmp_path / "bad.csv"
    bad.write_text("title\nx\n")
    with pytest.raises(CommandError, match="lacks the column"):
        call_command("import_csv", str(bad), team="payments", kind="incidents")
