"""CSV exports: the lists under their filters, the weekly metrics, the API; formula-looking
cells neutralized, markup exported as plain text; who may download."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.api.services import api_token_create
from apps.core.csvfiles import neutralize
from apps.releases.models import Release
from tests.core.personas import HTMX, Personas, client_for
from tests.factories import IncidentFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def read(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize("cell", ["=SUM(A1:A2)", "+1", "-1+2", "@cmd", "\tx", "\rx"])
def test_formula_looking_text_gets_a_leading_quote(cell: str) -> None:
    assert neutralize(cell) == "'" + cell


def test_plain_text_numbers_and_empty_cells_are_written_as_they_are() -> None:
    assert neutralize("checkout") == "checkout"
    assert neutralize(-3) == -3
    assert neutralize(None) == ""
    assert neutralize(True) == "true"


def test_the_release_list_downloads_under_its_filters_neutralized(people: Personas) -> None:
    ReleaseFactory(
        team=people.team, service='=HYPERLINK("http://evil")', version="1", status="failed"
    )
    ReleaseFactory(team=people.team, service="checkout", version="<script>alert(1)</script>")
    ReleaseFactory(team=people.other_team, service="checkout", version="other team")
    client = client_for(people.member)
    url = reverse("releases:export", args=["payments"])
    rows = read(client.get(url))
    assert len(rows) == 2
    assert {row["service"] for row in rows} == {'\'=HYPERLINK("http://evil")', "checkout"}
    # Markup is plain text in a CSV file: neither escaped nor executed.
    assert "<script>alert(1)</script>" in {row["version"] for row in rows}
    failed = read(client.get(url, {"status": "failed"}))
    assert [row["version"] for row in failed] == ["1"]
    # The list's page links to the download under the same filters.
    page = client.get(reverse("releases:list", args=["payments"]), {"status": "failed"})
    assert f'href="{url}?status=failed"' in page.content.decode()


def test_the_incident_list_downloads_with_the_api_columns(people: Personas) -> None:
    release = ReleaseFactory(team=people.team, external_id="deploy-1")
    IncidentFactory(
        team=people.team, title="-2 errors", cause="release", caused_by=release, severity="SEV1"
    )
    IncidentFactory(team=people.team, title="Slow", severity="SEV3")
    client = client_for(people.member)
    rows = read(client.get(reverse("incidents:export", args=["payments"]), {"severity": "SEV1"}))
    assert len(rows) == 1
    assert rows[0]["title"] == "'-2 errors"
    assert rows[0]["caused_by_release"] == "deploy-1"
    assert rows[0]["deploy_caused"] == "true"


def test_an_exported_file_imports_again_without_duplicates(people: Personas) -> None:
    from apps.imports.services import import_check, import_run, job_create, job_start

    ReleaseFactory(team=people.team, service="api", version="1.0", external_id="e1")
    body = b"".join(
        client_for(people.member)
        .get(reverse("releases:export", args=["payments"]))
        .streaming_content
    )
    job = job_create(
        team=people.team,
        kind="releases",
        mode="every_row",
        time_zone="UTC",
        file_name="x.csv",
        chunks=[body],
        check=False,
    )
    assert job.notes == []  # the read-only columns are known
    job = import_run(job=job_start(job=import_check(job=job), schedule=False))
    assert (job.created_count, job.refused_count) == (1, 0)  # a CSV-source copy of e1
    assert Release.objects.filter(team=people.team).count() == 2


@pytest.mark.parametrize("name", ["releases:export", "incidents:export", "metrics_export"])
def test_who_may_download(people: Personas, name: str) -> None:
    url = reverse(name, args=["payments"])
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    for user in (people.member, people.manager, people.admin):
        assert client_for(user).get(url).status_code == 200
        assert client_for(user).get(url, headers=HTMX).status_code == 200
    assert client_for(people.outsider).get(url).status_code == 404
    assert client_for(people.outsider).get(url, headers=HTMX).status_code == 404


def test_weekly_metrics_download_for_the_range(people: Personas) -> None:
    from apps.metrics.rollups import rollups_process_dirty
    from apps.releases.services import release_create

    release_create(
        team=people.team,
        service="api",
        version="1",
        deployed_at=timezone.now() - dt.timedelta(days=1),
    )
    rollups_process_dirty(trigger="test")
    today = timezone.localdate()
    rows = read(
        client_for(people.member).get(
            reverse("metrics_export", args=["payments"]),
            {
                "start": (today - dt.timedelta(days=28)).isoformat(),
                "end": (today + dt.timedelta(days=1)).isoformat(),
            },
        )
    )
    assert 4 <= len(rows) <= 6
    assert "week_start" in rows[0]
    assert sum(int(float(row["deployments"] or 0)) for row in rows) == 1


def test_the_api_answers_csv_when_asked(people: Personas, client: Client) -> None:
    ReleaseFactory(team=people.team, service="@evil", version="1")
    IncidentFactory(team=people.team, title="Checkout down")
    _, secret = api_token_create(name="ci", team=people.team)
    auth = {"Authorization": f"Bearer {secret}"}
    by_param = read(client.get("/api/v1/releases", {"format": "csv"}, headers=auth))
    assert [row["service"] for row in by_param] == ["'@evil"]
    by_accept = read(client.get("/api/v1/incidents", headers={**auth, "Accept": "text/csv"}))
    assert [row["title"] for row in by_accept] == ["Checkout down"]
    weeks = read(client.get("/api/v1/metrics", {"format": "csv"}, headers=auth))
    assert weeks
    assert "week_start" in weeks[0]
    # JSON stays the default; a bad window is still a JSON 400.
    assert client.get("/api/v1/releases", headers=auth)["Content-Type"].startswith(
        "application/json"
    )
    bad = client.get(
        "/api/v1/releases",
        {"format": "csv", "start": "2026-02-01", "end": "2026-01-01"},
        headers=auth,
    )
    assert bad.status_code == 400
    # Another team's data is not exported to this token.
    assert (
        client.get(
            "/api/v1/releases", {"format": "csv", "team": "search"}, headers=auth
        ).status_code
        == 404
    )


def test_the_team_page_links_the_weekly_metrics_of_its_range(people: Personas) -> None:
    page = client_for(people.member).get(
        reverse("teams:detail", args=["payments"]), {"start": "2026-01-05", "end": "2026-02-01"}
    )
    url = reverse("metrics_export", args=["payments"])
    assert f'href="{url}?start=2026-01-05&amp;end=2026-02-02"' in page.content.decode()
