"""The focus pages keep a constant, small number of queries whatever the number of teams and
focus periods (issue budget: at most 12 a page)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.focus.evaluations import focus_evaluations_refresh
from apps.focus.models import FocusKind
from apps.focus.tradeoffs import metrics_named_in
from apps.metrics.rollups import rollups_recompute_all
from tests.factories import AdminFactory, FocusPeriodFactory, TeamFactory, focus_kind

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def organization(teams: int, periods: int):  # type: ignore[no-untyped-def]
    """`teams` teams; the first one with `periods` past focus periods of 14 days."""
    made = [TeamFactory() for _ in range(teams)]
    team = made[0]
    today = timezone.localdate()
    for i in range(periods):
        start = today - dt.timedelta(days=(periods - i) * 15 + 30)
        FocusPeriodFactory(
            team=team,
            kind=focus_kind(FocusKind.STABILITY if i % 2 else FocusKind.THROUGHPUT),
            starts_on=start,
            ends_on=start + dt.timedelta(days=14),
            tradeoff_metrics=metrics_named_in("throughput" if i % 2 else "stability"),
        )
    rollups_recompute_all()
    focus_evaluations_refresh(team_ids=[team.id])
    return team


def queries_of(client, url: str, **extra) -> int:  # type: ignore[no-untyped-def]
    client.get(url, **extra)  # warm: sessions, the window answers
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.parametrize("extra", [{}, HX], ids=["page", "htmx"])
def test_the_focus_page_and_a_period_page_keep_a_constant_budget(client, extra) -> None:  # type: ignore[no-untyped-def]
    client.force_login(AdminFactory())
    counts = []
    for teams, periods in ((2, 2), (40, 40)):
        team = organization(teams, periods)
        period = team.focus_periods.order_by("starts_on").first()
        counts.append(
            (
                queries_of(client, reverse("focus:team", args=[team.slug]), **extra),
                queries_of(client, reverse("focus:period", args=[team.slug, period.pk]), **extra),
                queries_of(client, reverse("focus:propose", args=[team.slug]), **extra),
            )
        )
    assert counts[0] == counts[1], counts
    assert max(counts[1]) <= 12, counts


def test_the_kind_defaults_fragment_keeps_a_constant_budget(client) -> None:  # type: ignore[no-untyped-def]
    """Picking a kind by hand (the propose form's signals fieldset) costs the same few
    queries whatever the organization's size."""
    client.force_login(AdminFactory())
    data = {"_signals": "1", "kind": focus_kind(FocusKind.KNOWLEDGE_SHARING).pk}
    counts = []
    for teams, periods in ((2, 2), (40, 40)):
        team = organization(teams, periods)
        url = reverse("focus:propose", args=[team.slug])
        client.post(url, data, **HX)
        with CaptureQueriesContext(connection) as captured:
            response = client.post(url, data, **HX)
        assert response.status_code == 200
        assert b'value="bus_factor" selected' in response.content
        counts.append(len(captured))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 6, counts
