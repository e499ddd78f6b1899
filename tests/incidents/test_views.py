"""Incident pages: who may see them, the report form's errors and success, inline
validation, the suggested release, resolving and naming the cause.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re

import pytest
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from apps.incidents.models import Incident
from apps.metrics.models import DirtyBucket
from apps.releases.models import Release
from tests.core.personas import HTMX, client_for, local
from tests.factories import IncidentFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def errors_of(response, field: str) -> list[str]:
    """The error messages shown next to a field (the <ul id="err-<field>"> under it)."""
    html = response.content.decode()
    match = re.search(rf'<ul class="field-errors" id="err-{field}">(.*?)</ul>', html, re.S)
    assert match, f"no error slot for {field}"
    return [html_lib.unescape(m) for m in re.findall(r"<li>(.*?)</li>", match.group(1))]


def value_of(response, field: str) -> str | None:
    html = response.content.decode()
    tag = re.search(rf'<(?:input|textarea)[^>]*name="{field}"[^>]*>', html)
    assert tag, f"no input {field}"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def good_data(**overrides) -> dict[str, str]:
    now = timezone.now()
    data = {
        "title": "Checkout returns 502",
        "severity": "SEV2",
        "service": "checkout",
        "started_at": local(now - dt.timedelta(hours=2)),
        "detected_at": local(now - dt.timedelta(hours=1, minutes=50)),
        "resolved_at": "",
        "cause": "unknown",
        "caused_by": "",
        "summary": "Payments failed for 10 minutes.",
    }
    data.update(overrides)
    return data


# ---------- who may see what ----------


def _urls(people, incident) -> dict[str, str]:
    slug = people.team.slug
    return {
        "list": reverse("incidents:list", args=[slug]),
        "create": reverse("incidents:create", args=[slug]),
        "detail": reverse("incidents:detail", args=[slug, incident.pk]),
    }


@pytest.mark.parametrize("name", ["list", "create", "detail"])
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_team_members_managers_and_admins_see_every_page(people, name, headers) -> None:
    incident = IncidentFactory(team=people.team)
    url = _urls(people, incident)[name]
    for user in (people.member, people.manager, people.admin):
        response = client_for(user).get(url, headers=headers)
        assert response.status_code == 200, (user, url)


@pytest.mark.parametrize("name", ["list", "create", "detail"])
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_anonymous_is_sent_to_login(people, client: Client, name, headers) -> None:
    incident = IncidentFactory(team=people.team)
    url = _urls(people, incident)[name]
    response = client.get(url, headers=headers)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_another_teams_member_gets_404_everywhere(people, outsider_client, headers) -> None:
    incident = IncidentFactory(team=people.team)
    release = ReleaseFactory(team=people.team)
    slug = people.team.slug
    gets = [*_urls(people, incident).values()]
    posts = {
        reverse("incidents:create", args=[slug]): good_data(),
        reverse("incidents:validate", args=[slug]): good_data(),
        reverse("incidents:resolve", args=[slug, incident.pk]): {},
        reverse("incidents:set_cause", args=[slug, incident.pk]): {"caused_by": release.pk},
    }
    for url in gets:
        assert outsider_client.get(url, headers=headers).status_code == 404, url
    for url, data in posts.items():
        assert outsider_client.post(url, data, headers=headers).status_code == 404, url
    incident.refresh_from_db()
    assert incident.resolved_at is None
    assert incident.caused_by is None
    assert Incident.objects.count() == 1


def test_an_incident_of_another_team_is_404_under_my_team(people, member_client) -> None:
    theirs = IncidentFactory(team=people.other_team)
    url = reverse("incidents:detail", args=[people.team.slug, theirs.pk])
    assert member_client.get(url).status_code == 404
    resolve = reverse("incidents:resolve", args=[people.team.slug, theirs.pk])
    assert member_client.post(resolve).status_code == 404


def test_the_404_page_is_the_products_page(people, outsider_client) -> None:
    response = outsider_client.get(reverse("incidents:list", args=[people.team.slug]))
    assert response.status_code == 404
    assert b"This page is not here" in response.content
    assert b"Payments" not in response.content


def test_post_views_refuse_get(people, member_client) -> None:
    incident = IncidentFactory(team=people.team)
    slug = people.team.slug
    assert (
        member_client.get(reverse("incidents:resolve", args=[slug, incident.pk])).status_code == 405
    )
    assert member_client.get(reverse("incidents:validate", args=[slug])).status_code == 405


# ---------- the list ----------


def test_list_is_newest_first_paginated_and_filterable(people, member_client) -> None:
    now = timezone.now()
    for i in range(30):
        IncidentFactory(
            team=people.team,
            title=f"Incident number {i:02d}",
            started_at=now - dt.timedelta(hours=i + 1),
            severity="SEV1" if i % 3 == 0 else "SEV3",
            service="search" if i % 2 else "checkout",
            resolved_at=None if i < 4 else now - dt.timedelta(hours=i),
        )
    IncidentFactory(team=people.other_team, title="Not ours")
    url = reverse("incidents:list", args=[people.team.slug])

    page1 = member_client.get(url).content.decode()
    assert page1.index("Incident number 00") < page1.index("Incident number 01")
    assert "Incident number 24" in page1
    assert "Incident number 25" not in page1
    assert "Not ours" not in page1
    assert "Page 1 of 2" in page1

    page2 = member_client.get(url, {"page": 2}, headers=HTMX)
    html = page2.content.decode()
    assert "Incident number 25" in html
    assert "<html" not in html  # the rows fragment only
    assert 'id="incident-rows"' in html

    open_only = member_client.get(url, {"status": "open"}, headers=HTMX).content.decode()
    assert re.findall(r"Incident number (\d\d)", open_only) == ["00", "01", "02", "03"]
    sev1_checkout = member_client.get(url, {"severity": "SEV1", "service": "checkout"}).content
    titles = re.findall(r"Incident number (\d\d)", sev1_checkout.decode())
    assert titles == ["00", "06", "12", "18", "24"]


def test_list_ignores_filter_values_that_are_not_choices(people, member_client) -> None:
    IncidentFactory(team=people.team, title="Still listed")
    url = reverse("incidents:list", args=[people.team.slug])
    response = member_client.get(url, {"severity": "SEV9", "status": "x", "page": "zz"})
    assert response.status_code == 200
    assert b"Still listed" in response.content


def test_list_empty_state_says_what_to_do(people, member_client) -> None:
    url = reverse("incidents:list", args=[people.team.slug])
    html = member_client.get(url).content.decode()
    assert "No incidents recorded for Payments" in html
    assert reverse("incidents:create", args=[people.team.slug]) in html
    filtered = member_client.get(url, {"status": "open"}, headers=HTMX).content.decode()
    assert "No incidents match these filters" in filtered


def test_list_fragment_and_page_keep_filters_in_paging_links(people, member_client) -> None:
    for i in range(27):
        IncidentFactory(team=people.team, severity="SEV2", title=f"t{i}")
    url = reverse("incidents:list", args=[people.team.slug])
    html = member_client.get(url, {"severity": "SEV2"}, headers=HTMX).content.decode()
    assert f'hx-get="{url}?severity=SEV2&amp;page=2"' in html


@pytest.mark.parametrize("count", [3, 30])
def test_list_runs_a_constant_number_of_queries(
    people, member_client, django_assert_max_num_queries, count
) -> None:
    releases = ReleaseFactory.create_batch(3, team=people.team)
    for i in range(count):
        IncidentFactory(
            team=people.team,
            cause="release",
            caused_by=releases[i % 3],
            started_at=timezone.now() - dt.timedelta(minutes=30),
        )
    url = reverse("incidents:list", args=[people.team.slug])
    with django_assert_max_num_queries(9):
        assert member_client.get(url).status_code == 200
    with django_assert_max_num_queries(9):
        assert member_client.get(url, {"page": 1}, headers=HTMX).status_code == 200


# ---------- the report form ----------


def test_form_names_the_time_zone_and_offers_the_three_causes(people, member_client) -> None:
    html = member_client.get(reverse("incidents:create", args=[people.team.slug])).content.decode()
    assert "times in UTC" in html
    assert 'type="datetime-local"' in html
    for label in ("A release of the team", "Not caused by a deployment", "Unknown yet"):
        assert label in html
    assert "<script>" not in html  # CSP: no inline scripts


def test_a_good_form_lands_on_the_incidents_page(people, member_client) -> None:
    release = ReleaseFactory(team=people.team, deployed_at=timezone.now() - dt.timedelta(hours=3))
    url = reverse("incidents:create", args=[people.team.slug])
    data = good_data(cause="release", caused_by=str(release.pk))
    response = member_client.post(url, data)
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()
    assert incident.team == people.team
    assert incident.caused_by == release
    assert incident.cause == "release"
    assert incident.reported_by == people.member
    assert incident.source == "form"
    assert DirtyBucket.objects.exists() or incident.team.rollups.exists()
    page = member_client.get(response["Location"]).content.decode()
    assert "Incident “Checkout returns 502” recorded." in page


def test_a_good_form_through_htmx_redirects_the_browser(people, member_client) -> None:
    url = reverse("incidents:create", args=[people.team.slug])
    response = member_client.post(url, good_data(), headers=HTMX)
    incident = Incident.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == incident.get_absolute_url()


@override_settings(TIME_ZONE="Europe/Berlin", EXECDASH_TIME_ZONE="Europe/Berlin")
def test_times_are_read_in_the_org_time_zone(people, member_client) -> None:
    url = reverse("incidents:create", args=[people.team.slug])
    html = member_client.get(url).content.decode()
    assert "times in Europe/Berlin" in html
    member_client.post(url, good_data(started_at="2025-01-10T10:00", detected_at=""))
    incident = Incident.objects.get()
    assert incident.started_at == dt.datetime(2025, 1, 10, 9, 0, tzinfo=dt.UTC)


def _post_bad(member_client, people, **overrides):
    url = reverse("incidents:create", args=[people.team.slug])
    response = member_client.post(url, good_data(**overrides))
    assert response.status_code == 200
    assert Incident.objects.count() == 0
    return response


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_resolved_before_started_is_shown_next_to_the_field(people, member_client, headers) -> None:
    now = timezone.now()
    started = local(now - dt.timedelta(hours=2))
    resolved = local(now - dt.timedelta(hours=3))
    url = reverse("incidents:create", args=[people.team.slug])
    response = member_client.post(
        url, good_data(started_at=started, resolved_at=resolved, detected_at=""), headers=headers
    )
    assert response.status_code == 200
    assert Incident.objects.count() == 0
    assert errors_of(response, "resolved_at") == ["It cannot be resolved before it started."]
    assert value_of(response, "started_at") == started
    assert value_of(response, "resolved_at") == resolved
    assert value_of(response, "title") == "Checkout returns 502"
    html = response.content.decode()
    assert "error-summary" in html
    assert 'href="#id_resolved_at"' in html
    if headers:
        assert "<html" not in html


def test_a_future_start_is_an_error_next_to_started_at(people, member_client) -> None:
    future = local(timezone.now() + dt.timedelta(days=1))
    response = _post_bad(member_client, people, started_at=future, detected_at="")
    assert errors_of(response, "started_at") == ["An incident cannot start in the future."]
    assert value_of(response, "started_at") == future


def test_a_missing_title_is_an_error_next_to_title(people, member_client) -> None:
    response = _post_bad(member_client, people, title="   ", summary="kept text")
    assert errors_of(response, "title") == ["Give the incident a title."]
    assert "kept text" in response.content.decode()
    assert value_of(response, "service") == "checkout"


def test_a_release_of_another_team_is_an_error_next_to_the_release(people, member_client) -> None:
    theirs = ReleaseFactory(team=people.other_team)
    response = _post_bad(member_client, people, cause="release", caused_by=str(theirs.pk))
    assert errors_of(response, "caused_by") == ["Choose one of this team's releases."]
    assert value_of(response, "title") == "Checkout returns 502"


def test_a_release_deployed_after_the_start_is_refused(people, member_client) -> None:
    late = ReleaseFactory(team=people.team, deployed_at=timezone.now() - dt.timedelta(minutes=5))
    response = _post_bad(member_client, people, cause="release", caused_by=str(late.pk))
    assert errors_of(response, "caused_by") == [
        "That release was deployed after the incident started."
    ]


def test_release_cause_without_a_release_asks_for_one(people, member_client) -> None:
    response = _post_bad(member_client, people, cause="release", caused_by="")
    assert errors_of(response, "caused_by") == ["Choose the release that caused it."]


def test_a_release_picked_while_cause_is_unknown_is_not_linked(people, member_client) -> None:
    release = ReleaseFactory(team=people.team)
    url = reverse("incidents:create", args=[people.team.slug])
    member_client.post(url, good_data(cause="unknown", caused_by=str(release.pk)))
    incident = Incident.objects.get()
    assert incident.caused_by is None
    assert incident.cause == "unknown"


@pytest.mark.parametrize(
    "overrides",
    [
        {"started_at": "yesterday"},
        {"started_at": "2025-13-45T99:99"},
        {"severity": "SEV9"},
        {"cause": "aliens"},
        {"caused_by": "not-a-number", "cause": "release"},
        {"caused_by": "999999", "cause": "release"},
        {"title": "x" * 500},
        {"detected_at": "2000-01-01T00:00"},
    ],
)
def test_bad_input_is_a_form_error_never_a_500(people, member_client, overrides) -> None:
    response = _post_bad(member_client, people, **overrides)
    assert b"error-summary" in response.content


# ---------- inline validation and the suggestion ----------


def test_validate_shows_errors_of_filled_fields_only_and_saves_nothing(
    people, member_client
) -> None:
    url = reverse("incidents:validate", args=[people.team.slug])
    now = timezone.now()
    data = good_data(
        title="",
        started_at=local(now - dt.timedelta(hours=1)),
        resolved_at=local(now - dt.timedelta(hours=2)),
        detected_at="",
    )
    response = member_client.post(url, data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert errors_of(response, "resolved_at") == ["It cannot be resolved before it started."]
    assert errors_of(response, "title") == []  # not reached yet: no error
    assert Incident.objects.count() == 0
    # the fragment carries the ids the page swaps out of band
    for slot in ("error-summary-slot", "err-title", "err-resolved_at", "cause-suggestion"):
        assert f'id="{slot}"' in html


def test_validate_of_a_clean_form_has_no_errors(people, member_client) -> None:
    url = reverse("incidents:validate", args=[people.team.slug])
    response = member_client.post(url, good_data(), headers=HTMX)
    assert b"<li>" not in re.search(
        rb'id="error-summary-slot">(.*?)</div>', response.content, re.S
    ).group(1)
    assert (
        "error-summary" not in response.content.decode().split('id="error-summary-slot">')[1][:50]
    )


def test_suggests_the_latest_release_of_the_service_in_the_48_hours_before(
    people, member_client
) -> None:
    now = timezone.now()
    ReleaseFactory(
        team=people.team,
        service="checkout",
        version="1.0",
        deployed_at=now - dt.timedelta(hours=60),
    )
    ReleaseFactory(
        team=people.team,
        service="checkout",
        version="1.1",
        deployed_at=now - dt.timedelta(hours=20),
    )
    ReleaseFactory(
        team=people.team, service="search", version="9.9", deployed_at=now - dt.timedelta(hours=3)
    )
    ReleaseFactory(
        team=people.other_team,
        service="checkout",
        version="7.7",
        deployed_at=now - dt.timedelta(hours=3),
    )
    url = reverse("incidents:validate", args=[people.team.slug])

    response = member_client.post(url, good_data(), headers=HTMX)
    suggestion = re.search(
        r'id="cause-suggestion".*?</div>', response.content.decode(), re.S
    ).group(0)
    assert "checkout 1.1" in suggestion
    assert "Use it" in suggestion

    without_service = member_client.post(url, good_data(service=""), headers=HTMX).content.decode()
    assert "search 9.9" in re.search(
        r'id="cause-suggestion".*?</div>', without_service, re.S
    ).group(0)


def test_the_suggestion_is_never_linked_without_the_reporters_choice(people, member_client) -> None:
    ReleaseFactory(
        team=people.team, service="checkout", deployed_at=timezone.now() - dt.timedelta(hours=3)
    )
    url = reverse("incidents:create", args=[people.team.slug])
    member_client.post(url, good_data())
    incident = Incident.objects.get()
    assert incident.caused_by is None
    assert incident.cause == "unknown"


@pytest.mark.parametrize("endpoint", ["incidents:create", "incidents:validate"])
def test_use_it_fills_in_the_release_and_saves_nothing(people, member_client, endpoint) -> None:
    release = ReleaseFactory(
        team=people.team, service="checkout", deployed_at=timezone.now() - dt.timedelta(hours=3)
    )
    url = reverse(endpoint, args=[people.team.slug])
    response = member_client.post(url, {**good_data(title=""), "use_suggestion": str(release.pk)})
    html = response.content.decode()
    assert response.status_code == 200
    assert Incident.objects.count() == 0
    assert re.search(r'<input type="radio" name="cause" value="release"[^>]*checked', html)
    assert re.search(rf'<option value="{release.pk}" selected>', html)
    assert errors_of(response, "title") == []  # not submitted yet
    # once chosen, it is no longer offered
    assert "Use it" not in html
    # submitting now links it
    member_client.post(
        reverse("incidents:create", args=[people.team.slug]),
        good_data(cause="release", caused_by=str(release.pk)),
    )
    assert Incident.objects.get().caused_by == release


def test_use_it_with_another_teams_release_is_an_error(people, member_client) -> None:
    theirs = ReleaseFactory(team=people.other_team)
    url = reverse("incidents:create", args=[people.team.slug])
    response = member_client.post(url, {**good_data(), "use_suggestion": str(theirs.pk)})
    assert errors_of(response, "caused_by") == ["Choose one of this team's releases."]
    assert Incident.objects.count() == 0


@pytest.mark.parametrize("endpoint", ["incidents:create", "incidents:validate"])
def test_form_views_run_a_constant_number_of_queries(
    people, member_client, django_assert_max_num_queries, endpoint
) -> None:
    for _ in range(60):
        ReleaseFactory(team=people.team, deployed_at=timezone.now() - dt.timedelta(hours=3))
    url = reverse(endpoint, args=[people.team.slug])
    with django_assert_max_num_queries(10):
        member_client.post(url, good_data(title=""), headers=HTMX)
    if endpoint == "incidents:create":
        with django_assert_max_num_queries(8):
            member_client.get(url)


def test_the_release_menu_lists_only_recent_releases_of_the_team(people, member_client) -> None:
    now = timezone.now()
    for i in range(55):
        ReleaseFactory(
            team=people.team, version=f"v{i}", deployed_at=now - dt.timedelta(hours=i + 1)
        )
    ReleaseFactory(team=people.other_team, version="theirs")
    html = member_client.get(reverse("incidents:create", args=[people.team.slug])).content.decode()
    select = re.search(r'<select name="caused_by".*?</select>', html, re.S).group(0)
    assert select.count("<option") == 51  # "Choose a release…" + the 50 latest
    assert "api v0 " in select
    assert "api v54 " not in select
    assert "theirs" not in select


# ---------- the incident's page ----------


def test_incident_page_shows_timeline_durations_cause_and_summary(people, member_client) -> None:
    start = timezone.now() - dt.timedelta(hours=3)
    release = ReleaseFactory(
        team=people.team,
        service="checkout",
        version="2.0",
        deployed_at=start - dt.timedelta(hours=1),
    )
    incident = IncidentFactory(
        team=people.team,
        title="Card payments fail",
        started_at=start,
        detected_at=start + dt.timedelta(minutes=10),
        resolved_at=start + dt.timedelta(hours=1, minutes=25),
        cause="release",
        caused_by=release,
        summary="A bad config.",
        resolved_by="ops-bot",
    )
    html = member_client.get(incident.get_absolute_url()).content.decode()
    assert "Card payments fail" in html
    assert "10 min to detect" in html
    assert "1 h 25 min to restore" in html
    assert reverse("releases:detail", args=[people.team.slug, release.pk]) in html
    assert "A bad config." in html
    assert "Resolved by ops-bot" in html
    assert "Resolve now" not in html  # already resolved


def test_open_incident_offers_resolve_now(people, member_client) -> None:
    incident = IncidentFactory(
        team=people.team, started_at=timezone.now() - dt.timedelta(minutes=90)
    )
    html = member_client.get(incident.get_absolute_url()).content.decode()
    assert "Resolve now" in html
    assert "open for 1 h 30 min" in html
    assert "Not resolved yet" in html


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_resolve_now(people, member_client, headers) -> None:
    incident = IncidentFactory(team=people.team, started_at=timezone.now() - dt.timedelta(hours=1))
    url = reverse("incidents:resolve", args=[people.team.slug, incident.pk])
    response = member_client.post(url, headers=headers)
    if headers:
        assert response["HX-Redirect"] == incident.get_absolute_url()
    else:
        assert response.status_code == 302
        assert response["Location"] == incident.get_absolute_url()
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert incident.resolved_by == people.member.username
    page = member_client.get(incident.get_absolute_url()).content.decode()
    assert "Incident resolved." in page
    assert "Resolve now" not in page


def test_resolving_twice_changes_nothing(people, member_client) -> None:
    resolved_at = timezone.now() - dt.timedelta(minutes=5)
    incident = IncidentFactory(
        team=people.team, started_at=timezone.now() - dt.timedelta(hours=1), resolved_at=resolved_at
    )
    url = reverse("incidents:resolve", args=[people.team.slug, incident.pk])
    member_client.post(url)
    incident.refresh_from_db()
    assert incident.resolved_at == resolved_at
    assert "already resolved" in member_client.get(incident.get_absolute_url()).content.decode()


def test_resolving_marks_the_teams_weeks_for_recompute(people, member_client) -> None:
    incident = IncidentFactory(team=people.team, started_at=timezone.now() - dt.timedelta(hours=1))
    DirtyBucket.objects.all().delete()
    with pytest.MonkeyPatch.context() as patch:
        # Keep the outbox row visible: do not let the in-process worker clear it.
        patch.setattr("apps.metrics.services.recompute_schedule", lambda: None)
        member_client.post(reverse("incidents:resolve", args=[people.team.slug, incident.pk]))
    assert DirtyBucket.objects.filter(team=people.team).exists()


def test_set_cause_links_the_release(people, member_client) -> None:
    start = timezone.now() - dt.timedelta(hours=1)
    release = ReleaseFactory(team=people.team, deployed_at=start - dt.timedelta(hours=2))
    incident = IncidentFactory(team=people.team, started_at=start)
    url = reverse("incidents:set_cause", args=[people.team.slug, incident.pk])
    response = member_client.post(url, {"caused_by": release.pk})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.caused_by == release
    assert incident.cause == "release"


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_set_cause_errors_stay_on_the_page(people, member_client, headers) -> None:
    start = timezone.now() - dt.timedelta(hours=1)
    theirs = ReleaseFactory(team=people.other_team, deployed_at=start - dt.timedelta(hours=2))
    later = ReleaseFactory(team=people.team, deployed_at=start + dt.timedelta(minutes=30))
    incident = IncidentFactory(team=people.team, started_at=start)
    url = reverse("incidents:set_cause", args=[people.team.slug, incident.pk])
    for bad in (theirs.pk, later.pk, "", "abc"):
        response = member_client.post(url, {"caused_by": bad}, headers=headers)
        assert response.status_code == 200
        assert errors_of(response, "caused_by"), bad
    incident.refresh_from_db()
    assert incident.caused_by is None


@pytest.mark.parametrize("count", [2, 20])
def test_incident_page_runs_a_constant_number_of_queries(
    people, member_client, django_assert_max_num_queries, count
) -> None:
    start = timezone.now() - dt.timedelta(hours=1)
    ReleaseFactory.create_batch(count, team=people.team, deployed_at=start - dt.timedelta(hours=2))
    incident = IncidentFactory(team=people.team, started_at=start)
    with django_assert_max_num_queries(10):
        assert member_client.get(incident.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(10):
        assert member_client.get(incident.get_absolute_url(), headers=HTMX).status_code == 200


def test_release_choices_ignore_releases_after_the_incident(people, member_client) -> None:
    start = timezone.now() - dt.timedelta(hours=1)
    before = ReleaseFactory(
        team=people.team, version="before", deployed_at=start - dt.timedelta(hours=1)
    )
    after = ReleaseFactory(
        team=people.team, version="after", deployed_at=start + dt.timedelta(minutes=5)
    )
    incident = IncidentFactory(team=people.team, started_at=start)
    html = member_client.get(incident.get_absolute_url()).content.decode()
    assert f'value="{before.pk}"' in html
    assert f'value="{after.pk}"' not in html
    assert Release.objects.count() == 2
