"""Imperfect records are stored and flagged, not refused (API.md, README "Imperfect records").

A release whose first commit is not before its deployment is stored (201/200 with
`warnings`), counts in deployment frequency and change failure rate, and is left out of lead
time only. What cannot be true is still refused, naming the field, with nothing saved. These
tests run on SQLite and, in the PostgreSQL pass, on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.core.timezones import org_tz
from apps.incidents.models import Incident
from apps.releases.models import Release
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def _at(hours_ago: float) -> str:
    return (timezone.now() - dt.timedelta(hours=hours_ago)).replace(microsecond=0).isoformat()


def _skewed(**overrides) -> dict:
    """A deployment two hours ago whose first commit is stamped an hour later (skew)."""
    body = {
        "service": "checkout",
        "version": "2.4.1",
        "deployed_at": _at(2),
        "first_commit_at": _at(1),
        "external_id": "gh-run-7",
    }
    body.update(overrides)
    return body


def test_first_commit_after_deployment_is_stored_with_a_warning(team_api, team) -> None:
    response = team_api.post("/releases", _skewed())
    assert response.status_code == 201, response.content
    body = response.json()
    assert [w["field"] for w in body["warnings"]] == ["first_commit_at"]
    assert "left out of lead time" in body["warnings"][0]["message"]
    release = Release.objects.get()
    assert release.first_commit_at > release.deployed_at
    # The flag is read from the row: the list says it too, later.
    listed = team_api.get("/releases").json()["items"]
    assert listed[0]["warnings"] == body["warnings"]


def test_a_whole_release_has_no_warnings(team_api) -> None:
    body = team_api.post("/releases", _skewed(first_commit_at=_at(30))).json()
    assert body["warnings"] == []


def test_posting_it_again_is_200_and_fixing_it_clears_the_warning(team_api) -> None:
    assert team_api.post("/releases", _skewed()).status_code == 201
    again = team_api.post("/releases", _skewed())
    assert again.status_code == 200
    assert [w["field"] for w in again.json()["warnings"]] == ["first_commit_at"]
    fixed = team_api.post("/releases", _skewed(first_commit_at=_at(5)))
    assert fixed.status_code == 200
    assert fixed.json()["warnings"] == []
    assert Release.objects.count() == 1


def test_an_incident_naming_such_a_release_is_accepted(team_api) -> None:
    team_api.post("/releases", _skewed())
    response = team_api.post(
        "/incidents",
        {"title": "Checkout down", "started_at": _at(1.5), "caused_by_release": "gh-run-7"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["caused_by_release"]["external_id"] == "gh-run-7"
    assert Incident.objects.get().caused_by == Release.objects.get()


def test_it_counts_in_frequency_and_failure_rate_not_in_lead_time(team_api, team) -> None:
    from apps.metrics.rollups import rollups_process_dirty

    # Whole: five hours from first commit to deployment. Skewed: failed, first commit after.
    team_api.post(
        "/releases",
        _skewed(version="1", external_id="a", deployed_at=_at(30), first_commit_at=_at(35)),
    )
    response = team_api.post("/releases", _skewed(version="2", external_id="b", status="failed"))
    assert response.status_code == 201
    rollups_process_dirty(trigger="test")
    today = timezone.now().astimezone(org_tz()).date()
    body = team_api.get(
        "/metrics",
        start=(today - dt.timedelta(days=14)).isoformat(),
        end=(today + dt.timedelta(days=1)).isoformat(),
    ).json()
    assert body["deployments"] == 2
    assert sum(week["deployments"] for week in body["weeks"]) == 2
    assert body["failed_deployments"] == 1
    assert body["change_failure_rate"] == pytest.approx(0.5)
    assert body["lead_time_seconds"]["n"] == 1
    assert body["lead_time_seconds"]["median"] == pytest.approx(5 * 3600)


def test_an_incident_detected_after_it_was_resolved_is_stored_with_a_warning(team_api) -> None:
    response = team_api.post(
        "/incidents",
        {
            "title": "Found in the logs",
            "started_at": _at(10),
            "resolved_at": _at(9),
            "detected_at": _at(2),
        },
    )
    assert response.status_code == 201, response.content
    assert [w["field"] for w in response.json()["warnings"]] == ["detected_at"]


# ---------- what cannot be true is still refused, naming the field ----------


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"title": "x", "started_at": _at(2), "resolved_at": _at(3)}, 422, "resolved_at"),
        ({"title": "x", "started_at": _at(2), "detected_at": _at(3)}, 422, "detected_at"),
        (
            {"title": "x", "started_at": _at(2), "caused_by_release": "nope"},
            422,
            "caused_by_release",
        ),
        ({"title": "x", "started_at": _at(2), "severity": "SEV9"}, 422, "severity"),
        ({"title": "x", "started_at": "2026-03-02T14:05:00"}, 400, "started_at"),
    ],
    ids=["resolved-before-start", "detected-before-start", "unknown-release", "severity", "naive"],
)
def test_impossible_incidents_are_refused(team_api, body, status, field) -> None:
    assert_error(team_api.post("/incidents", body), status, field)
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"change_count": -1}, 422, "change_count"),
        ({"status": "exploded"}, 422, "status"),
        ({"deployed_at": "2026-03-02T14:05:00"}, 400, "deployed_at"),
        ({"fixes_incident": "nope"}, 422, "fixes_incident"),
    ],
    ids=["negative-changes", "status", "naive", "unknown-incident"],
)
def test_impossible_releases_are_refused(team_api, overrides, status, field) -> None:
    assert_error(team_api.post("/releases", _skewed(**overrides)), status, field)
    assert not Release.objects.exists()


def test_an_unknown_team_is_refused(admin_api) -> None:
    assert_error(admin_api.post("/releases", _skewed(team="nobody")), 422, "team")
    assert not Release.objects.exists()
