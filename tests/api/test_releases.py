"""POST /releases (idempotent by external_id, linking an incident) and GET /releases."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.incidents.models import Incident
from apps.metrics.models import DirtyBucket
from apps.releases.models import Release
from tests.api.conftest import assert_error
from tests.factories import IncidentFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def _at(hours_ago: float) -> dt.datetime:
    return (timezone.now() - dt.timedelta(hours=hours_ago)).replace(microsecond=0)


def _release(**overrides) -> dict:
    body = {
        "team": "payments",
        "service": "checkout",
        "version": "2.4.1",
        "deployed_at": _at(3).isoformat(),
    }
    body.update(overrides)
    return body


def test_post_release_creates_it(team_api, team) -> None:
    deployed = _at(3)
    response = team_api.post(
        "/releases",
        _release(
            deployed_at=deployed.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat(),
            first_commit_at=_at(30).isoformat(),
            change_count=7,
            deployed_by="ada",
            status="rolled_back",
            external_id="gh-run-1",
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    release = Release.objects.get()
    assert body["id"] == release.id
    assert body["team"] == "payments"
    assert body["status"] == "rolled_back"
    assert body["failed"] is True
    assert body["source"] == "api"
    assert body["external_id"] == "gh-run-1"
    assert release.deployed_at == deployed  # the offset is honoured, stored as an instant
    assert release.change_count == 7
    assert release.deployed_by == "ada"
    assert release.source == "api"
    assert DirtyBucket.objects.filter(team=team).exists()  # the metrics will follow


def test_defaults(team_api) -> None:
    response = team_api.post("/releases", _release())
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["failed"] is False
    assert body["change_count"] == 0
    assert body["deployed_by"] == ""
    assert body["first_commit_at"] is None
    assert body["external_id"] is None


def test_team_token_may_omit_the_team(team_api) -> None:
    body = _release()
    del body["team"]
    response = team_api.post("/releases", body)
    assert response.status_code == 201
    assert response.json()["team"] == "payments"


def test_same_external_id_again_updates_never_duplicates(team_api) -> None:
    first = team_api.post("/releases", _release(external_id="run-7", change_count=3))
    assert first.status_code == 201
    again = team_api.post(
        "/releases", _release(external_id="run-7", change_count=3, status="failed")
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "failed"
    assert Release.objects.count() == 1
    # Re-posting the very same body is harmless too.
    third = team_api.post(
        "/releases", _release(external_id="run-7", change_count=3, status="failed")
    )
    assert third.status_code == 200
    assert Release.objects.count() == 1


def test_update_keeps_fields_left_out(team_api) -> None:
    team_api.post("/releases", _release(external_id="run-8", change_count=9, deployed_by="grace"))
    response = team_api.post("/releases", _release(external_id="run-8", status="failed"))
    assert response.status_code == 200
    release = Release.objects.get()
    assert (release.change_count, release.deployed_by, release.status) == (9, "grace", "failed")


def test_external_ids_are_per_team(team_api, other_api, team, other_team) -> None:
    assert team_api.post("/releases", _release(external_id="run-1")).status_code == 201
    theirs = _release(external_id="run-1", team="search")
    assert other_api.post("/releases", theirs).status_code == 201
    assert Release.objects.count() == 2


def test_without_external_id_every_post_is_new(team_api) -> None:
    assert team_api.post("/releases", _release()).status_code == 201
    assert team_api.post("/releases", _release()).status_code == 201
    assert Release.objects.count() == 2


def test_fixes_incident_by_external_id_and_by_id(team_api, team) -> None:
    by_ext = IncidentFactory(team=team, source="api", external_id="pd-1")
    by_id = IncidentFactory(team=team)
    response = team_api.post("/releases", _release(fixes_incident="pd-1"))
    assert response.status_code == 201
    assert response.json()["fixes_incident"] == {"id": by_ext.id, "external_id": "pd-1"}
    response = team_api.post("/releases", _release(fixes_incident=by_id.id))
    assert response.json()["fixes_incident"] == {"id": by_id.id, "external_id": None}
    # A numeric id sent as text works too.
    response = team_api.post("/releases", _release(fixes_incident=str(by_id.id)))
    assert response.json()["fixes_incident"]["id"] == by_id.id


def test_fixes_incident_unknown_is_422_and_nothing_saved(team_api, team, other_team) -> None:
    theirs = IncidentFactory(team=other_team, source="api", external_id="pd-2")
    for ref in ("pd-404", "pd-2", theirs.id, 999999):
        body = assert_error(
            team_api.post("/releases", _release(fixes_incident=ref)), 422, "fixes_incident"
        )
        assert body["errors"]["fixes_incident"]
    assert not Release.objects.exists()
    assert not DirtyBucket.objects.filter(team=team).exists()


def test_fixes_incident_can_be_cleared(team_api, team) -> None:
    IncidentFactory(team=team, source="api", external_id="pd-3")
    team_api.post("/releases", _release(external_id="r", fixes_incident="pd-3"))
    response = team_api.post("/releases", _release(external_id="r", fixes_incident=None))
    assert response.status_code == 200
    assert response.json()["fixes_incident"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "exploded"),
        ("change_count", -1),
        ("change_count", "many"),
        ("service", ""),
        ("version", None),
        ("version", "x" * 121),
        ("fixes_incident", 1.5),
        ("fixes_incident", True),
        ("deployed_at", 1767225600),
        ("deployed_at", "yesterday"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(team_api, field, value) -> None:
    assert_error(team_api.post("/releases", _release(**{field: value})), 422, field)
    assert not Release.objects.exists()


@pytest.mark.parametrize("field", ["service", "version", "deployed_at"])
def test_missing_required_field_is_422(team_api, field) -> None:
    body = _release()
    del body[field]
    assert_error(team_api.post("/releases", body), 422, field)


def test_unknown_field_is_422(team_api) -> None:
    assert_error(team_api.post("/releases", _release(deployedAt="x")), 422, "deployedAt")
    assert not Release.objects.exists()


@pytest.mark.parametrize("field", ["deployed_at", "first_commit_at"])
def test_timestamp_without_offset_is_400(team_api, field) -> None:
    naive = _at(40).replace(tzinfo=None).isoformat()
    body = assert_error(team_api.post("/releases", _release(**{field: naive})), 400, field)
    assert "offset" in body["errors"][field][0]
    assert not Release.objects.exists()


def test_service_rules_are_422_with_the_field(team_api) -> None:
    future = (timezone.now() + dt.timedelta(days=1)).isoformat()
    assert_error(team_api.post("/releases", _release(deployed_at=future)), 422, "deployed_at")
    assert not Release.objects.exists()


# --- lists -----------------------------------------------------------------------------


def test_list_is_newest_first_with_paging(team_api, team) -> None:
    releases = [ReleaseFactory(team=team, deployed_at=_at(h)) for h in (5, 1, 3, 2, 4)]
    newest_first = sorted(releases, key=lambda r: r.deployed_at, reverse=True)
    page = team_api.get("/releases", limit=2, offset=0).json()
    assert page["count"] == 5
    assert (page["limit"], page["offset"]) == (2, 0)
    assert [r["id"] for r in page["items"]] == [r.id for r in newest_first[:2]]
    page = team_api.get("/releases", limit=2, offset=4).json()
    assert [r["id"] for r in page["items"]] == [newest_first[4].id]


def test_list_window_is_start_inclusive_end_exclusive_in_org_time(team_api, team, settings) -> None:
    settings.EXECDASH_TIME_ZONE = "Europe/Berlin"
    berlin = dt.timezone(dt.timedelta(hours=1))  # winter time
    day = dt.date(2025, 1, 15)
    midnight = dt.datetime(2025, 1, 15, tzinfo=berlin)
    before = ReleaseFactory(team=team, deployed_at=midnight - dt.timedelta(seconds=1))
    first = ReleaseFactory(team=team, deployed_at=midnight)
    last = ReleaseFactory(team=team, deployed_at=midnight + dt.timedelta(days=1, seconds=-1))
    after = ReleaseFactory(team=team, deployed_at=midnight + dt.timedelta(days=1))
    ids = {
        r["id"]
        for r in team_api.get(
            "/releases", start=day.isoformat(), end=(day + dt.timedelta(days=1)).isoformat()
        ).json()["items"]
    }
    assert ids == {first.id, last.id}
    assert before.id not in ids
    assert after.id not in ids


def test_list_failed_flag_counts_linked_incidents(team_api, team, django_assert_max_num_queries):
    linked = ReleaseFactory(team=team)
    for _ in range(2):
        IncidentFactory(team=team, cause=Incident.Cause.RELEASE, caused_by=linked)
    ReleaseFactory(team=team, status="failed")
    ReleaseFactory(team=team)
    for _ in range(5):
        ReleaseFactory(team=team, fixes_incident=IncidentFactory(team=team))
    with django_assert_max_num_queries(4):
        items = team_api.get("/releases").json()["items"]
    flags = {r["id"]: r["failed"] for r in items}
    assert flags[linked.id] is True
    assert sum(flags.values()) == 2
    assert len(items) == 8


def test_list_bad_window(team_api) -> None:
    assert_error(team_api.get("/releases", start="2025-02-01", end="2025-01-01"), 400, "start")
    assert_error(team_api.get("/releases", start="not-a-date"), 422, "start")
    assert_error(team_api.get("/releases", limit=0), 422, "limit")
    assert_error(team_api.get("/releases", limit=5000), 422, "limit")
    assert_error(team_api.get("/releases", offset=-1), 422, "offset")
