"""The incidents list as a panel inside the team page: filters and paging swap in place."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.core.personas import HTMX
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def test_embedded_panel_has_filters_and_rows_and_keeps_the_team_pages_url(
    people, member_client
) -> None:
    IncidentFactory.create_batch(30, team=people.team, severity="SEV2")
    url = reverse("incidents:list", args=[people.team.slug])
    html = member_client.get(f"{url}?embed=1", headers=HTMX).content.decode()
    assert 'class="list-panel"' in html
    assert 'hx-push-url="false"' in html  # the team page keeps its own URL
    assert 'id="incidents-severity"' in html  # ids of its own: the releases panel sits beside it
    assert 'id="incident-rows"' in html
    assert "<html" not in html
    # Paging inside the panel asks for rows, not for another panel.
    assert f'hx-get="{url}?page=2"' in html
    assert "embed=1" not in html


def test_list_page_still_pushes_its_url(people, member_client) -> None:
    url = reverse("incidents:list", args=[people.team.slug])
    html = member_client.get(url).content.decode()
    assert 'hx-push-url="true"' in html


def test_embedded_panel_of_another_team_is_404(people, outsider_client) -> None:
    url = reverse("incidents:list", args=[people.team.slug])
    assert outsider_client.get(f"{url}?embed=1", headers=HTMX).status_code == 404


def test_team_page_loads_both_panels(people, member_client) -> None:
    html = member_client.get(reverse("teams:detail", args=[people.team.slug])).content.decode()
    incidents = reverse("incidents:list", args=[people.team.slug])
    releases = reverse("releases:list", args=[people.team.slug])
    assert f'hx-get="{incidents}?embed=1" hx-trigger="load"' in html
    assert f'hx-get="{releases}?embed=1" hx-trigger="load"' in html
