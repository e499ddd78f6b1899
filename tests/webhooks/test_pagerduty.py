"""PagerDuty v3 deliveries: signatures (one or several `v1=`), the incident lifecycle,
redeliveries and out-of-order events."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.incidents.models import Incident
from apps.metrics.models import DirtyBucket
from apps.releases.models import Source
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import webhook_create
from tests.webhooks.conftest import encode, hexmac, load, post_pagerduty

pytestmark = pytest.mark.django_db

STARTED = dt.datetime(2026, 1, 14, 11, 0, tzinfo=dt.UTC)
RESOLVED = dt.datetime(2026, 1, 14, 11, 45, 30, tzinfo=dt.UTC)


def test_a_triggered_incident_is_recorded(api, pagerduty, team) -> None:
    webhook, secret = pagerduty
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    assert response.status_code == 201, response.content
    incident = Incident.objects.get()
    assert response.json()["incident"] == {"id": incident.pk, "created": True}
    assert incident.team == team
    assert incident.title == "Checkout 5xx rate above 2%"
    assert incident.service == "Checkout API"
    assert incident.severity == "SEV2"  # high urgency, the default mapping
    assert incident.started_at == STARTED
    assert incident.resolved_at is None
    assert (incident.source, incident.external_id) == (
        Source.WEBHOOK,
        f"webhook-{webhook.pk}:Q1ABCDEF234567",
    )
    assert DirtyBucket.objects.filter(team=team).exists()
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_id == "01DEN4H3LP0XQ8F9T1Z2R3S4V5"
    assert delivery.event_type == "incident.triggered"
    assert (delivery.outcome, delivery.record_kind) == ("accepted", "incident")


def test_low_urgency_maps_to_the_low_severity(api, pagerduty) -> None:
    webhook, secret = pagerduty
    payload = load("pagerduty_incident_triggered")
    payload["event"]["data"]["urgency"] = "low"
    post_pagerduty(api, webhook, secret, payload)
    assert Incident.objects.get().severity == "SEV4"


def test_the_mapping_is_configurable_per_webhook(api, team) -> None:
    webhook, secret = webhook_create(
        team=team, kind="pagerduty", severity_high="SEV1", severity_low="SEV3"
    )
    payload = load("pagerduty_incident_triggered")
    post_pagerduty(api, webhook, secret, payload)
    assert Incident.objects.get().severity == "SEV1"
    payload["event"]["id"] = "another"
    payload["event"]["data"].update(id="Q2", urgency="low")
    post_pagerduty(api, webhook, secret, payload)
    assert Incident.objects.get(external_id=webhook.record_key("Q2")).severity == "SEV3"


def test_without_created_at_the_incident_starts_when_the_event_occurred(api, pagerduty) -> None:
    webhook, secret = pagerduty
    payload = load("pagerduty_incident_triggered")
    del payload["event"]["data"]["created_at"]
    post_pagerduty(api, webhook, secret, payload)
    assert Incident.objects.get().started_at == dt.datetime(
        2026, 1, 14, 11, 0, 5, 120000, tzinfo=dt.UTC
    )


def test_any_matching_v1_signature_is_valid(api, pagerduty) -> None:
    webhook, secret = pagerduty
    body = encode(load("pagerduty_incident_triggered"))
    header = f"v1={'a' * 64},v1={hexmac(secret, body)}, v1={'b' * 64}"
    response = post_pagerduty(api, webhook, secret, body, signature=header)
    assert response.status_code == 201


@pytest.mark.parametrize(
    "header",
    ["", "v1=" + "0" * 64, "v1=" + "0" * 64 + ",v1=" + "1" * 64, "v0={good}", "{good}"],
    ids=["missing", "wrong", "several-wrong", "other-version", "no-version"],
)
def test_a_missing_or_wrong_signature_is_a_401_and_stores_nothing(api, pagerduty, header) -> None:
    webhook, secret = pagerduty
    body = encode(load("pagerduty_incident_triggered"))
    response = post_pagerduty(
        api, webhook, secret, body, signature=header.format(good=hexmac(secret, body))
    )
    assert response.status_code == 401
    assert not Incident.objects.exists()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.http_status) == ("refused", 401)
    assert "X-PagerDuty-Signature" in delivery.reason


def test_resolved_resolves_it_when_the_event_occurred(api, pagerduty) -> None:
    webhook, secret = pagerduty
    post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_resolved"))
    assert response.status_code == 200
    incident = Incident.objects.get()
    assert incident.resolved_at == RESOLVED
    assert incident.resolved_by == "Mia Lopez"


def test_a_resolution_before_its_trigger_creates_the_incident_resolved(api, pagerduty) -> None:
    webhook, secret = pagerduty
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_resolved"))
    assert response.status_code == 201
    incident = Incident.objects.get()
    assert (incident.started_at, incident.resolved_at) == (STARTED, RESOLVED)
    # The trigger arriving late describes it and leaves it resolved.
    late = post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    assert late.status_code == 200
    incident = Incident.objects.get()
    assert incident.resolved_at == RESOLVED
    assert incident.title == "Checkout 5xx rate above 2%"


@pytest.mark.parametrize(
    "fixture",
    ["pagerduty_incident_triggered", "pagerduty_incident_resolved", "pagerduty_incident_reopened"],
)
def test_a_second_delivery_of_the_same_event_changes_nothing(api, pagerduty, fixture) -> None:
    webhook, secret = pagerduty
    post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    if fixture != "pagerduty_incident_triggered":
        post_pagerduty(api, webhook, secret, load("pagerduty_incident_resolved"))
    if fixture == "pagerduty_incident_reopened":
        post_pagerduty(api, webhook, secret, load(fixture))
    before = Incident.objects.values().get()
    again = post_pagerduty(api, webhook, secret, load(fixture))
    assert again.status_code == 200
    assert again.json()["outcome"] == "ignored"
    assert Incident.objects.values().get() == before


def test_reopened_opens_it_again(api, pagerduty) -> None:
    webhook, secret = pagerduty
    post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    post_pagerduty(api, webhook, secret, load("pagerduty_incident_resolved"))
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_reopened"))
    assert response.status_code == 200
    assert Incident.objects.get().resolved_at is None
    # Resolved again later: the incident is resolved at the new time.
    resolved_again = load("pagerduty_incident_resolved")
    resolved_again["event"].update(id="resolved-2", occurred_at="2026-01-14T13:00:00Z")
    post_pagerduty(api, webhook, secret, resolved_again)
    assert Incident.objects.get().resolved_at == dt.datetime(2026, 1, 14, 13, tzinfo=dt.UTC)


def test_a_reopening_older_than_the_last_resolution_is_ignored(api, pagerduty) -> None:
    webhook, secret = pagerduty
    post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    resolved_late = load("pagerduty_incident_resolved")
    resolved_late["event"]["occurred_at"] = "2026-01-14T13:00:00Z"
    post_pagerduty(api, webhook, secret, resolved_late)
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_reopened"))
    assert response.json()["outcome"] == "ignored"
    assert Incident.objects.get().resolved_at is not None


def test_a_reopening_of_an_unknown_incident_records_it_open(api, pagerduty) -> None:
    webhook, secret = pagerduty
    assert (
        post_pagerduty(api, webhook, secret, load("pagerduty_incident_reopened")).status_code == 201
    )
    assert Incident.objects.get().resolved_at is None


def test_other_event_types_are_acknowledged_and_ignored(api, pagerduty) -> None:
    webhook, secret = pagerduty
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_acknowledged"))
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert not Incident.objects.exists()


def test_a_resolution_before_the_start_is_refused_with_the_reason(api, pagerduty) -> None:
    webhook, secret = pagerduty
    post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    early = load("pagerduty_incident_resolved")
    early["event"]["occurred_at"] = "2026-01-14T10:00:00Z"
    response = post_pagerduty(api, webhook, secret, early)
    assert response.status_code == 422
    assert "resolved before it started" in response.json()["detail"]
    assert Incident.objects.get().resolved_at is None
    refused = WebhookDelivery.objects.get(outcome="refused", http_status=422)
    assert (refused.event_id, refused.event_type) == (
        "01DEN5RESOLVEDXXXXXXXXXXXX",
        "incident.resolved",
    )


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p.pop("event"), "`event`"),
        (lambda p: p["event"].pop("id"), "event.id"),
        (lambda p: p["event"].update(occurred_at="yesterday"), "event.occurred_at"),
        (lambda p: p["event"].update(occurred_at="2026-01-14T11:00:00"), "offset"),
        (lambda p: p["event"].update(data=None), "event.data"),
        (lambda p: p["event"]["data"].pop("id"), "event.data.id"),
    ],
)
def test_a_malformed_event_is_a_400_with_the_reason(api, pagerduty, mutate, reason) -> None:
    webhook, secret = pagerduty
    payload = load("pagerduty_incident_triggered")
    mutate(payload)
    response = post_pagerduty(api, webhook, secret, payload)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert not Incident.objects.exists()


def test_a_body_over_1_mb_is_a_413(api, pagerduty) -> None:
    webhook, secret = pagerduty
    body = b'{"padding": "' + b"x" * (1024 * 1024) + b'"}'
    assert post_pagerduty(api, webhook, secret, body).status_code == 413


def test_a_refusal_without_a_field_is_reported_in_words(api, pagerduty, monkeypatch) -> None:
    from django.core.exceptions import ValidationError

    import apps.webhooks.services as services

    def refuse(**kwargs):
        raise ValidationError("This team no longer takes incidents.")

    monkeypatch.setattr(services, "incident_ingest", refuse)
    webhook, secret = pagerduty
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "execdash cannot store this: This team no longer takes incidents."
    )
