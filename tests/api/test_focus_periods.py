from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.focus.models import FocusEvaluation, FocusPeriod
from tests.api.conftest import assert_error
from tests.factories import FocusPeriodFactory

pytestmark = pytest.mark.django_db


def _period(**overrides) -> dict:
    body = {
        "team": "payments",
        "kind": "stability",
        "starts_on": "2025-03-03",
        "ends_on": "2025-03-30",
        "rationale": "Too many outages last quarter.",
    }
    body.update(overrides)
    return body


def test_admin_declares_a_focus_period(admin_api, team) -> None:
    response = admin_api.post(
        "/focus-periods",
        _period(
            revisit_on="2025-03-17",
            tradeoff="throughput",
            success_signals=[{"metric": "time_to_restore", "target": "< 1 h"}],
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    period = FocusPeriod.objects.get()
    assert body["id"] == period.id
    assert (body["team"], body["kind"], body["status"]) == ("payments", "stability", "proposed")
    assert (body["starts_on"], body["ends_on"], body["revisit_on"]) == (
        "2025-03-03",
        "2025-03-30",
        "2025-03-17",
    )
    # Stored as metric + comparator + a number in the metric's unit (hours here).
    assert body["success_signals"] == [
        {"metric": "time_to_restore", "comparator": "<", "target": 1.0}
    ]
    assert period.events.get().kind == "proposed"
    assert set(body["evaluation"]) >= {"verdict", "metrics"}
    assert body["evaluation"]["verdict"] == "not_enough_data"  # no incidents or releases


def test_overlap_is_409_naming_the_other_period(admin_api, team) -> None:
    other = FocusPeriodFactory(team=team, starts_on=dt.date(2025, 3, 20), ends_on=None)
    body = assert_error(admin_api.post("/focus-periods", _period()), 409, "starts_on")
    message = body["errors"]["starts_on"][0]
    assert f"id {other.id}" in message
    assert "2025-03-20" in message
    assert FocusPeriod.objects.count() == 1


def test_trade_off_metrics_and_the_why(admin_api, team) -> None:
    response = admin_api.post(
        "/focus-periods",
        _period(tradeoff_metrics=["deployment_frequency"], tradeoff="Fewer deploys, safer."),
    )
    assert response.status_code == 201, response.content
    assert response.json()["tradeoff_metrics"] == ["deployment_frequency"]
    assert response.json()["tradeoff"] == "Fewer deploys, safer."


def test_other_teams_periods_do_not_overlap(admin_api, team, other_team) -> None:
    FocusPeriodFactory(team=other_team, starts_on=dt.date(2025, 3, 1), ends_on=None)
    assert admin_api.post("/focus-periods", _period()).status_code == 201


@pytest.mark.parametrize(
    ("overrides", "field", "status"),
    [
        ({"kind": "speed"}, "kind", 422),
        ({"ends_on": "2025-03-01"}, "ends_on", 422),
        ({"revisit_on": "2025-01-01"}, "revisit_on", 422),
        ({"rationale": ""}, "rationale", 422),
        ({"rationale": "   "}, "rationale", 422),
        ({"starts_on": "March 3"}, "starts_on", 422),
        ({"team": "nope"}, "team", 422),
        ({"success_signals": [{"metric": "x"}]}, "success_signals.0.target", 422),
        ({"success_signals": [{"metric": "x", "target": "< 1"}]}, "success_signals", 422),
        ({"tradeoff_metrics": ["speed"], "tradeoff": "why"}, "tradeoff_metrics", 422),
    ],
)
def test_invalid_periods(admin_api, team, overrides, field, status) -> None:
    assert_error(admin_api.post("/focus-periods", _period(**overrides)), status, field)
    assert not FocusPeriod.objects.exists()


def test_team_token_may_not_declare_a_focus(team_api) -> None:
    assert_error(team_api.post("/focus-periods", _period()), 403, "Authorization")
    assert not FocusPeriod.objects.exists()


def test_list_is_scoped_and_evaluated(team_api, admin_api, team, other_team) -> None:
    FocusPeriodFactory(team=team, starts_on=dt.date(2025, 1, 6), ends_on=dt.date(2025, 2, 2))
    FocusPeriodFactory(team=team, starts_on=dt.date(2025, 2, 3), ends_on=None)
    FocusPeriodFactory(team=other_team, starts_on=dt.date(2025, 1, 6), ends_on=None)
    body = team_api.get("/focus-periods").json()["items"]
    assert [p["starts_on"] for p in body] == ["2025-02-03", "2025-01-06"]  # newest first
    for period in body:
        assert period["evaluation"]["verdict"] in {
            "improved",
            "no_clear_change",
            "worse",
            "not_enough_data",
        }
        assert isinstance(period["evaluation"]["metrics"], list)
    assert admin_api.get("/focus-periods").json()["count"] == 3
    assert [p["team"] for p in admin_api.get("/focus-periods", team="search").json()["items"]] == [
        "search",
    ]
    assert_error(team_api.get("/focus-periods", team="search"), 404, "team")
    assert_error(admin_api.get("/focus-periods", team="nope"), 400, "team")


def test_list_is_paged(admin_api, team, other_team) -> None:
    for team_ in (team, other_team):
        for month in (1, 3, 5):
            FocusPeriodFactory(
                team=team_,
                starts_on=dt.date(2025, month, 6),
                ends_on=dt.date(2025, month + 1, 2),
            )
    first = admin_api.get("/focus-periods", limit=4).json()
    assert (first["count"], first["limit"], first["offset"]) == (6, 4, 0)
    second = admin_api.get("/focus-periods", limit=4, offset=4).json()
    assert len(first["items"]) == 4
    assert len(second["items"]) == 2
    everything = admin_api.get("/focus-periods").json()["items"]
    assert first["items"] + second["items"] == everything
    assert_error(admin_api.get("/focus-periods", limit=0), 422, "limit")


def test_periods_with_the_same_windows_are_evaluated_together(admin_api) -> None:
    for _ in range(3):
        FocusPeriodFactory(starts_on=dt.date(2025, 7, 7), ends_on=dt.date(2025, 8, 3))
    admin_api.get("/focus-periods", limit=1)  # the token's first use is recorded once
    queries = []
    for limit in (1, 3):
        FocusEvaluation.objects.all().delete()  # none stored: each page computes its own
        with CaptureQueriesContext(connection) as captured:
            assert len(admin_api.get("/focus-periods", limit=limit).json()["items"]) == limit
        queries.append(len(captured))
    assert queries[0] == queries[1]
    # Read again, the stored answers are served: no window is read.
    with CaptureQueriesContext(connection) as captured:
        admin_api.get("/focus-periods", limit=3)
    assert len(captured) < queries[1]
