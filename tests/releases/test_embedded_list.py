"""The releases list as a panel inside the team page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.core.personas import HTMX
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db


def test_embedded_panel_has_filters_rows_and_no_url_push(people, member_client) -> None:
    ReleaseFactory.create_batch(3, team=people.team)
    url = reverse("releases:list", args=[people.team.slug])
    html = member_client.get(f"{url}?embed=1", headers=HTMX).content.decode()
    assert 'hx-push-url="false"' in html
    assert 'id="releases-status"' in html
    assert 'id="release-rows"' in html
    assert "<html" not in html


def test_embedded_panel_of_another_team_is_404(people, outsider_client) -> None:
    url = reverse("releases:list", args=[people.team.slug])
    assert outsider_client.get(f"{url}?embed=1", headers=HTMX).status_code == 404
