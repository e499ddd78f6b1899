"""The team page lists what its numbers leave out for want of data: incidents whose start is
unknown (recorded from a later event alone), in the whole page and in the numbers fragment."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.metrics.rollups import rollups_recompute_all
from tests.dashboard.conftest import days_ago
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

HX_NUMBERS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "team-numbers"}


@pytest.fixture
def gap(payments):  # type: ignore[no-untyped-def]
    resolved = days_ago(3)
    IncidentFactory(team=payments, started_at=days_ago(4), resolved_at=days_ago(3, -1))
    incident = IncidentFactory(
        team=payments,
        title="Checkout 5xx <rate>",
        started_at=resolved,
        resolved_at=resolved,
        start_unknown=True,
    )
    rollups_recompute_all()
    return incident


@pytest.mark.parametrize("headers", [{}, HX_NUMBERS])
def test_the_team_page_lists_incidents_whose_start_is_unknown(
    client, manager, payments, gap, headers
) -> None:
    client.force_login(manager)
    response = client.get("/teams/payments/?range=4w", **headers)
    assert response.status_code == 200
    content = response.content.decode()
    start = content.index('class="data-gaps"')
    gaps = content[start : content.index("</div>", start)]
    assert "Data gaps" in gaps
    assert "1 incident in this range has an unknown start" in gaps
    assert "left out of time to restore" in gaps
    assert f'href="/teams/payments/incidents/{gap.pk}/"' in gaps
    assert "Checkout 5xx &lt;rate&gt;" in gaps
    # The other incident is the one sample of time to restore.
    assert "n = 1" in content


def test_no_gaps_no_list(client, manager, payments) -> None:
    IncidentFactory(team=payments, started_at=days_ago(4), resolved_at=timezone.now())
    rollups_recompute_all()
    client.force_login(manager)
    assert 'class="data-gaps"' not in client.get("/teams/payments/?range=4w").content.decode()


def test_another_teams_viewer_gets_a_404(client, outsider, gap) -> None:
    client.force_login(outsider)
    assert client.get("/teams/payments/?range=4w", **HX_NUMBERS).status_code == 404
