"""Outcomes: create (team or organization-wide), measurements upserted by day, progress."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.outcomes.models import Outcome, OutcomeMeasurement
from tests.api.conftest import assert_error
from tests.factories import OutcomeFactory, OutcomeMeasurementFactory

pytestmark = pytest.mark.django_db


def _outcome(**overrides) -> dict:
    body = {
        "team": "payments",
        "name": "Checkout conversion",
        "unit": "%",
        "direction": "up",
        "baseline": 2.0,
        "target": 3.0,
    }
    body.update(overrides)
    return body


def _day(days_ago: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=days_ago)).isoformat()


def test_team_token_creates_a_team_outcome(team_api, team) -> None:
    response = team_api.post("/outcomes", _outcome())
    assert response.status_code == 201, response.content
    body = response.json()
    outcome = Outcome.objects.get()
    assert body["id"] == outcome.id
    assert body["team"] == "payments"
    assert (body["direction"], body["baseline"], body["target"]) == ("up", 2.0, 3.0)
    assert body["measurements"] == []
    assert body["latest"] is None
    assert body["progress"] is None


def test_team_token_may_omit_nothing_organization_wide_needs_admin(team_api) -> None:
    body = _outcome()
    del body["team"]
    assert_error(team_api.post("/outcomes", body), 403, "Authorization")
    assert not Outcome.objects.exists()


def test_admin_creates_an_organization_outcome(admin_api) -> None:
    body = _outcome(name="Revenue", unit="EUR", baseline=100, target=150)
    del body["team"]
    response = admin_api.post("/outcomes", body)
    assert response.status_code == 201
    assert response.json()["team"] is None
    assert Outcome.objects.get().team is None


def test_team_token_cannot_create_for_another_team(team_api, other_team) -> None:
    assert_error(team_api.post("/outcomes", _outcome(team="search")), 404, "team")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"target": 2.0}, "target"),
        ({"direction": "up", "target": 1.0}, "target"),
        ({"direction": "down", "target": 3.0}, "target"),
        ({"direction": "sideways"}, "direction"),
        ({"name": ""}, "name"),
        ({"baseline": "high"}, "baseline"),
        ({"baseline": None}, "baseline"),
    ],
)
def test_invalid_outcomes_are_422(team_api, overrides, field) -> None:
    assert_error(team_api.post("/outcomes", _outcome(**overrides)), 422, field)
    assert not Outcome.objects.exists()


def test_non_finite_numbers_are_refused(team_api) -> None:
    raw = '{"name": "x", "baseline": NaN, "target": 1}'
    response = team_api.post("/outcomes", raw=raw)
    assert response.status_code in (400, 422)
    assert not Outcome.objects.exists()


def test_measurement_created_then_updated_on_the_same_day(team_api, team) -> None:
    outcome = OutcomeFactory(team=team, baseline=10.0, target=20.0)
    first = team_api.post(
        f"/outcomes/{outcome.id}/measurements", {"measured_on": _day(1), "value": 12.5}
    )
    assert first.status_code == 201, first.content
    assert first.json() == {
        "outcome": outcome.id,
        "measured_on": _day(1),
        "value": 12.5,
        "progress": 0.25,
    }
    again = team_api.post(
        f"/outcomes/{outcome.id}/measurements", {"measured_on": _day(1), "value": 15}
    )
    assert again.status_code == 200
    assert again.json()["progress"] == 0.5
    assert OutcomeMeasurement.objects.get().value == 15.0


def test_measurement_errors(team_api, team) -> None:
    outcome = OutcomeFactory(team=team)
    path = f"/outcomes/{outcome.id}/measurements"
    assert_error(team_api.post(path, {"measured_on": _day(-2), "value": 1}), 422, "measured_on")
    assert_error(team_api.post(path, {"measured_on": "01/02/2025", "value": 1}), 422, "measured_on")
    assert_error(team_api.post(path, {"measured_on": _day(1)}), 422, "value")
    assert_error(team_api.post(path, {"measured_on": _day(1), "value": 1, "x": 1}), 422, "x")
    assert not OutcomeMeasurement.objects.exists()


def test_measurement_of_another_teams_or_the_organizations_outcome_is_404(
    team_api, admin_api, other_team
) -> None:
    theirs = OutcomeFactory(team=other_team)
    org = OutcomeFactory(team=None)
    for outcome in (theirs, org):
        response = team_api.post(
            f"/outcomes/{outcome.id}/measurements", {"measured_on": _day(1), "value": 1}
        )
        assert_error(response, 404, "outcome_id")
        assert (
            admin_api.post(
                f"/outcomes/{outcome.id}/measurements", {"measured_on": _day(1), "value": 1}
            ).status_code
            == 201
        )
    assert_error(
        team_api.post("/outcomes/999999/measurements", {"measured_on": _day(1), "value": 1}), 404
    )


def test_list_with_measurements_and_progress(
    team_api, admin_api, team, other_team, django_assert_max_num_queries
) -> None:
    down = OutcomeFactory(
        team=team, name="p95 latency", direction="down", baseline=800.0, target=400.0
    )
    for days, value in ((14, 700.0), (7, 600.0), (1, 500.0)):
        OutcomeMeasurementFactory(
            outcome=down, measured_on=timezone.localdate() - dt.timedelta(days=days), value=value
        )
    OutcomeFactory(team=other_team)
    OutcomeFactory(team=None, name="Revenue")
    with django_assert_max_num_queries(4):
        body = team_api.get("/outcomes").json()
    assert [o["name"] for o in body] == ["p95 latency"]
    outcome = body[0]
    assert [m["value"] for m in outcome["measurements"]] == [700.0, 600.0, 500.0]
    assert [m["progress"] for m in outcome["measurements"]] == [0.25, 0.5, 0.75]
    assert outcome["latest"]["value"] == 500.0
    assert outcome["progress"] == 0.75
    everything = admin_api.get("/outcomes").json()
    assert len(everything) == 3
    assert everything[0]["team"] is None
    assert [o["team"] for o in admin_api.get("/outcomes", team="search").json()] == ["search"]
    assert_error(team_api.get("/outcomes", team="search"), 404, "team")


# --- target date and the organization outcome it ladders up to ---------------------------


def test_a_team_outcome_with_a_target_date_ladders_up_to_an_organization_outcome(
    team_api, team
) -> None:
    nps = OutcomeFactory(team=None, name="NPS", baseline=20, target=40)
    response = team_api.post("/outcomes", _outcome(target_date="2026-12-31", parent=nps.pk))
    assert response.status_code == 201, response.content
    body = response.json()
    outcome = Outcome.objects.get(pk=body["id"])
    assert (outcome.target_date, outcome.parent) == (dt.date(2026, 12, 31), nps)
    assert (body["target_date"], body["parent"]) == ("2026-12-31", nps.pk)
    # Both are optional, and the list shows them too.
    plain = team_api.post("/outcomes", _outcome(name="Refunds")).json()
    assert (plain["target_date"], plain["parent"]) == (None, None)
    listed = {row["id"]: row for row in team_api.get("/outcomes").json()}
    assert (listed[outcome.pk]["target_date"], listed[outcome.pk]["parent"]) == (
        "2026-12-31",
        nps.pk,
    )
    assert (listed[plain["id"]]["target_date"], listed[plain["id"]]["parent"]) == (None, None)


def test_the_organization_list_shows_who_ladders_up_to_what(admin_api, team) -> None:
    nps = OutcomeFactory(team=None, name="NPS", baseline=20, target=40)
    child = OutcomeFactory(team=team, parent=nps, target_date=dt.date(2027, 3, 31))
    rows = {row["id"]: row for row in admin_api.get("/outcomes").json()}
    assert (rows[nps.pk]["parent"], rows[nps.pk]["target_date"]) == (None, None)
    assert (rows[child.pk]["parent"], rows[child.pk]["target_date"]) == (nps.pk, "2027-03-31")


def test_a_bad_parent_is_a_422_naming_parent(team_api, admin_api, team, other_team) -> None:
    nps = OutcomeFactory(team=None, name="NPS", baseline=20, target=40)
    ours = OutcomeFactory(team=team, name="Conversion")
    theirs = OutcomeFactory(team=other_team, name="Search success")
    # The services' rules, as the web form answers them.
    body = assert_error(team_api.post("/outcomes", _outcome(parent=ours.pk)), 422, "parent")
    assert "organization-wide outcome only" in body["errors"]["parent"][0]
    organization = _outcome(name="Revenue", parent=nps.pk)
    del organization["team"]
    body = assert_error(admin_api.post("/outcomes", organization), 422, "parent")
    assert "does not ladder up" in body["errors"]["parent"][0]
    # One the token cannot see is not found, as one that does not exist.
    for missing in (theirs.pk, 999_999, 2**40):
        body = assert_error(team_api.post("/outcomes", _outcome(parent=missing)), 422, "parent")
        assert body["errors"]["parent"] == [f"No outcome {missing}."]
    # Not an id at all.
    for wrong in ("NPS", str(nps.pk), 1.5, True, [nps.pk]):
        assert_error(team_api.post("/outcomes", _outcome(parent=wrong)), 422, "parent")
    assert_error(team_api.post("/outcomes", _outcome(target_date="31/12/2026")), 422, "target_date")
    assert Outcome.objects.count() == 3  # nothing saved
