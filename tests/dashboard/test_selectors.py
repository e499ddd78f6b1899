from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from apps.dashboard.dates import DateRange
from apps.dashboard.presenters import change_of
from apps.dashboard.selectors.overview import overview_cards, overview_state
from apps.dashboard.selectors.team import chart_markers
from apps.focus.models import FocusKind
from apps.focus.stability import stability_warnings
from apps.incidents.models import Incident
from apps.metrics.formulas import Stats
from apps.metrics.rollups import rollups_recompute_all
from apps.releases.models import Release
from tests.dashboard.conftest import days_ago
from tests.factories import (
    FocusPeriodFactory,
    IncidentFactory,
    ReleaseFactory,
    TeamFactory,
    focus_kind,
)


def _window(levels, cfr=None, ttr=None):
    return SimpleNamespace(
        levels=levels,
        change_failure_rate=cfr,
        time_to_restore=Stats(ttr, ttr, ttr, 5 if ttr else 0),
    )


def _focus(slug, name):
    return SimpleNamespace(kind=SimpleNamespace(slug=slug, name=name))


def test_throughput_focus_with_poor_stability_is_warned_in_a_sentence():
    window = _window({"change_failure_rate": "low", "time_to_restore": "high"}, cfr=0.22)
    assert stability_warnings(_focus("throughput", "Throughput"), window) == [
        "Throughput focus while change failure rate is 22 % (low)"
    ]


def test_both_stability_signals_in_one_sentence():
    window = _window(
        {"change_failure_rate": "medium", "time_to_restore": "low"},
        cfr=0.12,
        ttr=3.2 * 86400,
    )
    assert stability_warnings(_focus("throughput", "Throughput"), window) == [
        "Throughput focus while change failure rate is 12 % (medium) "
        "and time to restore is 3.2 days (low)"
    ]


@pytest.mark.parametrize(
    ("focus", "levels"),
    [
        (_focus("stability", "Stability"), {"change_failure_rate": "low"}),
        (_focus("throughput", "Throughput"), {"change_failure_rate": "high"}),
        (_focus("throughput", "Throughput"), {"change_failure_rate": "not_enough_data"}),
        (None, {"change_failure_rate": "low"}),
    ],
)
def test_no_warning_without_a_throughput_focus_on_poor_stability(focus, levels):
    assert stability_warnings(focus, _window(levels, cfr=0.3)) == []


@pytest.mark.parametrize(
    ("now", "before", "better", "unit", "text"),
    [
        (10.0, 8.0, "up", "per_week", "▲ 2 a week, better"),
        (0.10, 0.15, "down", "rate", "▼ 5 points, better"),
        (7200.0, 3600.0, "down", "duration", "▲ 1 h, worse"),
        (3, 1, "down", "count", "▲ 2, worse"),
        (2, 2, "down", "count", "no change"),
        (None, 2, "down", "count", "no earlier data"),
        (2, None, "down", "count", "no earlier data"),
    ],
)
def test_changes_say_better_or_worse_in_words(now, before, better, unit, text):
    assert change_of(now, before, better=better, unit=unit).text == text


def test_date_range_previous_and_weeks():
    custom = DateRange.custom(dt.date(2025, 3, 5), dt.date(2025, 3, 18))
    assert custom.days == 14
    assert custom.previous() == DateRange(dt.date(2025, 2, 19), dt.date(2025, 3, 5))
    assert custom.chart_start == dt.date(2025, 3, 3)
    assert custom.mondays() == [dt.date(2025, 3, 3), dt.date(2025, 3, 10), dt.date(2025, 3, 17)]


def test_presets_are_this_week_so_far_and_whole_weeks_before_it():
    wednesday = dt.date(2025, 3, 12)
    preset = DateRange.preset("4w", wednesday)
    assert preset.end == dt.date(2025, 3, 13)  # today counts
    assert preset.start == dt.date(2025, 2, 17)  # a Monday, three whole weeks earlier
    assert preset.days == 3 * 7 + 3
    assert preset.label == "Last 4 weeks"


@pytest.mark.django_db
def test_cards_are_ordered_by_what_needs_attention():
    today = timezone.localdate()
    alpha = TeamFactory(name="Alpha", slug="alpha")  # nothing to see
    bravo = TeamFactory(name="bravo", slug="bravo")  # overdue revisit
    charlie = TeamFactory(name="Charlie", slug="charlie")  # stability warning
    delta = TeamFactory(name="Delta", slug="delta")  # an open SEV2
    echo = TeamFactory(name="Echo", slug="echo")  # an open SEV3 only: not severe
    FocusPeriodFactory(
        team=bravo, starts_on=today - dt.timedelta(days=40), revisit_on=today - dt.timedelta(1)
    )
    FocusPeriodFactory(
        team=charlie,
        kind=focus_kind(FocusKind.THROUGHPUT),
        starts_on=today - dt.timedelta(days=40),
    )
    for d in range(5):
        ReleaseFactory(
            team=charlie,
            deployed_at=days_ago(10 + d),
            status=Release.Status.ROLLED_BACK if d < 2 else Release.Status.SUCCEEDED,
        )
    IncidentFactory(team=delta, severity=Incident.Severity.SEV2, started_at=days_ago(1))
    IncidentFactory(team=echo, severity=Incident.Severity.SEV3, started_at=days_ago(1))
    rollups_recompute_all()

    cards_in_order = overview_cards(
        overview_state(
            teams=[alpha, bravo, charlie, delta, echo],
            date_range=DateRange.preset("13w", today),
            today=today,
        )
    )
    assert [card.team.slug for card in cards_in_order] == [
        "delta",
        "charlie",
        "bravo",
        "alpha",
        "echo",
    ]
    cards = {card.team.slug: card for card in cards_in_order}
    assert cards["delta"].open_severe == 1
    assert cards["echo"].open_incidents == 1
    assert cards["echo"].open_severe == 0
    assert cards["bravo"].revisit_due
    assert cards["charlie"].warnings == ["Throughput focus while change failure rate is 40 % (low)"]


@pytest.mark.django_db
def test_chart_markers_are_failed_releases_and_severe_incidents_in_range():
    team = TeamFactory(slug="t")
    today = timezone.localdate()
    ok = ReleaseFactory(team=team, deployed_at=days_ago(10))
    failed = ReleaseFactory(team=team, deployed_at=days_ago(11), status=Release.Status.FAILED)
    blamed = ReleaseFactory(team=team, deployed_at=days_ago(12))
    IncidentFactory(
        team=team,
        severity="SEV3",
        started_at=days_ago(12, -1),
        caused_by=blamed,
        cause=Incident.Cause.RELEASE,
    )
    severe = IncidentFactory(team=team, severity="SEV1", started_at=days_ago(13), title="Down")
    IncidentFactory(team=team, severity="SEV1", started_at=days_ago(400))  # out of range

    markers = chart_markers(team=team, date_range=DateRange.preset("13w", today))
    releases = {m.url for m in markers if m.kind == "failed_release"}
    incidents = [m for m in markers if m.kind == "incident"]
    assert releases == {f"/teams/t/releases/{failed.pk}/", f"/teams/t/releases/{blamed.pk}/"}
    assert f"/teams/t/releases/{ok.pk}/" not in releases
    assert [(m.title, m.url) for m in incidents] == [("Down", f"/teams/t/incidents/{severe.pk}/")]
    assert incidents[0].detail == "SEV1 · api · open"
