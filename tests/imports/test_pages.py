"""The import pages: who may use them, the flow from upload to the refused rows' download,
and a reload while the progress bar runs."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.imports.models import ImportJob
from apps.imports.services import job_create
from apps.releases.models import Release
from tests.core.personas import HTMX, Personas, client_for
from tests.imports.helpers import csv_bytes
from tests.imports.test_rows import RELEASE_HEADER, release_rows

pytestmark = pytest.mark.django_db


def upload_data(kind: str = "releases", mode: str = "every_row", data: bytes | None = None) -> dict:
    content = data if data is not None else csv_bytes(RELEASE_HEADER, release_rows())
    return {
        "file": SimpleUploadedFile("deploys.csv", content, content_type="text/csv"),
        "kind": kind,
        "mode": mode,
        "time_zone": "UTC",
    }


def a_job(people: Personas) -> ImportJob:
    return job_create(
        team=people.team,
        kind="releases",
        mode="every_row",
        time_zone="UTC",
        file_name="deploys.csv",
        chunks=[csv_bytes(RELEASE_HEADER, release_rows())],
        check=False,
    )


def pages(people: Personas) -> list[tuple[str, str]]:
    job = a_job(people)
    slug = people.team.slug
    return [
        ("get", reverse("imports:list", args=[slug])),
        ("get", reverse("imports:detail", args=[slug, job.pk])),
        ("get", reverse("imports:refused", args=[slug, job.pk])),
        ("post", reverse("imports:start", args=[slug, job.pk])),
    ]


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_anonymous_is_sent_to_log_in(people: Personas, headers: dict) -> None:
    for method, url in pages(people):
        response = getattr(Client(), method)(url, headers=headers)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_member_of_the_team_is_forbidden(people: Personas, headers: dict) -> None:
    client = client_for(people.member)
    for method, url in pages(people):
        assert getattr(client, method)(url, headers=headers).status_code == 403, url


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_another_team_is_not_found(people: Personas, headers: dict) -> None:
    client = client_for(people.outsider)
    for method, url in pages(people):
        assert getattr(client, method)(url, headers=headers).status_code == 404, url
    # A manager of another team does not see this team's imports either.
    job = a_job(people)
    other = reverse("imports:detail", args=[people.other_team.slug, job.pk])
    assert client_for(people.manager).get(other, headers=headers).status_code == 404


@pytest.mark.parametrize("who", ["manager", "admin"])
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_managers_and_admins_may(people: Personas, who: str, headers: dict) -> None:
    client = client_for(getattr(people, who))
    for method, url in pages(people)[:3]:
        assert getattr(client, method)(url, headers=headers).status_code in (200, 286), url


def test_upload_preview_import_and_refused_rows(
    people: Personas, django_capture_on_commit_callbacks, inline_worker
) -> None:
    client = client_for(people.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:list", args=["payments"]), upload_data())
    job = ImportJob.objects.get(team=people.team)
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    # The worker (in-process without a broker) has checked the whole file.
    page = client.get(job.get_absolute_url()).content.decode()
    assert "Preview: the first 4 rows" in page
    assert "2</strong> will be created" in page
    assert "2</strong> will be refused" in page
    assert "Must be one of succeeded, failed, rolled_back." in page
    assert not Release.objects.filter(team=people.team).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:start", args=["payments", job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert Release.objects.filter(team=people.team).count() == 2
    page = client.get(job.get_absolute_url()).content.decode()
    assert "2</strong> created" in page
    assert 'value="100"' in page

    download = client.get(reverse("imports:refused", args=["payments", job.pk]))
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0] == ["row", "column", "reason", *RELEASE_HEADER]
    assert [(r[0], r[1]) for r in rows[1:]] == [("4", "status"), ("5", "deployed_at")]
    assert rows[1][3:6] == ["r3", "checkout", "1.2"]
    assert rows[1][7] == "shipped"

    # Starting it again is refused in words, not a 500.
    response = client.post(reverse("imports:start", args=["payments", job.pk]), follow=True)
    assert "not waiting to start" in response.content.decode()


def test_an_upload_that_cannot_be_read_keeps_the_form_and_says_why(people: Personas) -> None:
    client = client_for(people.manager)
    response = client.post(
        reverse("imports:list", args=["payments"]), upload_data(data=b"service;version\n")
    )
    assert response.status_code == 200
    assert "separated by semicolons or tabs" in response.content.decode()
    response = client.post(
        reverse("imports:list", args=["payments"]), upload_data(data=b"service,version\n")
    )
    assert response.status_code == 200
    assert "lacks the column deployed_at" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_all_or_nothing_with_refused_rows_offers_no_import(
    people: Personas, django_capture_on_commit_callbacks, inline_worker
) -> None:
    client = client_for(people.admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:list", args=["payments"]), upload_data(mode="all_or_nothing"))
    job = ImportJob.objects.get()
    page = client.get(job.get_absolute_url()).content.decode()
    assert "this file cannot be imported" in page
    response = client.post(reverse("imports:start", args=["payments", job.pk]), follow=True)
    assert "nothing is imported" in response.content.decode()
    assert not Release.objects.exists()


def test_a_reload_during_the_import_shows_the_stored_progress_and_polls(people: Personas) -> None:
    job = a_job(people)
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.IMPORTING, total_rows=4000, processed_rows=1000
    )
    client = client_for(people.manager)
    page = client.get(job.get_absolute_url()).content.decode()
    assert "1,000 of 4,000 rows imported (25 %)" in page
    assert 'value="25"' in page
    assert 'hx-trigger="every 1s"' in page
    fragment = client.get(job.get_absolute_url(), headers=HTMX)
    assert fragment.status_code == 200
    assert 'id="import-status"' in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    # Once done, the fragment answers 286: htmx swaps it in and stops polling.
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.DONE, processed_rows=4000)
    done = client.get(job.get_absolute_url(), headers=HTMX)
    assert done.status_code == 286
    assert 'hx-trigger="every 1s"' not in done.content.decode()


@pytest.mark.parametrize("noun", ["releases", "incidents"])
def test_the_lists_offer_the_import_to_managers_only(people: Personas, noun: str) -> None:
    url = reverse(f"{noun}:list", args=["payments"])
    link = f'href="{reverse("imports:list", args=["payments"])}"'
    assert link in client_for(people.manager).get(url).content.decode()
    assert link in client_for(people.admin).get(url).content.decode()
    assert link not in client_for(people.member).get(url).content.decode()
