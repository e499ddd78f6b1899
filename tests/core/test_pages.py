"""The site's frame: login, navigation, messages, freshness, and the 404 and 500 pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.core.views import server_error
from apps.metrics.models import DirtyBucket, WeeklyRollup
from tests.core.personas import HTMX, client_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_is_styled_and_names_the_product(client: Client) -> None:
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Log in to execdash" in html
    assert "/static/vendor/pico/pico.min.css" in html
    assert "/static/css/execdash.css" in html
    assert 'autocomplete="current-password"' in html


def test_login_errors_are_shown_and_the_username_kept(people, client: Client) -> None:
    response = client.post(
        reverse("login"), {"username": people.member.username, "password": "wrong"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Could not log you in" in html
    assert "Please enter a correct username and password" in html
    assert f'value="{people.member.username}"' in html


def test_login_lands_on_the_overview(people, client: Client) -> None:
    response = client.post(
        reverse("login"), {"username": people.member.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("teams:overview")


def test_pages_load_htmx_from_static_files_and_no_inline_script(people, member_client) -> None:
    response = member_client.get(reverse("incidents:list", args=[people.team.slug]))
    html = response.content.decode()
    assert '<script src="/static/django_htmx/htmx-2.min.js"' in html
    assert "<script>" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # every script has a src
    assert "https://" not in re.sub(r'href="https?://[^"]*"', "", html)  # nothing from a CDN
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_csrf_token_travels_in_hx_headers_as_json(people, member_client) -> None:
    html = member_client.get(reverse("incidents:list", args=[people.team.slug])).content.decode()
    match = re.search(r"<body hx-headers='(\{[^']*\})'>", html)
    assert match
    import json

    assert len(json.loads(match.group(1))["X-CSRFToken"]) >= 32


def test_nav_shows_who_is_logged_in_their_teams_and_a_post_logout(people, member_client) -> None:
    html = member_client.get(reverse("incidents:list", args=[people.team.slug])).content.decode()
    assert f"<strong>{people.member.username}</strong>" in html
    assert 'href="/teams/payments/"' in html
    assert 'href="/teams/search/"' not in html  # not a team of theirs
    assert re.search(r'<form class="inline-form" method="post" action="/accounts/logout/">', html)
    assert "/api/v1/docs" in html
    assert 'href="/admin/"' not in html
    assert 'href="/settings/tokens/"' not in html


def test_admins_see_the_admin_link_and_every_team(people) -> None:
    html = client_for(people.admin).get(reverse("incidents:list", args=["payments"])).content
    assert b'href="/admin/"' in html
    assert b'href="/settings/tokens/"' in html
    assert b'href="/teams/search/"' in html


def test_logout_is_a_post(people, member_client) -> None:
    response = member_client.post(reverse("logout"))
    assert response.status_code == 302
    after = member_client.get(reverse("incidents:list", args=[people.team.slug]))
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("login"))


def test_404_page_in_the_products_look(people, member_client, client: Client) -> None:
    for who in (member_client, client):
        response = who.get("/no/such/page/")
        assert response.status_code == 404
        html = response.content.decode()
        assert "This page is not here" in html
        assert "/static/css/execdash.css" in html


def test_500_page_needs_no_request_context() -> None:
    response = server_error(None)  # type: ignore[arg-type]
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert "/static/css/execdash.css" in html
    assert "<script" not in html


def test_500_handler_is_wired(client: Client, settings) -> None:
    from execdash import urls

    assert urls.handler500 == "apps.core.views.server_error"
    assert urls.handler404 == "apps.core.views.page_not_found"


# ---------- freshness ----------


def _rollup(team, computed_at) -> WeeklyRollup:
    return WeeklyRollup.objects.create(
        scope=team.id,
        team=team,
        week_start=timezone.localdate(),
        computed_at=computed_at,
    )


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_freshness_polls_while_pending_and_stops_when_fresh(people, member_client, headers) -> None:
    url = reverse("team_freshness", args=[people.team.slug])
    _rollup(people.team, timezone.now())
    DirtyBucket.objects.create(
        team=people.team, week_start=timezone.localdate(), marked_at=timezone.now()
    )
    pending = member_client.get(url, headers=headers).content.decode()
    assert 'hx-trigger="every 2s"' in pending
    assert "Updating the numbers of Payments" in pending

    DirtyBucket.objects.all().delete()
    fresh = member_client.get(url, headers=headers).content.decode()
    assert "hx-trigger" not in fresh
    assert "Numbers of Payments computed" in fresh
    assert ">just now</time>" in fresh


def test_freshness_before_anything_was_computed(people, member_client) -> None:
    WeeklyRollup.objects.all().delete()
    DirtyBucket.objects.all().delete()
    html = member_client.get(reverse("team_freshness", args=[people.team.slug])).content.decode()
    assert "have not been computed yet" in html


def test_freshness_is_404_for_another_team_and_login_for_anonymous(
    people, outsider_client, client: Client
) -> None:
    url = reverse("team_freshness", args=[people.team.slug])
    assert outsider_client.get(url, headers=HTMX).status_code == 404
    assert outsider_client.get(url).status_code == 404
    assert client.get(url).status_code == 302


def test_freshness_runs_a_constant_number_of_queries(
    people, member_client, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(5):
        member_client.get(reverse("team_freshness", args=[people.team.slug]), headers=HTMX)


def test_incident_page_shows_when_the_numbers_were_computed(people, member_client) -> None:
    from tests.factories import IncidentFactory

    incident = IncidentFactory(team=people.team)
    html = member_client.get(incident.get_absolute_url()).content.decode()
    assert 'id="freshness-' in html
    assert "umbers of Payments" in html
