"""GET /metrics: the window's answer of apps.metrics.selectors.api_metrics, as API.md says."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from apps.core.timezones import org_tz
from apps.incidents.services import incident_create
from apps.releases.services import release_create
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db

TOP_LEVEL = {
    "team",
    "start",
    "end",
    "computed_at",
    "deployments",
    "failed_deployments",
    "change_failure_rate",
    "deployment_frequency_per_week",
    "rework_rate",
    "open_incidents",
    "time_to_restore_seconds",
    "failed_deployment_recovery_seconds",
    "lead_time_seconds",
    "bus_factor",
    "levels",
    "weeks",
}
STATS = {"median", "mean", "p90", "n"}
LEVELS = {"deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"}
LEVEL_VALUES = {"elite", "high", "medium", "low", "not_enough_data"}


def _today() -> dt.date:
    return timezone.now().astimezone(org_tz()).date()


@pytest.fixture
def history(team, other_team) -> None:
    """A few releases and incidents over the last weeks, rolled up."""
    from apps.metrics.rollups import rollups_process_dirty

    now = timezone.now()
    for days, status in ((20, "succeeded"), (13, "failed"), (6, "succeeded"), (2, "succeeded")):
        release = release_create(
            team=team,
            service="api",
            version=f"v{days}",
            status=status,
            deployed_by="ada",
            deployed_at=now - dt.timedelta(days=days),
            first_commit_at=now - dt.timedelta(days=days, hours=5),
        )
    incident_create(
        team=team,
        title="Down",
        started_at=now - dt.timedelta(days=1, hours=20),
        resolved_at=now - dt.timedelta(days=1, hours=18),
        resolved_by="grace",
        caused_by=release,
    )
    incident_create(team=team, title="Still down", started_at=now - dt.timedelta(hours=3))
    release_create(
        team=other_team, service="web", version="1", deployed_at=now - dt.timedelta(days=3)
    )
    rollups_process_dirty(trigger="test")


def _expected(team, start: dt.date, end: dt.date) -> dict:
    from tests.metrics.answers import api_metrics

    return json.loads(
        json.dumps(api_metrics(team=team, start=start, end=end), cls=DjangoJSONEncoder)
    )


def test_answer_is_api_metrics_exactly(team_api, team, history) -> None:
    start, end = _today() - dt.timedelta(days=28), _today() + dt.timedelta(days=1)
    expected = _expected(team, start, end)  # warms the cache: computed_at is then stable
    response = team_api.get(
        "/metrics", team="payments", start=start.isoformat(), end=end.isoformat()
    )
    assert response.status_code == 200, response.content
    assert response.json() == expected


def test_shape_is_api_md(team_api, team, history) -> None:
    body = team_api.get("/metrics").json()
    assert set(body) >= TOP_LEVEL
    assert list(body)[:4] == ["team", "start", "end", "computed_at"]
    assert list(body)[-1] == "weeks"
    assert body["team"] == "payments"
    for name in (
        "time_to_restore_seconds",
        "failed_deployment_recovery_seconds",
        "lead_time_seconds",
    ):
        assert set(body[name]) == STATS
    assert set(body["levels"]) == LEVELS
    assert set(body["levels"].values()) <= LEVEL_VALUES
    assert body["computed_at"].endswith("Z")
    assert body["weeks"]
    week_starts = [dt.date.fromisoformat(w["week_start"]) for w in body["weeks"]]
    assert all(d.weekday() == 0 for d in week_starts)
    assert week_starts == sorted(week_starts)
    for week in body["weeks"]:
        assert {
            "deployments",
            "failed_deployments",
            "change_failure_rate",
            "time_to_restore_seconds",
            "lead_time_seconds",
            "open_incidents",
        } <= set(week)


def test_numbers_follow_the_data(team_api, team, history) -> None:
    body = team_api.get("/metrics").json()
    assert body["deployments"] == 4
    # One release failed by status, one by the incident it caused: two failed releases.
    assert body["failed_deployments"] == 2
    assert body["change_failure_rate"] == pytest.approx(0.5)
    assert body["open_incidents"] == 1
    assert body["time_to_restore_seconds"]["n"] == 1
    assert body["time_to_restore_seconds"]["median"] == pytest.approx(7200.0)
    assert sum(w["deployments"] for w in body["weeks"]) == 4


def test_default_window_is_the_90_days_to_today(team_api, history) -> None:
    body = team_api.get("/metrics").json()
    end = _today() + dt.timedelta(days=1)
    assert body["end"] == end.isoformat()
    assert body["start"] == (end - dt.timedelta(days=90)).isoformat()
    only_end = team_api.get("/metrics", end="2025-03-01").json()
    assert (only_end["start"], only_end["end"]) == ("2024-12-01", "2025-03-01")


def test_admin_without_team_gets_the_organization(admin_api, team, history) -> None:
    body = admin_api.get("/metrics").json()
    assert body["team"] is None
    assert body["deployments"] == 5


def test_team_token_without_team_gets_its_team(team_api, history) -> None:
    assert team_api.get("/metrics").json()["team"] == "payments"


def test_empty_window_has_nulls_not_zeros(team_api, team) -> None:
    body = team_api.get("/metrics", start="2020-01-06", end="2020-01-13").json()
    assert body["deployments"] == 0
    assert body["change_failure_rate"] is None
    assert body["time_to_restore_seconds"] == {"median": None, "mean": None, "p90": None, "n": 0}


@pytest.mark.parametrize(
    ("start", "end"), [("2025-02-01", "2025-01-01"), ("2025-01-01", "2025-01-01")]
)
def test_start_not_before_end_is_400(team_api, start, end) -> None:
    body = assert_error(team_api.get("/metrics", start=start, end=end), 400, "start")
    assert "before" in body["errors"]["start"][0]


def test_start_after_the_default_end_is_400(team_api) -> None:
    later = (_today() + dt.timedelta(days=30)).isoformat()
    assert_error(team_api.get("/metrics", start=later), 400, "start")


def test_window_too_long_is_400(team_api) -> None:
    assert_error(team_api.get("/metrics", start="2000-01-01", end="2025-01-01"), 400, "start")


@pytest.mark.parametrize("field", ["start", "end"])
@pytest.mark.parametrize("value", ["2025-13-01", "yesterday", "2025-01-01T00:00:00Z", "20250101"])
def test_malformed_dates_are_422(team_api, field, value) -> None:
    assert_error(team_api.get("/metrics", **{field: value}), 422, field)


def test_unknown_team(admin_api, team_api, team) -> None:
    assert_error(admin_api.get("/metrics", team="nope"), 400, "team")
    assert_error(team_api.get("/metrics", team="nope"), 404, "team")
