"""Release pages: who may see them, the record form, marking a release failed or rolled
back, and naming it as the cause of an incident.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.incidents.models import Incident
from apps.releases.models import Release
from tests.core.personas import HTMX, client_for, local
from tests.factories import IncidentFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def errors_of(response, field: str) -> list[str]:
    html = response.content.decode()
    match = re.search(rf'<ul class="field-errors" id="err-{field}">(.*?)</ul>', html, re.S)
    assert match, f"no error slot for {field}"
    return [html_lib.unescape(m) for m in re.findall(r"<li>(.*?)</li>", match.group(1))]


def good_data(**overrides) -> dict[str, str]:
    now = timezone.now()
    data = {
        "service": "checkout",
        "version": "3.1.0",
        "deployed_at": local(now - dt.timedelta(hours=1)),
        "status": "succeeded",
        "first_commit_at": local(now - dt.timedelta(days=2)),
        "change_count": "12",
        "deployed_by": "mia",
        "fixes_incident": "",
    }
    data.update(overrides)
    return data


def _urls(people, release) -> dict[str, str]:
    slug = people.team.slug
    return {
        "list": reverse("releases:list", args=[slug]),
        "create": reverse("releases:create", args=[slug]),
        "detail": reverse("releases:detail", args=[slug, release.pk]),
    }


# ---------- who may see what ----------


@pytest.mark.parametrize("name", ["list", "create", "detail"])
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_team_members_managers_and_admins_see_every_page(people, name, headers) -> None:
    url = _urls(people, ReleaseFactory(team=people.team))[name]
    for user in (people.member, people.manager, people.admin):
        assert client_for(user).get(url, headers=headers).status_code == 200, (user, url)


@pytest.mark.parametrize("name", ["list", "create", "detail"])
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_anonymous_is_sent_to_login(people, client: Client, name, headers) -> None:
    url = _urls(people, ReleaseFactory(team=people.team))[name]
    response = client.get(url, headers=headers)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_another_teams_member_gets_404_everywhere(people, outsider_client, headers) -> None:
    release = ReleaseFactory(team=people.team)
    incident = IncidentFactory(team=people.team)
    slug = people.team.slug
    for url in _urls(people, release).values():
        assert outsider_client.get(url, headers=headers).status_code == 404, url
    posts = {
        reverse("releases:create", args=[slug]): good_data(),
        reverse("releases:status", args=[slug, release.pk]): {"status": "failed"},
        reverse("releases:link_incident", args=[slug, release.pk]): {"incident": incident.pk},
    }
    for url, data in posts.items():
        assert outsider_client.post(url, data, headers=headers).status_code == 404, url
    release.refresh_from_db()
    incident.refresh_from_db()
    assert release.status == "succeeded"
    assert incident.caused_by is None
    assert Release.objects.count() == 1


def test_a_release_of_another_team_is_404_under_my_team(people, member_client) -> None:
    theirs = ReleaseFactory(team=people.other_team)
    slug = people.team.slug
    assert member_client.get(reverse("releases:detail", args=[slug, theirs.pk])).status_code == 404
    url = reverse("releases:status", args=[slug, theirs.pk])
    assert member_client.post(url, {"status": "failed"}).status_code == 404


# ---------- the list ----------


def test_list_is_newest_first_paginated_and_filterable(people, member_client) -> None:
    now = timezone.now()
    for i in range(28):
        ReleaseFactory(
            team=people.team,
            version=f"v{i:02d}",
            deployed_at=now - dt.timedelta(hours=i + 1),
            status="failed" if i % 4 == 0 else "succeeded",
            service="search" if i % 2 else "checkout",
        )
    url = reverse("releases:list", args=[people.team.slug])
    page1 = member_client.get(url).content.decode()
    assert page1.index("v00") < page1.index("v01")
    assert "v24" in page1
    assert "v25" not in page1
    page2 = member_client.get(url, {"page": 2}, headers=HTMX).content.decode()
    assert "<html" not in page2
    assert "v25" in page2
    failed = member_client.get(url, {"status": "failed", "service": "checkout"}, headers=HTMX)
    assert re.findall(r"checkout (v\d\d)", failed.content.decode()) == [
        "v00",
        "v04",
        "v08",
        "v12",
        "v16",
        "v20",
        "v24",
    ]


def test_list_empty_state_says_what_to_do(people, member_client) -> None:
    html = member_client.get(reverse("releases:list", args=[people.team.slug])).content.decode()
    assert "No releases recorded for Payments" in html
    assert reverse("releases:create", args=[people.team.slug]) in html


@pytest.mark.parametrize("count", [3, 30])
def test_list_runs_a_constant_number_of_queries(
    people, member_client, django_assert_max_num_queries, count
) -> None:
    for _ in range(count):
        release = ReleaseFactory(team=people.team)
        release.fixes_incident = IncidentFactory(team=people.team)
        release.save()
    url = reverse("releases:list", args=[people.team.slug])
    with django_assert_max_num_queries(9):
        assert member_client.get(url).status_code == 200
    with django_assert_max_num_queries(9):
        assert member_client.get(url, headers=HTMX).status_code == 200


# ---------- the record form ----------


def test_form_defaults_deployed_by_to_the_user(people, member_client) -> None:
    html = member_client.get(reverse("releases:create", args=[people.team.slug])).content.decode()
    assert f'value="{people.member.username}"' in html
    assert "times in UTC" in html


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_good_form_lands_on_the_release_page(people, member_client, headers) -> None:
    incident = IncidentFactory(team=people.team)
    url = reverse("releases:create", args=[people.team.slug])
    response = member_client.post(url, good_data(fixes_incident=str(incident.pk)), headers=headers)
    release = Release.objects.get()
    if headers:
        assert response["HX-Redirect"] == release.get_absolute_url()
    else:
        assert response.status_code == 302
        assert response["Location"] == release.get_absolute_url()
    assert release.team == people.team
    assert release.version == "3.1.0"
    assert release.change_count == 12
    assert release.fixes_incident == incident
    assert release.recorded_by == people.member
    page = member_client.get(release.get_absolute_url()).content.decode()
    assert "Release checkout 3.1.0 recorded." in page
    assert "2 days" in page  # lead time, roughly: first commit two days before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"service": ""}, "service", "Name the service that was deployed."),
        ({"version": ""}, "version", "Give the version (a tag, a number or a commit)."),
        ({"deployed_at": ""}, "deployed_at", "Say when it was deployed."),
        ({"deployed_at": "soon"}, "deployed_at", "Enter a date and time, e.g. 2025-03-14 09:30."),
        (
            {"deployed_at": local(timezone.now() + dt.timedelta(days=1))},
            "deployed_at",
            "A release cannot be deployed in the future.",
        ),
        ({"change_count": "-3"}, "change_count", "Cannot be negative."),
        ({"change_count": "many"}, "change_count", "Enter a whole number."),
        ({"status": "exploded"}, "status", None),
        ({"fixes_incident": "999999"}, "fixes_incident", "Choose one of this team's incidents."),
    ],
)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_bad_input_is_an_error_next_to_the_field(
    people, member_client, overrides, field, message, headers
) -> None:
    url = reverse("releases:create", args=[people.team.slug])
    response = member_client.post(url, good_data(**overrides), headers=headers)
    assert response.status_code == 200
    assert Release.objects.count() == 0
    errors = errors_of(response, field)
    assert errors
    if message:
        assert errors == [message]
    # what was typed is kept
    assert 'value="mia"' in response.content.decode()


def test_an_incident_of_another_team_cannot_be_fixed_here(people, member_client) -> None:
    theirs = IncidentFactory(team=people.other_team)
    url = reverse("releases:create", args=[people.team.slug])
    response = member_client.post(url, good_data(fixes_incident=str(theirs.pk)))
    assert errors_of(response, "fixes_incident") == ["Choose one of this team's incidents."]
    assert Release.objects.count() == 0


# ---------- the release's page ----------


def test_release_page_shows_status_lead_time_and_caused_incidents(people, member_client) -> None:
    deployed = timezone.now() - dt.timedelta(hours=5)
    release = ReleaseFactory(
        team=people.team,
        service="checkout",
        version="4.0",
        deployed_at=deployed,
        first_commit_at=deployed - dt.timedelta(hours=1, minutes=25),
        status="failed",
    )
    IncidentFactory(
        team=people.team,
        title="Broken checkout",
        started_at=deployed + dt.timedelta(minutes=10),
        cause="release",
        caused_by=release,
    )
    html = member_client.get(release.get_absolute_url()).content.decode()
    assert "checkout 4.0" in html
    assert "failed" in html
    assert "1 h 25 min" in html
    assert "Broken checkout" in html
    assert "Mark rolled back" in html
    assert "Mark failed" not in html  # it is failed already


def test_unknown_lead_time_is_a_dash_not_zero(people, member_client) -> None:
    release = ReleaseFactory(team=people.team, first_commit_at=None)
    html = member_client.get(release.get_absolute_url()).content.decode()
    assert re.search(r"<dt>Lead time</dt><dd><span class=\"no-data\"", html)


@pytest.mark.parametrize(("status", "word"), [("failed", "failed"), ("rolled_back", "rolled back")])
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_mark_failed_or_rolled_back(people, member_client, status, word, headers) -> None:
    release = ReleaseFactory(team=people.team)
    url = reverse("releases:status", args=[people.team.slug, release.pk])
    response = member_client.post(url, {"status": status}, headers=headers)
    if headers:
        assert response["HX-Redirect"] == release.get_absolute_url()
    else:
        assert response["Location"] == release.get_absolute_url()
    release.refresh_from_db()
    assert release.status == status
    assert (
        f"Release marked {word}." in member_client.get(release.get_absolute_url()).content.decode()
    )


def test_an_unknown_status_changes_nothing(people, member_client) -> None:
    release = ReleaseFactory(team=people.team)
    url = reverse("releases:status", args=[people.team.slug, release.pk])
    response = member_client.post(url, {"status": "exploded"})
    assert response.status_code == 302
    release.refresh_from_db()
    assert release.status == "succeeded"


def test_link_an_incident_from_the_release(people, member_client) -> None:
    deployed = timezone.now() - dt.timedelta(hours=3)
    release = ReleaseFactory(team=people.team, deployed_at=deployed)
    incident = IncidentFactory(team=people.team, started_at=deployed + dt.timedelta(minutes=20))
    url = reverse("releases:link_incident", args=[people.team.slug, release.pk])
    response = member_client.post(url, {"incident": incident.pk})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.caused_by == release
    assert incident.cause == Incident.Cause.RELEASE
    assert incident.title in member_client.get(release.get_absolute_url()).content.decode()


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_link_errors_stay_on_the_page(people, member_client, headers) -> None:
    deployed = timezone.now() - dt.timedelta(hours=3)
    release = ReleaseFactory(team=people.team, deployed_at=deployed)
    before = IncidentFactory(team=people.team, started_at=deployed - dt.timedelta(hours=1))
    theirs = IncidentFactory(team=people.other_team, started_at=deployed + dt.timedelta(hours=1))
    url = reverse("releases:link_incident", args=[people.team.slug, release.pk])
    for bad in (before.pk, theirs.pk, "", "x"):
        response = member_client.post(url, {"incident": bad}, headers=headers)
        assert response.status_code == 200
        assert errors_of(response, "incident"), bad
    assert not Incident.objects.filter(caused_by=release).exists()


@pytest.mark.parametrize("count", [2, 20])
def test_release_page_runs_a_constant_number_of_queries(
    people, member_client, django_assert_max_num_queries, count
) -> None:
    deployed = timezone.now() - dt.timedelta(hours=3)
    release = ReleaseFactory(team=people.team, deployed_at=deployed)
    for _ in range(count):
        IncidentFactory(
            team=people.team,
            started_at=deployed + dt.timedelta(minutes=5),
            cause="release",
            caused_by=release,
        )
    with django_assert_max_num_queries(11):
        assert member_client.get(release.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(11):
        assert member_client.get(release.get_absolute_url(), headers=HTMX).status_code == 200
