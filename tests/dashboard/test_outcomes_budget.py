"""The outcome pages' budgets (issue "Budgets"): a constant number of queries, at most 12,
whatever the number of teams and outcomes; and a first load of at most 500 KB compressed
(the page and every static file it references, gzipped)."""

from __future__ import annotations

import datetime as dt
import gzip
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.metrics.rollups import rollups_recompute_all
from apps.outcomes.models import OutcomeMeasurement
from apps.outcomes.services import outcome_create
from apps.releases.models import Release
from apps.teams.models import Membership
from tests.core.personas import client_for
from tests.factories import AdminFactory, FocusPeriodFactory, MembershipFactory, TeamFactory

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 12
FIRST_LOAD_BUDGET = 500 * 1024
HX_CONTENT = {"HX-Request": "true", "HX-Target": "content"}


def _org(n_teams: int):
    """`n_teams` teams, each with two outcomes (one laddering up to the organization's),
    13 weeks of weekly measurements, releases and a focus period; rollups computed."""
    nps = outcome_create(team=None, name="Customer NPS", baseline=31, target=40)
    today = timezone.localdate()
    teams, measurements, releases = [], [], []
    for i in range(n_teams):
        team = TeamFactory(name=f"Team {i:03d}", slug=f"team-{i:03d}")
        teams.append(team)
        FocusPeriodFactory(team=team, starts_on=today - dt.timedelta(days=50))
        for name, parent in (("Conversion", nps), ("Latency", None)):
            outcome = outcome_create(
                team=team, name=f"{name} {i}", baseline=10, target=20, parent=parent
            )
            measurements += [
                OutcomeMeasurement(
                    outcome=outcome, measured_on=today - dt.timedelta(weeks=w), value=10 + w / 2
                )
                for w in range(13)
            ]
        releases += [
            Release(
                team=team,
                service="api",
                version=f"{i}.{d}",
                deployed_at=timezone.now() - dt.timedelta(days=2 + d * 4),
                change_count=3,
            )
            for d in range(20)
        ]
    OutcomeMeasurement.objects.bulk_create(measurements)
    Release.objects.bulk_create(releases)
    rollups_recompute_all()
    manager = MembershipFactory(team=teams[0], role=Membership.Role.MANAGER).user
    MembershipFactory(team=teams[1], role=Membership.Role.MANAGER, user=manager)
    return teams, nps, manager


def _cold_queries(client, url, **headers) -> int:
    """The queries of a view with the page cache empty."""
    cache.clear()
    return _queries(client, url, **headers)


def _queries(client, url, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, headers=headers).status_code == 200
    return len(captured)


@pytest.mark.parametrize("n_teams", [2, 40])
def test_the_outcome_pages_run_a_constant_number_of_queries(n_teams):
    teams, nps, manager = _org(n_teams)
    admin = client_for(AdminFactory())
    outcome = teams[0].outcomes.first()
    cold = _cold_queries
    counts = {
        "page, admin": cold(admin, "/outcomes/"),
        "page, admin, cached": _queries(admin, "/outcomes/"),
        "fragment, admin": cold(admin, "/outcomes/?range=26w", **HX_CONTENT),
        "every team charted": cold(admin, "/outcomes/?range=26w&teams=all"),
        "page, manager": cold(client_for(manager), "/outcomes/"),
        "page, manager, cached": _queries(client_for(manager), "/outcomes/"),
        "outcome page": _queries(admin, f"/outcomes/{outcome.pk}/"),
        "organization outcome page": _queries(admin, f"/outcomes/{nps.pk}/"),
        "new outcome form": _queries(admin, "/outcomes/new/"),
    }
    assert all(n <= QUERY_BUDGET for n in counts.values()), counts
    # The same whatever the number of teams (what 2 teams take, 40 take too).
    # Session and user, then: teams (and the manager's teams), the page's cache key; when the
    # page is not cached: outcomes with their stored progress, flags, the charted teams'
    # versions and focus periods (the sections' cache keys), and for the sections not
    # cached either: measurements in the range, weekly rollups, focus periods.
    expected = {
        "page, admin": 11,
        "page, admin, cached": 4,
        "fragment, admin": 11,
        "every team charted": 11,
        "page, manager": 12,
        "page, manager, cached": 5,
        "outcome page": 9,
        "organization outcome page": 7,
        "new outcome form": 6,
    }
    assert counts == expected


def _static_paths(html: str) -> list[str]:
    return sorted(set(re.findall(r'(?:src|href)="/static/([^"?#]+)"', html)))


def test_the_first_load_stays_within_500_kb_compressed():
    _teams, _nps, manager = _org(40)
    admin = client_for(AdminFactory())
    for client, url in ((admin, "/outcomes/"), (client_for(manager), "/outcomes/")):
        html = client.get(url).content
        total = len(gzip.compress(html))
        for path in _static_paths(html.decode()):
            found = finders.find(path)
            assert found, path
            with open(found, "rb") as handle:
                total += len(gzip.compress(handle.read()))
        print(f"first load: {total / 1024:.1f} KB compressed, HTML {len(html) / 1024:.1f} KB")
        assert total <= FIRST_LOAD_BUDGET, f"{total / 1024:.1f} KB"


def test_a_large_organization_charts_the_first_teams_and_offers_the_rest():
    _org(15)
    admin = client_for(AdminFactory())
    html = admin.get("/outcomes/").content.decode()
    assert html.count('class="chart outcome-chart"') == 12 * 2
    assert "3 more teams" in html
    assert 'href="?range=13w&amp;teams=all"' in html
    every = admin.get("/outcomes/?range=13w&teams=all", headers=HX_CONTENT).content.decode()
    assert every.count('class="chart outcome-chart"') == 15 * 2
    assert '<input type="hidden" name="teams" value="all">' in every
