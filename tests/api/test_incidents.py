"""POST /incidents (idempotent, cause and linking) and GET /incidents."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.incidents.models import Incident
from apps.metrics.models import DirtyBucket
from tests.api.conftest import assert_error
from tests.factories import IncidentFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def _at(hours_ago: float) -> dt.datetime:
    return (timezone.now() - dt.timedelta(hours=hours_ago)).replace(microsecond=0)


def _incident(**overrides) -> dict:
    body = {"team": "payments", "title": "Checkout returns 502", "started_at": _at(2).isoformat()}
    body.update(overrides)
    return body


def test_post_incident_creates_it(team_api, team) -> None:
    started = _at(5)
    response = team_api.post(
        "/incidents",
        _incident(
            started_at=started.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat(),
            detected_at=(started + dt.timedelta(minutes=4)).isoformat().replace("+00:00", "Z"),
            resolved_at=(started + dt.timedelta(hours=1)).isoformat(),
            severity="SEV1",
            service="checkout",
            resolved_by="grace",
            summary="Connection pool exhausted.",
            external_id="PD-100",
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    incident = Incident.objects.get()
    assert body["id"] == incident.id
    assert incident.started_at == started
    assert incident.resolved_at == started + dt.timedelta(hours=1)
    assert (incident.severity, incident.service, incident.resolved_by) == (
        "SEV1",
        "checkout",
        "grace",
    )
    assert incident.source == "api"
    assert body["is_open"] is False
    assert body["cause"] == "unknown"
    assert body["deploy_caused"] is None
    assert body["caused_by_release"] is None
    assert DirtyBucket.objects.filter(team=team).exists()


def test_defaults(team_api) -> None:
    body = team_api.post("/incidents", _incident()).json()
    assert body["severity"] == "SEV3"
    assert body["is_open"] is True
    assert body["resolved_at"] is None
    assert (body["service"], body["summary"], body["resolved_by"]) == ("", "", "")


def test_same_external_id_again_updates_never_duplicates(team_api) -> None:
    started = _at(3).isoformat()
    first = team_api.post("/incidents", _incident(external_id="PD-1", started_at=started))
    assert first.status_code == 201
    resolved = _at(1).isoformat()
    again = team_api.post(
        "/incidents",
        _incident(external_id="PD-1", started_at=started, resolved_at=resolved, resolved_by="ada"),
    )
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["is_open"] is False
    assert Incident.objects.count() == 1
    same = team_api.post(
        "/incidents",
        _incident(external_id="PD-1", started_at=started, resolved_at=resolved, resolved_by="ada"),
    )
    assert same.status_code == 200
    assert Incident.objects.count() == 1
    assert Incident.objects.get().resolved_by == "ada"


def test_update_keeps_fields_left_out(team_api, team) -> None:
    release = ReleaseFactory(team=team, deployed_at=_at(6))
    team_api.post(
        "/incidents",
        _incident(
            external_id="PD-2", severity="SEV2", summary="Slow.", caused_by_release=release.id
        ),
    )
    team_api.post("/incidents", _incident(external_id="PD-2", resolved_at=_at(1).isoformat()))
    incident = Incident.objects.get()
    assert (incident.severity, incident.summary) == ("SEV2", "Slow.")
    assert incident.caused_by == release
    assert incident.cause == "release"


def test_caused_by_release_by_external_id(team_api, team) -> None:
    release = ReleaseFactory(team=team, deployed_at=_at(6), source="api", external_id="run-5")
    response = team_api.post("/incidents", _incident(caused_by_release="run-5"))
    assert response.status_code == 201
    body = response.json()
    assert body["cause"] == "release"
    assert body["deploy_caused"] is True
    assert body["caused_by_release"] == {"id": release.id, "external_id": "run-5"}
    # The release is now failed, and its week is marked for recompute.
    releases = team_api.get("/releases").json()["items"]
    assert releases[0]["failed"] is True


def test_caused_by_release_by_id(team_api, team) -> None:
    release = ReleaseFactory(team=team, deployed_at=_at(6))
    body = team_api.post("/incidents", _incident(caused_by_release=release.id)).json()
    assert body["caused_by_release"]["id"] == release.id
    body = team_api.post(
        "/incidents", _incident(caused_by_release=str(release.id), deploy_caused=True)
    ).json()
    assert body["caused_by_release"]["id"] == release.id


def test_external_id_of_the_api_wins_over_another_source(team_api, team) -> None:
    ReleaseFactory(team=team, deployed_at=_at(7), source="webhook", external_id="v9")
    mine = ReleaseFactory(team=team, deployed_at=_at(6), source="api", external_id="v9")
    body = team_api.post("/incidents", _incident(caused_by_release="v9")).json()
    assert body["caused_by_release"]["id"] == mine.id


def test_a_webhooks_release_is_named_by_its_deployment_id(team_api, team) -> None:
    # Webhook records are keyed per webhook (`webhook-<id>:<deployment id>`); callers still
    # name them by the provider's id, and the key itself works too.
    from apps.webhooks.services import webhook_create

    webhook, _secret = webhook_create(team=team, kind="github")
    release = ReleaseFactory(
        team=team, deployed_at=_at(7), source="webhook", external_id=webhook.record_key("4711")
    )
    for ref in ("4711", webhook.record_key("4711")):
        body = team_api.post("/incidents", _incident(caused_by_release=ref)).json()
        assert body["caused_by_release"]["id"] == release.id, ref


def test_deploy_caused_false_is_not_deploy(team_api) -> None:
    body = team_api.post("/incidents", _incident(deploy_caused=False)).json()
    assert body["cause"] == "not_deploy"
    assert body["deploy_caused"] is False
    assert body["caused_by_release"] is None


def test_deploy_caused_true_without_release_is_unknown(team_api) -> None:
    body = team_api.post("/incidents", _incident(deploy_caused=True)).json()
    assert body["cause"] == "unknown"


def test_deploy_caused_false_with_a_release_is_422(team_api, team) -> None:
    release = ReleaseFactory(team=team, deployed_at=_at(6))
    response = team_api.post(
        "/incidents", _incident(caused_by_release=release.id, deploy_caused=False)
    )
    assert_error(response, 422, "deploy_caused")
    assert not Incident.objects.exists()


def test_link_removed_on_update(team_api, team) -> None:
    release = ReleaseFactory(team=team, deployed_at=_at(6))
    team_api.post("/incidents", _incident(external_id="PD-3", caused_by_release=release.id))
    body = team_api.post("/incidents", _incident(external_id="PD-3", caused_by_release=None)).json()
    assert (body["cause"], body["caused_by_release"]) == ("unknown", None)
    body = team_api.post("/incidents", _incident(external_id="PD-3", deploy_caused=False)).json()
    assert body["cause"] == "not_deploy"


def test_unknown_release_is_422_and_nothing_saved(team_api, team, other_team) -> None:
    theirs = ReleaseFactory(team=other_team, deployed_at=_at(6), source="api", external_id="x")
    for ref in ("run-404", "x", theirs.id):
        assert_error(
            team_api.post("/incidents", _incident(caused_by_release=ref)),
            422,
            "caused_by_release",
        )
    assert not Incident.objects.exists()
    assert not DirtyBucket.objects.filter(team=team).exists()


def test_release_deployed_after_the_start_is_422_named_caused_by_release(team_api, team) -> None:
    release = ReleaseFactory(team=team, deployed_at=_at(1))
    response = team_api.post(
        "/incidents", _incident(started_at=_at(2).isoformat(), caused_by_release=release.id)
    )
    body = assert_error(response, 422, "caused_by_release")
    assert "caused_by" not in body["errors"]
    assert not Incident.objects.exists()


def test_resolved_before_started_is_422_and_nothing_saved(team_api, team) -> None:
    response = team_api.post(
        "/incidents",
        _incident(
            started_at=_at(2).isoformat(), resolved_at=_at(3).isoformat(), external_id="PD-9"
        ),
    )
    assert_error(response, 422, "resolved_at")
    assert not Incident.objects.exists()
    assert not DirtyBucket.objects.exists()


def test_invalid_update_leaves_the_row_untouched(team_api, team) -> None:
    team_api.post("/incidents", _incident(external_id="PD-4", title="Before"))
    response = team_api.post(
        "/incidents",
        _incident(external_id="PD-4", title="After", resolved_at=_at(10).isoformat()),
    )
    assert_error(response, 422, "resolved_at")
    assert Incident.objects.get().title == "Before"


def test_detected_before_started_is_422(team_api) -> None:
    response = team_api.post(
        "/incidents",
        _incident(started_at=_at(2).isoformat(), detected_at=_at(3).isoformat()),
    )
    assert_error(response, 422, "detected_at")


def test_future_start_is_422(team_api) -> None:
    future = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    assert_error(team_api.post("/incidents", _incident(started_at=future)), 422, "started_at")


@pytest.mark.parametrize("field", ["started_at", "detected_at", "resolved_at"])
def test_timestamp_without_offset_is_400(team_api, field) -> None:
    body = _incident(started_at=_at(5).isoformat())
    body[field] = _at(4).replace(tzinfo=None).isoformat()
    if field == "started_at":
        body[field] = _at(5).replace(tzinfo=None).isoformat()
    error = assert_error(team_api.post("/incidents", body), 400, field)
    assert "offset" in error["errors"][field][0]
    assert not Incident.objects.exists()


def test_date_only_timestamp_is_400(team_api) -> None:
    day = _at(48).date().isoformat()
    assert_error(team_api.post("/incidents", _incident(started_at=day)), 400, "started_at")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("severity", "SEV5"),
        ("severity", "sev1"),
        ("title", ""),
        ("title", 42),
        ("deploy_caused", "maybe"),
        ("caused_by_release", {"id": 1}),
        ("started_at", None),
        ("external_id", ["a"]),
    ],
)
def test_invalid_fields_are_422_naming_the_field(team_api, field, value) -> None:
    assert_error(team_api.post("/incidents", _incident(**{field: value})), 422, field)
    assert not Incident.objects.exists()


def test_several_errors_at_once(team_api) -> None:
    body = assert_error(
        team_api.post("/incidents", {"team": "payments", "severity": "SEV9", "colour": "red"}),
        422,
        "title",
        "started_at",
        "severity",
        "colour",
    )
    assert body["errors"]["colour"] == ["Unknown field."]


# --- lists -----------------------------------------------------------------------------


def test_list_is_newest_first_with_paging(team_api, team) -> None:
    incidents = [IncidentFactory(team=team, started_at=_at(h)) for h in (3, 1, 2)]
    page = team_api.get("/incidents", limit=2).json()
    assert page["count"] == 3
    assert [i["id"] for i in page["items"]] == [incidents[1].id, incidents[2].id]


def test_list_window(team_api, team) -> None:
    old = IncidentFactory(team=team, started_at=_at(24 * 40))
    new = IncidentFactory(team=team, started_at=_at(1))
    cut = (timezone.now() - dt.timedelta(days=10)).date().isoformat()
    assert [i["id"] for i in team_api.get("/incidents", start=cut).json()["items"]] == [new.id]
    assert [i["id"] for i in team_api.get("/incidents", end=cut).json()["items"]] == [old.id]


def test_list_queries_do_not_grow_with_rows(team_api, team, django_assert_max_num_queries):
    for hours in range(1, 30):
        release = ReleaseFactory(team=team, deployed_at=_at(hours + 1))
        IncidentFactory(team=team, started_at=_at(hours), cause="release", caused_by=release)
    with django_assert_max_num_queries(4):
        page = team_api.get("/incidents").json()
    assert page["count"] == 29
    assert all(i["caused_by_release"] for i in page["items"])
