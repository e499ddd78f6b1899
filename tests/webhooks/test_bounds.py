"""A signed delivery is held to the same bounds as the API (apps/core/bounds.py): a time
outside them, or text with U+0000, is a 400 naming the field, and nothing is stored."""

from __future__ import annotations

import pytest

from apps.incidents.models import Incident
from apps.releases.models import Release
from tests.webhooks.conftest import deployment, load, post_github, post_pagerduty

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"first_commit_at": "0001-01-01T00:00:00+00:30"}, "first_commit_at"),
        ({"first_commit_at": "2026-01-14T09:00:00-16:58"}, "first_commit_at"),
    ],
)
def test_a_github_first_commit_outside_the_bounds_is_a_400(api, github, payload, field) -> None:
    webhook, secret = github
    response = post_github(api, webhook, secret, deployment(payload=payload), delivery="d-1")
    assert response.status_code == 400, response.content
    assert field in response.content.decode()
    assert not Release.objects.exists()


def test_a_github_deployment_time_in_9999_is_a_400(api, github) -> None:
    webhook, secret = github
    data = deployment(created_at="9999-12-31T23:59:59Z")
    response = post_github(api, webhook, secret, data, delivery="d-2")
    assert response.status_code == 400, response.content
    assert not Release.objects.exists()


def test_nul_in_a_github_field_is_a_400_naming_it(api, github) -> None:
    webhook, secret = github
    data = deployment(environment="produc\x00tion")
    response = post_github(api, webhook, secret, data, delivery="d-3")
    assert response.status_code == 400, response.content
    assert "U+0000" in response.content.decode()
    assert not Release.objects.exists()


def test_a_pagerduty_time_before_1970_is_a_400(api, pagerduty) -> None:
    webhook, secret = pagerduty
    data = load("pagerduty_incident_triggered")
    data["event"]["occurred_at"] = "0001-01-01T00:00:00Z"
    data["event"]["data"]["created_at"] = "0001-01-01T00:00:00Z"
    response = post_pagerduty(api, webhook, secret, data)
    assert response.status_code == 400, response.content
    assert not Incident.objects.exists()
