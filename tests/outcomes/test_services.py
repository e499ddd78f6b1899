"""Outcome writes: create and update with their rules, measurements (the same date again
updates), the pasted CSV (all or nothing) and the stored answers they refresh."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.metrics.models import DirtyBucket
from apps.metrics.rollups import rollups_process_dirty, rollups_recompute_all
from apps.outcomes.answers import outcome_answers_refresh
from apps.outcomes.models import Outcome, OutcomeMeasurement, OutcomeStatus, TeamOutcomeFlag
from apps.outcomes.rules import windows_for
from apps.outcomes.services import (
    outcome_create,
    outcome_measurement_record,
    outcome_measurements_import_csv_text,
    outcome_update,
)
from tests.factories import OutcomeFactory, ReleaseFactory, TeamFactory

pytestmark = pytest.mark.django_db


def _today() -> dt.date:
    return timezone.localdate()


def test_create_with_target_date_and_an_organization_parent():
    team = TeamFactory()
    nps = outcome_create(team=None, name="Customer NPS", baseline=31, target=40, unit="points")
    outcome = outcome_create(
        team=team,
        name=" Checkout conversion ",
        baseline=2.1,
        target=2.6,
        unit="%",
        target_date=dt.date(2026, 12, 31),
        parent=nps,
    )
    assert (outcome.name, outcome.parent, outcome.target_date) == (
        "Checkout conversion",
        nps,
        dt.date(2026, 12, 31),
    )
    assert list(nps.children.all()) == [outcome]
    # Its stored progress exists from the start (no measurement yet).
    assert OutcomeStatus.objects.get(outcome=outcome).progress is None


def test_a_parent_must_be_organization_wide():
    team = TeamFactory()
    other = OutcomeFactory(team=TeamFactory())
    with pytest.raises(ValidationError) as error:
        outcome_create(team=team, name="X", baseline=1, target=2, parent=other)
    assert "organization-wide outcome only" in str(error.value.message_dict["parent"])
    org = outcome_create(team=None, name="NPS", baseline=1, target=2)
    with pytest.raises(ValidationError) as error:
        outcome_create(team=None, name="Y", baseline=1, target=2, parent=org)
    assert "does not ladder up" in str(error.value.message_dict["parent"])
    assert Outcome.objects.count() == 2


def test_the_target_must_lie_the_better_way():
    with pytest.raises(ValidationError) as error:
        outcome_create(team=TeamFactory(), name="CI time", baseline=10, target=18, direction="down")
    assert "below the baseline" in str(error.value.message_dict["target"])


def test_update_changes_the_outcome_and_its_stored_progress():
    outcome = OutcomeFactory(baseline=10, target=20)
    outcome_measurement_record(outcome=outcome, measured_on=_today(), value=15)
    assert OutcomeStatus.objects.get(outcome=outcome).progress == 0.5
    outcome_update(
        outcome=outcome, name="Renamed", baseline=10, target=30, unit="%", direction="up"
    )
    outcome.refresh_from_db()
    assert outcome.name == "Renamed"
    assert OutcomeStatus.objects.get(outcome=outcome).progress == 0.25
    with pytest.raises(ValidationError):
        outcome_update(outcome=outcome, name="", baseline=10, target=10)
    outcome.refresh_from_db()
    assert outcome.name == "Renamed"


def test_the_same_date_again_updates_and_marks_the_team_for_the_worker():
    outcome = OutcomeFactory(baseline=10, target=20)
    day = _today()
    _m, created = outcome_measurement_record(outcome=outcome, measured_on=day, value=12)
    _m, again = outcome_measurement_record(outcome=outcome, measured_on=day, value=18)
    assert (created, again) == (True, False)
    assert list(outcome.measurements.values_list("value", flat=True)) == [18]
    assert OutcomeStatus.objects.get(outcome=outcome).progress == 0.8
    assert DirtyBucket.objects.filter(team=outcome.team).exists()


def test_a_pasted_csv_with_a_header_and_blank_lines_imports_every_line():
    outcome = OutcomeFactory(baseline=10, target=20)
    today = _today()
    d1, d2 = today - dt.timedelta(days=14), today - dt.timedelta(days=7)
    OutcomeMeasurement.objects.create(outcome=outcome, measured_on=d2, value=1)
    text = f"date,value\n\n{d1.isoformat()},12.5\n{d2.isoformat()}\t15\n\n"
    preview = outcome_measurements_import_csv_text(outcome=outcome, text=text, commit=False)
    assert preview.ok
    assert not preview.imported
    assert [(line.number, line.value) for line in preview.lines] == [(3, 12.5), (4, 15.0)]
    assert preview.existing == {d2: 1}
    assert outcome.measurements.count() == 1  # a preview writes nothing

    done = outcome_measurements_import_csv_text(outcome=outcome, text=text)
    assert (done.imported, done.created, done.updated) == (True, 1, 1)
    assert dict(outcome.measurements.values_list("measured_on", "value")) == {d1: 12.5, d2: 15}
    assert OutcomeStatus.objects.get(outcome=outcome).progress == 0.5


def test_a_pasted_csv_with_bad_lines_imports_none_and_says_which():
    outcome = OutcomeFactory(baseline=10, target=20)
    today = _today()
    future = today + dt.timedelta(days=3)
    text = "\n".join(
        [
            "2026-01-05,12",
            "05/01/2026,13",
            "2026-02-30,1",
            "2026-01-12,twelve",
            f"{future.isoformat()},4",
            "2026-01-05,14",
            "2026-01-19",
            "2026-01-26, 1.5e1 ",
        ]
    )
    result = outcome_measurements_import_csv_text(outcome=outcome, text=text)
    assert not result.imported
    assert not result.ok
    errors = {line.number: line.error for line in result.errors}
    assert sorted(errors) == [2, 3, 4, 5, 6, 7]
    assert "YYYY-MM-DD" in errors[2]
    assert "not a date of the calendar" in errors[3]
    assert "not a number" in errors[4]
    assert "in the future" in errors[5]
    assert "already on line 1" in errors[6]
    assert "two values" in errors[7]
    assert result.lines[-1].value == 15.0
    assert not result.lines[-1].error
    assert result.problem == "6 of 8 lines need fixing; nothing was imported."
    assert outcome.measurements.count() == 0


def test_an_empty_paste_says_what_to_paste():
    result = outcome_measurements_import_csv_text(outcome=OutcomeFactory(), text="date,value\n\n")
    assert not result.ok
    assert "Paste at least one line" in result.problem


# --- the "busy, not moving" flag, stored ------------------------------------------------------


def _release_on(team, day: dt.date, changes: int):
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
    return ReleaseFactory(team=team, deployed_at=moment, change_count=changes)


@pytest.fixture
def busy_team():
    """Growth: 3 releases (15 changes) in each of the last 4 full weeks, 2 (10) in the 4
    before; one outcome measured flat."""
    team = TeamFactory(name="Growth", slug="growth")
    w = windows_for(_today())
    for week in range(4):
        monday = w.recent_start + dt.timedelta(weeks=week)
        for i in range(3):
            _release_on(team, monday + dt.timedelta(days=i), 5)
        before = w.before_start + dt.timedelta(weeks=week)
        for i in range(2):
            _release_on(team, before + dt.timedelta(days=i), 5)
    outcome = OutcomeFactory(team=team, name="Weekly sign-ups", baseline=1200, target=1500)
    OutcomeMeasurement.objects.create(outcome=outcome, measured_on=w.before_start, value=1210)
    OutcomeMeasurement.objects.create(
        outcome=outcome, measured_on=w.recent_start + dt.timedelta(days=14), value=1205
    )
    rollups_recompute_all()  # the worker's full pass also refreshes the stored answers
    return team, outcome


def test_a_busy_team_whose_outcome_did_not_move_is_flagged(busy_team):
    team, _outcome = busy_team
    flag = TeamOutcomeFlag.objects.get(team=team)
    assert flag.busy_not_moving
    assert (flag.releases_recent, flag.changes_recent) == (12, 60)
    assert (flag.releases_before, flag.changes_before) == (8, 40)
    assert (flag.outcomes, flag.outcomes_moved) == (1, 0)


def test_a_measurement_that_moves_the_outcome_clears_the_flag_through_the_worker(
    busy_team, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # no broker: the worker's pass runs in-process
    team, outcome = busy_team
    with django_capture_on_commit_callbacks(execute=True):
        outcome_measurement_record(outcome=outcome, measured_on=_today(), value=1290)
    assert OutcomeStatus.objects.get(outcome=outcome).moved
    flag = TeamOutcomeFlag.objects.get(team=team)
    assert (flag.busy_not_moving, flag.outcomes_moved) == (False, 1)
    assert not DirtyBucket.objects.exists()


def test_the_worker_pass_refreshes_the_flag_of_the_teams_it_recomputed(busy_team):
    team, outcome = busy_team
    outcome_measurement_record(outcome=outcome, measured_on=_today(), value=1290)
    assert TeamOutcomeFlag.objects.get(team=team).busy_not_moving  # the worker has not run
    assert rollups_process_dirty(trigger="test") == 1
    assert not TeamOutcomeFlag.objects.get(team=team).busy_not_moving


def test_a_quieter_team_is_not_flagged(busy_team):
    team, _outcome = busy_team
    w = windows_for(_today())
    for i in range(6):  # the 4 weeks before now had more releases
        _release_on(team, w.before_start + dt.timedelta(days=i), 1)
    outcome_answers_refresh(team_ids=None)
    rollups_recompute_all()
    assert not TeamOutcomeFlag.objects.get(team=team).busy_not_moving
