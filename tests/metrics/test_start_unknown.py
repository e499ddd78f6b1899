"""Incidents whose start is unknown (recorded from their resolution alone) are counted as
incidents but give no sample of time to restore or failed deployment recovery time: in the
exact window answers, the samples, the weekly rollups and the organization's weeks alike.
Hand-checked numbers; run on SQLite and, with DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.core.timezones import local_midnight
from apps.metrics.models import ORG_SCOPE, WeeklyRollup
from apps.metrics.rollups import rollups_recompute_all
from apps.metrics.selectors import window_metrics, window_samples
from tests.factories import IncidentFactory, ReleaseFactory, TeamFactory

pytestmark = pytest.mark.django_db

START, END = dt.date(2025, 3, 3), dt.date(2025, 3, 10)  # one ISO week


def at(day: int, hours: float = 10) -> dt.datetime:
    return local_midnight(dt.date(2025, 3, day)) + dt.timedelta(hours=hours)


@pytest.fixture
def history():  # type: ignore[no-untyped-def]
    team = TeamFactory()
    release = ReleaseFactory(team=team, deployed_at=at(3, 9))
    # Two incidents with both ends: 30 min and 90 min; the first caused by the release
    # (recovery 09:00 → 12:30 = 3.5 h).
    IncidentFactory(
        team=team, started_at=at(3, 12), resolved_at=at(3, 12.5), caused_by=release, cause="release"
    )
    IncidentFactory(team=team, started_at=at(4, 10), resolved_at=at(4, 11.5))
    # Resolved, start unknown: its first moment known is its resolution, which would read as
    # a 0 s restore (and a 2-day recovery from the release) if it were counted.
    IncidentFactory(
        team=team,
        started_at=at(5, 10),
        resolved_at=at(5, 10),
        start_unknown=True,
        caused_by=release,
        cause="release",
    )
    return team


def test_the_window_leaves_an_unknown_start_out_of_both_recovery_times(history) -> None:
    w = window_metrics(team=history, start=START, end=END)
    assert w.incidents == 3
    assert (w.time_to_restore.n, w.time_to_restore.median) == (2, 3600.0)
    assert (w.time_to_restore.mean, w.time_to_restore.p90) == (3600.0, 5040.0)
    assert (w.failed_deployment_recovery.n, w.failed_deployment_recovery.median) == (1, 12600.0)
    # It still names the release that caused it: the release is failed either way.
    assert (w.deployments, w.failed_deployments) == (1, 1)


def test_the_samples_leave_it_out(history) -> None:
    mine = window_samples(team_ids=[history.id], start=START, end=END)[history.id]
    assert mine.time_to_restore == (1800.0, 5400.0)
    assert mine.failed_deployment_recovery == (12600.0,)


def test_the_weekly_rollups_leave_it_out(history) -> None:
    rollups_recompute_all()
    for scope in (history.id, ORG_SCOPE):
        row = WeeklyRollup.objects.get(scope=scope, week_start=START)
        assert (row.incidents, row.ttr_n, row.ttr_median) == (3, 2, 3600.0), scope
        assert (row.fdrt_n, row.fdrt_median) == (1, 12600.0), scope


def test_once_its_start_is_known_it_counts(history) -> None:
    from apps.incidents.models import Incident
    from apps.incidents.services import incident_update

    unknown = Incident.objects.get(start_unknown=True)
    # Told later that it began 2 h before it was resolved.
    known = incident_update(incident=unknown, started_at=at(5, 8))
    assert known.start_unknown is False
    w = window_metrics(team=history, start=START, end=END)
    assert (w.time_to_restore.n, w.time_to_restore.median) == (3, 5400.0)
    assert w.failed_deployment_recovery.n == 2
