"""Writes mark the right (team, week) buckets dirty, in the write's own transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.timezones import week_start_of, weeks_between
from apps.incidents.models import Incident
from apps.incidents.services import incident_create, incident_resolve, incident_update
from apps.metrics.models import DirtyBucket
from apps.releases.services import release_create, release_update
from tests.factories import ReleaseFactory, TeamFactory

pytestmark = pytest.mark.django_db


def dirty(team_id: int) -> set[dt.date]:
    return set(DirtyBucket.objects.filter(team_id=team_id).values_list("week_start", flat=True))


def weeks(start: dt.datetime, end: dt.datetime) -> set[dt.date]:
    return set(weeks_between(week_start_of(start), week_start_of(end)))


def test_a_resolved_incident_marks_the_weeks_it_spans() -> None:
    team = TeamFactory()
    started = timezone.now() - dt.timedelta(days=40)
    resolved = started + dt.timedelta(days=9)
    incident_create(team=team, title="Outage", started_at=started, resolved_at=resolved)
    assert dirty(team.id) == weeks(started, resolved)
    assert len(dirty(team.id)) in (2, 3)
    assert week_start_of(timezone.now()) not in dirty(team.id)


def test_an_open_incident_marks_every_week_until_now() -> None:
    team = TeamFactory()
    started = timezone.now() - dt.timedelta(days=24)
    incident_create(team=team, title="Still open", started_at=started)
    assert dirty(team.id) == weeks(started, timezone.now())
    assert week_start_of(timezone.now()) in dirty(team.id)


def test_the_causing_release_week_is_marked_too() -> None:
    team = TeamFactory()
    release = ReleaseFactory(team=team, deployed_at=timezone.now() - dt.timedelta(days=30))
    started = timezone.now() - dt.timedelta(days=2, hours=1)
    incident_create(
        team=team,
        title="Bad deploy",
        started_at=started,
        resolved_at=started + dt.timedelta(hours=1),
        caused_by=release,
    )
    assert week_start_of(release.deployed_at) in dirty(team.id)
    assert week_start_of(started) in dirty(team.id)


def test_other_teams_are_not_marked() -> None:
    team, other = TeamFactory(), TeamFactory()
    incident_create(team=team, title="x", started_at=timezone.now() - dt.timedelta(hours=1))
    assert dirty(other.id) == set()


def test_resolving_marks_the_weeks_again() -> None:
    team = TeamFactory()
    started = timezone.now() - dt.timedelta(days=15)
    incident = incident_create(team=team, title="x", started_at=started)
    DirtyBucket.objects.all().delete()  # as if the worker had run
    incident_resolve(incident=incident, resolved_at=started + dt.timedelta(hours=2))
    assert dirty(team.id) >= {week_start_of(started)}
    incident.refresh_from_db()
    assert incident.resolved_at == started + dt.timedelta(hours=2)


def test_moving_an_incident_marks_the_old_and_the_new_week() -> None:
    team = TeamFactory()
    old = timezone.now() - dt.timedelta(days=60)
    new = timezone.now() - dt.timedelta(days=3)
    incident = incident_create(
        team=team, title="x", started_at=old, resolved_at=old + dt.timedelta(hours=1)
    )
    DirtyBucket.objects.all().delete()
    incident_update(incident=incident, started_at=new, resolved_at=new + dt.timedelta(hours=1))
    assert {week_start_of(old), week_start_of(new)} <= dirty(team.id)


def test_linking_a_release_later_marks_its_week() -> None:
    team = TeamFactory()
    release = ReleaseFactory(team=team, deployed_at=timezone.now() - dt.timedelta(days=20))
    started = release.deployed_at + dt.timedelta(hours=1)
    incident = incident_create(
        team=team, title="x", started_at=started, resolved_at=started + dt.timedelta(hours=1)
    )
    DirtyBucket.objects.all().delete()
    incident_update(incident=incident, caused_by=release)
    incident.refresh_from_db()
    assert incident.cause == Incident.Cause.RELEASE
    assert week_start_of(release.deployed_at) in dirty(team.id)


def test_re_marking_bumps_marked_at() -> None:
    team = TeamFactory()
    started = timezone.now() - dt.timedelta(hours=3)
    incident_create(team=team, title="a", started_at=started)
    first = DirtyBucket.objects.get(team=team, week_start=week_start_of(started)).marked_at
    incident_create(team=team, title="b", started_at=started)
    again = DirtyBucket.objects.get(team=team, week_start=week_start_of(started)).marked_at
    assert again >= first
    assert DirtyBucket.objects.filter(team=team, week_start=week_start_of(started)).count() == 1


def test_a_rejected_write_marks_nothing() -> None:
    team = TeamFactory()
    started = timezone.now() - dt.timedelta(hours=3)
    with pytest.raises(ValidationError):
        incident_create(
            team=team, title="x", started_at=started, resolved_at=started - dt.timedelta(hours=1)
        )
    assert dirty(team.id) == set()
    assert not Incident.objects.filter(team=team).exists()


def test_releases_mark_their_deploy_week_and_the_week_they_moved_from() -> None:
    team = TeamFactory()
    deployed = timezone.now() - dt.timedelta(days=35)
    release = release_create(team=team, service="api", version="1.2.3", deployed_at=deployed)
    assert dirty(team.id) == {week_start_of(deployed)}
    DirtyBucket.objects.all().delete()
    moved = timezone.now() - dt.timedelta(days=1)
    release_update(release=release, deployed_at=moved)
    assert dirty(team.id) == {week_start_of(deployed), week_start_of(moved)}


def test_the_outbox_commits_with_the_write() -> None:
    """A failure after the write rolls back the row and its dirty bucket together."""
    from django.db import transaction

    team = TeamFactory()

    def write_then_crash() -> None:
        with transaction.atomic():
            incident_create(team=team, title="x", started_at=timezone.now() - dt.timedelta(hours=1))
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        write_then_crash()
    assert dirty(team.id) == set()
    assert not Incident.objects.filter(team=team).exists()
