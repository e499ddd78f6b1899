"""Did the focus work? The stored evaluations (the same answer as the API's and as
focus_evaluate's), the worker keeping them, and the team page's cards: before vs during,
the interval bar, the success signals and the trade-off as an expected cost."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.api.services import api_token_create
from apps.dashboard.focus_cards import metric_line, period_cards
from apps.focus.evaluation import focus_evaluate
from apps.focus.evaluations import (
    evaluation_from_stored,
    focus_evaluations_of,
    focus_evaluations_refresh,
)
from apps.focus.models import FocusEvaluation, FocusKind, FocusPeriod
from apps.focus.services import focus_period_create
from apps.focus.statistics import MetricChange
from apps.focus.tradeoffs import metrics_named_in, success_signals_of, tradeoff_metrics_of
from apps.incidents.models import Incident
from apps.metrics.rollups import rollups_recompute_all
from apps.metrics.selectors import scope_versions
from apps.releases.models import Release
from tests.api.conftest import Api
from tests.dashboard.conftest import days_ago
from tests.factories import FocusPeriodFactory, MembershipFactory, TeamFactory, focus_kind

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "content"}


def team_url(team) -> str:
    return reverse("teams:detail", kwargs={"slug": team.slug}) + "?range=26w"


def stability_story(team) -> FocusPeriod:
    """A 30-day stability focus that ended a month ago: restores went from ~8 h to ~1 h
    and deployments from 5 to 2 a week (the accepted trade-off)."""
    today = timezone.localdate()
    period = FocusPeriodFactory(
        team=team,
        kind=focus_kind(FocusKind.STABILITY),
        starts_on=today - dt.timedelta(days=60),
        ends_on=today - dt.timedelta(days=31),
        tradeoff="Fewer releases while we fix the on-call path.",
        tradeoff_metrics=["deployment_frequency", "lead_time"],
        success_signals=[
            {"metric": "time_to_restore", "target": "median < 4 h"},
            {"metric": "change_failure_rate", "comparator": "<=", "target": 1},
        ],
    )
    incidents, releases = [], []
    for i in range(8):
        for offset, hours in ((64, 8 + i * 0.1), (35, 1 + i * 0.05)):
            start = days_ago(offset + i * 3)
            incidents.append(
                Incident(
                    team=team,
                    title=f"Outage {offset}.{i}",
                    severity=Incident.Severity.SEV2,
                    service="api",
                    started_at=start,
                    resolved_at=start + dt.timedelta(hours=hours),
                    resolved_by="dev1",
                )
            )
    for d in range(21):  # before: 21 deployments in 30 days; during: 9
        releases.append(_release(team, 62 + d, d))
    for d in range(9):
        releases.append(_release(team, 33 + d * 3, 100 + d))
    Incident.objects.bulk_create(incidents)
    Release.objects.bulk_create(releases)
    rollups_recompute_all()
    return period


def _release(team, days: int, n: int) -> Release:
    return Release(
        team=team,
        service="api",
        version=f"1.0.{n}",
        deployed_at=days_ago(days),
        first_commit_at=days_ago(days + 1),
        status=Release.Status.FAILED if n % 7 == 0 else Release.Status.SUCCEEDED,
        deployed_by="dev1",
    )


# --- stored evaluations -------------------------------------------------------------------


def test_the_stored_evaluation_is_the_apis_and_focus_evaluates(client) -> None:
    admin_api = Api(client, api_token_create(name="org", team=None)[1])
    team = TeamFactory(slug="payments")
    period = stability_story(team)
    assert focus_evaluations_refresh(team_ids=[team.id]) == 1
    row = FocusEvaluation.objects.get(period=period)
    assert row.version == scope_versions([team.id])[team.id]
    computed = focus_evaluate(FocusPeriod.objects.select_related("kind").get(pk=period.pk))
    assert row.verdict == computed.verdict == "improved"
    assert evaluation_from_stored(row.payload) == computed
    assert row.payload == computed.stored()
    with CaptureQueriesContext(connection) as captured:
        item = admin_api.get("/focus-periods", team="payments").json()["items"][0]
    assert item["evaluation"] == computed.as_dict()
    # Read from the stored row: no sample of any window was read.
    assert not any("incidents_incident" in q["sql"] for q in captured.captured_queries)


def test_the_worker_refreshes_a_teams_evaluations_with_its_rollups(settings) -> None:
    from apps.incidents.services import incident_create
    from apps.metrics.tasks import process_dirty_buckets

    team = TeamFactory()
    period = stability_story(team)
    focus_evaluations_refresh(team_ids=[team.id])
    before = FocusEvaluation.objects.get(period=period)
    start = days_ago(40)
    incident_create(
        team=team,
        title="Another outage",
        severity=Incident.Severity.SEV2,
        started_at=start,
        resolved_at=start + dt.timedelta(hours=30),
    )
    process_dirty_buckets()
    after = FocusEvaluation.objects.get(period=period)
    assert after.version == scope_versions([team.id])[team.id] != before.version
    ttr = next(m for m in after.payload["metrics"] if m["metric"] == "time_to_restore")
    assert ttr["n_during"] == 9


def test_a_stale_or_missing_answer_is_computed_and_stored() -> None:
    team = TeamFactory()
    period = stability_story(team)
    loaded = list(FocusPeriod.objects.select_related("kind").filter(pk=period.pk))
    assert not FocusEvaluation.objects.exists()
    first = focus_evaluations_of(loaded)
    assert FocusEvaluation.objects.filter(period=period).exists()
    # The period's dates change: the stored answer no longer holds.
    FocusPeriod.objects.filter(pk=period.pk).update(ends_on=period.ends_on - dt.timedelta(days=2))
    changed = list(FocusPeriod.objects.select_related("kind").filter(pk=period.pk))
    second = focus_evaluations_of(changed)
    assert second[period.pk].during != first[period.pk].during
    assert second[period.pk] == focus_evaluate(changed[0])


def test_a_created_period_is_evaluated_after_commit(django_capture_on_commit_callbacks) -> None:
    team = TeamFactory()
    with django_capture_on_commit_callbacks(execute=True):
        period = focus_period_create(
            team=team,
            kind=focus_kind(FocusKind.THROUGHPUT),
            starts_on=timezone.localdate() - dt.timedelta(days=20),
            rationale="Ship faster.",
        )
    assert FocusEvaluation.objects.get(period=period).verdict == "not_enough_data"


# --- the trade-off and the signals -------------------------------------------------------


def test_tradeoff_and_signals_are_read_from_either_shape() -> None:
    period = FocusPeriodFactory(
        tradeoff="some throughput",
        success_signals=[
            {"metric": "time_to_restore", "target": "median < 1 day"},
            {"metric": "change_failure_rate", "target": "≤ 5 %"},
            {"metric": "deployment_frequency", "comparator": ">=", "target": 15},
            {"metric": "bus_factor", "target": "≥ 2 on every service"},
            {"metric": "nonsense", "target": "< 1"},
        ],
    )
    assert metrics_named_in(period.tradeoff) == ["deployment_frequency", "lead_time"]
    assert tradeoff_metrics_of(period) == []  # the list names them, not the sentence
    period.tradeoff_metrics = ["time_to_restore", "lead_time", "open_incidents"]
    # Never the kind's own metrics, nor one the evaluation does not compare.
    assert tradeoff_metrics_of(period) == ["lead_time"]
    signals = success_signals_of(period)
    assert [(s.metric, s.comparator, s.target) for s in signals] == [
        ("time_to_restore", "<", 24.0),
        ("change_failure_rate", "<=", 5.0),
        ("deployment_frequency", ">=", 15.0),
        ("bus_factor", ">=", 2.0),
    ]
    assert signals[0].met_by(3600) is True
    assert signals[1].met_by(0.08) is False
    assert signals[2].met_by(None) is None


def test_a_metric_line_says_the_verdict_in_words_with_its_interval() -> None:
    change = MetricChange(
        metric="time_to_restore",
        better="lower",
        method="difference of medians, bootstrap interval",
        before=8 * 3600,
        during=3600,
        n_before=12,
        n_during=9,
        change=-7 * 3600,
        interval=(-7.9 * 3600, -6.1 * 3600),
        verdict="improved",
    )
    line = metric_line(change)
    assert line.sentence == (
        "Time to restore improved: median 8 h → 1 h, 95 % interval −7 h 54 min to −6 h 6 min"
    )
    assert line.tone == "good"
    assert line.bar is not None
    assert line.bar.low < line.bar.point < line.bar.high < line.bar.zero  # left of zero
    cost = metric_line(
        MetricChange(
            metric="deployment_frequency",
            better="higher",
            method="difference of weekly rates, Poisson interval",
            before=5.0,
            during=2.1,
            n_before=21,
            n_during=9,
            change=-2.9,
            interval=(-4.7, -1.1),
            verdict="worse",
        ),
        cost=True,
    )
    assert cost.tone == "cost"
    assert cost.verdict == "got worse, as accepted"
    assert cost.sentence.startswith("Deployment frequency got worse, as accepted: 5 a week →")


def test_cards_show_the_expected_cost_and_a_running_period_so_far() -> None:
    team = TeamFactory()
    period = stability_story(team)
    today = timezone.localdate()
    running = FocusPeriodFactory(
        team=team,
        kind=focus_kind(FocusKind.THROUGHPUT),
        starts_on=today - dt.timedelta(days=20),
        tradeoff_metrics=["time_to_restore", "change_failure_rate"],
    )
    periods = list(FocusPeriod.objects.select_related("kind").filter(team=team))
    cards = period_cards(periods, focus_evaluations_of(periods), today=today)
    assert [c.period.pk for c in cards] == [running.pk, period.pk]
    assert cards[0].running
    assert cards[0].verdict.endswith("so far")
    past = cards[1]
    assert past.verdict == "improved"
    assert not past.running
    assert [line.metric for line in past.metrics] == ["time_to_restore", "change_failure_rate"]
    assert [line.metric for line in past.costs] == ["deployment_frequency", "lead_time"]
    assert {line.tone for line in past.costs} == {"cost"}
    assert next((s.met, s.text) for s in past.signals) == (True, "Time to restore < 4 h")


# --- the team page -------------------------------------------------------------------------


def test_the_team_page_shows_the_cards(client) -> None:
    team = TeamFactory(slug="payments")
    stability_story(team)
    member = MembershipFactory(team=team).user
    client.force_login(member)
    html = client.get(team_url(team)).content.decode()
    assert "Did the focus work?" in html
    assert "Time to restore improved: median 8 h" in html
    assert "Expected cost" in html
    assert 'class="metric-change tone-cost" data-metric="deployment_frequency"' in html
    assert "Time to restore &lt; 4 h: met" in html
    fragment = client.get(team_url(team), **HX).content.decode()
    assert "<html" not in fragment
    assert "Did the focus work?" in fragment


def test_another_teams_page_and_fragment_are_404(client) -> None:
    team = TeamFactory(slug="payments")
    stability_story(team)
    outsider = MembershipFactory(team=TeamFactory(slug="search")).user
    client.force_login(outsider)
    assert client.get(team_url(team)).status_code == 404
    assert client.get(team_url(team), **HX).status_code == 404


def _team_page_queries(client, team) -> tuple[int, int]:
    """Queries of the page rendered afresh (window answers stored, page cache empty) and of
    the next view (content cached), with the stored evaluations read along the way."""
    from django.core.cache import cache

    client.get(team_url(team))  # the first view computes the window answers
    counts = []
    cache.clear()  # render the content afresh, reading the stored evaluations
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(team_url(team))
        assert response.status_code == 200
        assert "Did the focus work?" in response.content.decode()
        # The stored answers come with the periods: no query of their own.
        assert not any(
            q["sql"].startswith('SELECT "focus_focusevaluation"') for q in queries.captured_queries
        )
        counts.append(len(queries))
    return counts[0], counts[1]


def test_the_team_page_reads_the_evaluations_in_constant_queries(client, admin) -> None:
    counts = []
    for n in (2, 40):
        team = TeamFactory()
        today = timezone.localdate()
        for i in range(n):
            start = today - dt.timedelta(days=(n - i) * 15 + 30)
            FocusPeriodFactory(
                team=team,
                kind=focus_kind(FocusKind.STABILITY if i % 2 else FocusKind.THROUGHPUT),
                starts_on=start,
                ends_on=start + dt.timedelta(days=14),
                tradeoff_metrics=metrics_named_in("throughput" if i % 2 else "stability"),
            )
        rollups_recompute_all()
        focus_evaluations_refresh(team_ids=[team.id])
        client.force_login(admin)
        periods = list(FocusPeriod.objects.select_related("kind", "evaluation").filter(team=team))
        with CaptureQueriesContext(connection) as queries:
            focus_evaluations_of(periods)
        assert len(queries) == 1  # the stored answers hold: only the versions are read
        counts.append(_team_page_queries(client, team))
    assert counts[0] == counts[1], counts
    assert counts[1][1] <= 12, counts


def test_after_a_write_only_the_periods_it_touches_are_evaluated_again() -> None:
    from apps.incidents.services import incident_create
    from apps.metrics.tasks import process_dirty_buckets

    team = TeamFactory()
    past = stability_story(team)
    running = FocusPeriodFactory(
        team=team,
        kind=focus_kind(FocusKind.THROUGHPUT),
        starts_on=timezone.localdate() - dt.timedelta(days=20),
    )
    focus_evaluations_refresh(team_ids=[team.id])
    before = {row.period_id: row for row in FocusEvaluation.objects.filter(team=team)}
    start = timezone.now() - dt.timedelta(hours=3)
    incident_create(
        team=team,
        title="Today's outage",
        severity=Incident.Severity.SEV3,
        started_at=start,
        resolved_at=start + dt.timedelta(hours=1),
    )
    process_dirty_buckets()
    after = {row.period_id: row for row in FocusEvaluation.objects.filter(team=team)}
    version = scope_versions([team.id])[team.id]
    assert {row.version for row in after.values()} == {version}
    # The past period's windows miss this week: kept as computed, only its version moved.
    assert after[past.pk].computed_at == before[past.pk].computed_at
    assert after[past.pk].payload == before[past.pk].payload
    assert after[running.pk].computed_at > before[running.pk].computed_at
    loaded = list(FocusPeriod.objects.select_related("kind", "evaluation").filter(team=team))
    assert focus_evaluations_of(loaded) == {p.pk: focus_evaluate(p) for p in loaded}


def test_the_focus_page_shows_the_same_cards(client) -> None:
    team = TeamFactory(slug="payments")
    stability_story(team)
    focus_evaluations_refresh(team_ids=[team.id])
    client.force_login(MembershipFactory(team=team).user)
    url = reverse("focus:team", kwargs={"slug": team.slug})
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    assert "Did the focus work?" in html
    assert "Time to restore improved: median 8 h" in html
    assert "Expected cost" in html
    # The stored answers come with the periods: no query of their own, no window read.
    assert not any(
        q["sql"].startswith('SELECT "focus_focusevaluation"') for q in queries.captured_queries
    )
    assert "Did the focus work?" in client.get(url, **HX).content.decode()
    client.force_login(MembershipFactory(team=TeamFactory(slug="search")).user)
    assert client.get(url).status_code == 404
    assert client.get(url, **HX).status_code == 404
