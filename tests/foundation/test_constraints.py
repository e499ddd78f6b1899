"""The rules the database holds, written around the services (raw inserts and updates).

CheckConstraints and unique constraints hold on SQLite and PostgreSQL alike; the exclusion
constraint on focus periods is PostgreSQL's, and the focus service holds the same rule on
every database.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.focus.models import FocusPeriod
from apps.focus.services import FocusOverlapError, focus_period_create
from apps.incidents.models import Incident
from apps.outcomes.models import Outcome
from apps.releases.models import Release, Source
from apps.teams.models import Membership
from tests.factories import (
    FocusPeriodFactory,
    IncidentFactory,
    MembershipFactory,
    ReleaseFactory,
    TeamFactory,
    focus_kind,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def rejected(action) -> bool:  # type: ignore[no-untyped-def]
    try:
        with transaction.atomic():
            action()
    except IntegrityError:
        return True
    return False


def test_resolved_before_started_is_rejected_by_the_database() -> None:
    team = TeamFactory()
    bad = Incident(team=team, title="x", started_at=NOW, resolved_at=NOW - dt.timedelta(hours=1))
    assert rejected(lambda: Incident.objects.bulk_create([bad]))


def test_a_raw_update_cannot_resolve_before_the_start() -> None:
    incident = IncidentFactory(started_at=NOW - dt.timedelta(hours=2))
    qs = Incident.objects.filter(pk=incident.pk)
    assert rejected(lambda: qs.update(resolved_at=NOW - dt.timedelta(hours=3)))
    assert not rejected(lambda: qs.update(resolved_at=NOW - dt.timedelta(hours=1)))


def test_detected_before_started_is_rejected() -> None:
    incident = IncidentFactory(started_at=NOW - dt.timedelta(hours=2))
    qs = Incident.objects.filter(pk=incident.pk)
    assert rejected(lambda: qs.update(detected_at=NOW - dt.timedelta(hours=3)))


def test_only_an_incident_caused_by_a_release_names_one() -> None:
    release = ReleaseFactory()
    incident = IncidentFactory(team=release.team, cause=Incident.Cause.NOT_DEPLOY)
    qs = Incident.objects.filter(pk=incident.pk)
    assert rejected(lambda: qs.update(caused_by=release))
    assert not rejected(lambda: qs.update(caused_by=release, cause=Incident.Cause.RELEASE))


@pytest.mark.parametrize("factory", [IncidentFactory, ReleaseFactory])
def test_external_ids_are_unique_per_team_and_source(factory) -> None:  # type: ignore[no-untyped-def]
    team = TeamFactory()
    factory(team=team, source=Source.API, external_id="evt-1")
    assert rejected(lambda: factory(team=team, source=Source.API, external_id="evt-1"))
    # The same id from another source, or for another team, is another event.
    assert not rejected(lambda: factory(team=team, source=Source.WEBHOOK, external_id="evt-1"))
    assert not rejected(lambda: factory(source=Source.API, external_id="evt-1"))
    # Form posts have no external id: any number of them.
    factory(team=team, external_id=None)
    factory(team=team, external_id=None)


def test_a_user_belongs_to_a_team_once() -> None:
    membership = MembershipFactory()
    assert rejected(lambda: Membership.objects.create(user=membership.user, team=membership.team))


def test_focus_period_cannot_end_before_it_starts() -> None:
    team = TeamFactory()
    today = timezone.localdate()
    bad = FocusPeriod(
        team=team,
        kind=focus_kind(),
        starts_on=today,
        ends_on=today - dt.timedelta(days=1),
        rationale="x",
    )
    assert rejected(lambda: FocusPeriod.objects.bulk_create([bad]))


def test_outcome_target_must_differ_from_baseline() -> None:
    assert rejected(lambda: Outcome.objects.create(name="x", baseline=1.0, target=1.0))


def test_release_change_count_cannot_be_negative() -> None:
    release = ReleaseFactory()
    assert rejected(lambda: Release.objects.filter(pk=release.pk).update(change_count=-1))


def test_focus_service_refuses_overlaps_on_every_database() -> None:
    team = TeamFactory()
    day = dt.date(2026, 1, 5)
    focus_period_create(
        team=team,
        kind=focus_kind(),
        starts_on=day,
        ends_on=day + dt.timedelta(days=30),
        rationale="first",
    )
    with pytest.raises(FocusOverlapError) as caught:
        focus_period_create(
            team=team,
            kind=focus_kind("throughput"),
            starts_on=day + dt.timedelta(days=30),
            rationale="second",
        )
    assert "Overlaps" in caught.value.message_dict["starts_on"][0]
    # The next day is free; ends_on is inclusive.
    focus_period_create(
        team=team,
        kind=focus_kind("throughput"),
        starts_on=day + dt.timedelta(days=31),
        rationale="second",
    )
    # Another team's calendar is its own.
    focus_period_create(team=TeamFactory(), kind=focus_kind(), starts_on=day, rationale="x")


def test_focus_service_refuses_a_period_inside_an_open_one() -> None:
    team = TeamFactory()
    FocusPeriodFactory(team=team, starts_on=dt.date(2026, 1, 1), ends_on=None)
    with pytest.raises(ValidationError):
        focus_period_create(
            team=team, kind=focus_kind(), starts_on=dt.date(2027, 1, 1), rationale="later"
        )


@pytest.mark.postgres
def test_overlapping_focus_periods_are_rejected_by_the_exclusion_constraint() -> None:
    assert connection.vendor == "postgresql"
    team = TeamFactory()
    day = dt.date(2026, 3, 2)
    FocusPeriod.objects.bulk_create(
        [
            FocusPeriod(
                team=team,
                kind=focus_kind(),
                starts_on=day,
                ends_on=day + dt.timedelta(days=13),
                rationale="a",
            ),
        ]
    )

    def overlap(starts: dt.date, ends: dt.date | None) -> bool:
        period = FocusPeriod(
            team=team, kind=focus_kind("throughput"), starts_on=starts, ends_on=ends, rationale="b"
        )
        return rejected(lambda: FocusPeriod.objects.bulk_create([period]))

    assert overlap(day + dt.timedelta(days=13), None)  # shares the inclusive last day
    assert overlap(day - dt.timedelta(days=5), day)
    assert overlap(day - dt.timedelta(days=5), None)  # an open period covers it all
    assert not overlap(day + dt.timedelta(days=14), None)


@pytest.mark.postgres
def test_exclusion_constraint_ignores_other_teams() -> None:
    day = dt.date(2026, 3, 2)
    FocusPeriodFactory(team=TeamFactory(), starts_on=day, ends_on=None)
    assert not rejected(lambda: FocusPeriodFactory(team=TeamFactory(), starts_on=day))


@pytest.mark.postgres
def test_focus_service_turns_the_constraint_into_a_field_error() -> None:
    team = TeamFactory()
    FocusPeriodFactory(team=team, starts_on=dt.date(2026, 1, 1), ends_on=None)
    with pytest.raises(FocusOverlapError):
        focus_period_create(
            team=team, kind=focus_kind(), starts_on=dt.date(2026, 6, 1), rationale="x"
        )
