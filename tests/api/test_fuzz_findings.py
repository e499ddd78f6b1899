"""Requests an API fuzzer found answering 500, or accepted though invalid: each one is now a
4xx naming the field, and nothing is stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from apps.incidents.models import Incident
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.releases.models import Release
from tests.api.conftest import assert_error
from tests.factories import OutcomeFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

STARTED = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).replace(microsecond=0).isoformat()


@pytest.mark.parametrize("ref", ["²", "٣", str(2**63), 2**63, 0, -1])
def test_a_release_reference_that_names_no_row_is_a_422(admin_api, team, ref) -> None:
    ReleaseFactory(team=team)
    response = admin_api.post(
        "/incidents",
        {"team": "payments", "title": "Down", "started_at": STARTED, "caused_by_release": ref},
    )
    assert response.status_code in (422, 400), response.content
    assert not Incident.objects.exists()


@pytest.mark.parametrize("ref", ["²", str(2**64), 2**63])
def test_an_incident_reference_that_names_no_row_is_a_422(admin_api, team, ref) -> None:
    response = admin_api.post(
        "/releases",
        {
            "team": "payments",
            "service": "checkout",
            "version": "1",
            "deployed_at": STARTED,
            "fixes_incident": ref,
        },
    )
    assert response.status_code in (422, 400), response.content
    assert not Release.objects.exists()


def test_a_parent_id_beyond_a_bigint_is_a_422(admin_api, team) -> None:
    response = admin_api.post(
        "/outcomes",
        {"team": "payments", "name": "NPS", "baseline": 0, "target": 1, "parent": 2**63},
    )
    assert_error(response, 422, "parent")
    assert not Outcome.objects.exists()


def test_an_outcome_id_beyond_a_bigint_in_the_path_is_a_422(admin_api) -> None:
    response = admin_api.post(
        f"/outcomes/{2**63}/measurements", {"measured_on": "2026-12-01", "value": 1}
    )
    assert_error(response, 422, "outcome_id")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/releases", {"change_count": False}, "change_count"),
        ("/releases", {"change_count": "3"}, "change_count"),
        ("/incidents", {"deploy_caused": 0}, "deploy_caused"),
        ("/incidents", {"deploy_caused": "false"}, "deploy_caused"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_not_coerced(admin_api, team, path, body, field):
    base = (
        {"team": "payments", "service": "checkout", "version": "1", "deployed_at": STARTED}
        if path == "/releases"
        else {"team": "payments", "title": "Down", "started_at": STARTED}
    )
    response = admin_api.post(path, {**base, **body})
    assert_error(response, 422, field)
    assert not Release.objects.exists()
    assert not Incident.objects.exists()


@pytest.mark.parametrize("value", [False, True, "5"])
def test_a_measurement_value_must_be_a_number(admin_api, team, value) -> None:
    outcome = OutcomeFactory(team=team)
    response = admin_api.post(
        f"/outcomes/{outcome.pk}/measurements", {"measured_on": "2026-12-01", "value": value}
    )
    assert_error(response, 422, "value")
    assert not OutcomeMeasurement.objects.exists()


def test_an_integer_value_is_still_a_number(admin_api, team) -> None:
    outcome = OutcomeFactory(team=team)
    response = admin_api.post(
        f"/outcomes/{outcome.pk}/measurements", {"measured_on": "2026-12-01", "value": 5}
    )
    assert response.status_code == 201, response.content


def test_every_operation_declares_the_web_servers_414() -> None:
    document = Client().get("/api/v1/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "414" in operation["responses"], (method, path)


def test_a_query_parameter_given_twice_is_a_422_naming_it(admin_api, team) -> None:
    response = admin_api.client.get(
        "/api/v1/releases?offset=1&offset=2&limit=3",
        headers={"Authorization": f"Bearer {admin_api.token}"},
    )
    assert_error(response, 422, "offset")


@pytest.mark.parametrize("day", [0, 1_700_000_000, False, None])
def test_a_day_must_be_written_as_text(admin_api, team, day) -> None:
    outcome = OutcomeFactory(team=team)
    response = admin_api.post(
        f"/outcomes/{outcome.pk}/measurements", {"measured_on": day, "value": 1}
    )
    assert_error(response, 422, "measured_on")
    assert not OutcomeMeasurement.objects.exists()
