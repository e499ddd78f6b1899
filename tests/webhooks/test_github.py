"""GitHub `deployment_status` deliveries: signature, mapping, states, environments,
redeliveries and statuses arriving out of order."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from apps.metrics.models import DirtyBucket
from apps.releases.models import Release, Source
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import webhook_set_active
from tests.webhooks.conftest import deployment, form_encoded, hexmac, load, post_github

pytestmark = pytest.mark.django_db


def test_a_successful_deployment_becomes_a_succeeded_release(api, github, team) -> None:
    webhook, secret = github
    response = post_github(api, webhook, secret, load("github_deployment_status"), delivery="d-1")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["outcome"] == "accepted"
    release = Release.objects.get()
    assert answer["release"] == {"id": release.pk, "created": True}
    assert release.team == team
    assert release.service == "checkout"
    assert release.version == "main@abc1234"
    assert release.status == Release.Status.SUCCEEDED
    assert release.deployed_at == dt.datetime(2026, 1, 14, 10, 5, tzinfo=dt.UTC)
    assert release.deployed_by == "mia"
    assert release.source == Source.WEBHOOK
    # The deployment id, namespaced by the webhook that sent it.
    assert release.external_id == f"webhook-{webhook.pk}:880011"
    assert DirtyBucket.objects.filter(team=team).exists()
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == "accepted"
    assert delivery.http_status == 201
    assert delivery.event_id == "d-1"
    assert delivery.event_type == "deployment_status"
    assert (delivery.record_kind, delivery.record_id) == ("release", release.pk)


@pytest.mark.parametrize("state", ["failure", "error"])
def test_failure_and_error_become_failed_releases(api, github, state) -> None:
    webhook, secret = github
    response = post_github(api, webhook, secret, deployment(state=state))
    assert response.status_code == 201
    assert Release.objects.get().status == Release.Status.FAILED


def test_the_deployment_payload_names_the_service_and_its_changes(api, github) -> None:
    webhook, secret = github
    payload = {
        "service": "checkout-api",
        "first_commit_at": "2026-01-13T08:00:00+01:00",
        "change_count": 7,
        "something_else": [1, 2],
    }
    post_github(api, webhook, secret, deployment(payload=payload))
    release = Release.objects.get()
    assert release.service == "checkout-api"
    assert release.first_commit_at == dt.datetime(2026, 1, 13, 7, 0, tzinfo=dt.UTC)
    assert release.change_count == 7


def test_a_first_commit_after_the_deployment_is_stored_and_flagged(api, github) -> None:
    webhook, secret = github
    payload = {"first_commit_at": "2026-01-14T10:30:00Z", "change_count": 2}
    response = post_github(api, webhook, secret, deployment(payload=payload))
    assert response.status_code == 201, response.content
    answer = response.json()
    assert [w["field"] for w in answer["warnings"]] == ["first_commit_at"]
    release = Release.objects.get()
    assert release.first_commit_at == dt.datetime(2026, 1, 14, 10, 30, tzinfo=dt.UTC)
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == "accepted"
    assert "Flagged:" in delivery.reason


def test_a_whole_release_has_no_warnings(api, github) -> None:
    webhook, secret = github
    assert post_github(api, webhook, secret, deployment()).json()["warnings"] == []


def test_a_payload_given_as_a_json_string_is_read(api, github) -> None:
    webhook, secret = github
    post_github(api, webhook, secret, deployment(payload=json.dumps({"service": "ledger"})))
    assert Release.objects.get().service == "ledger"


def test_a_bad_change_count_is_a_400_naming_it(api, github) -> None:
    webhook, secret = github
    response = post_github(api, webhook, secret, deployment(payload={"change_count": "many"}))
    assert response.status_code == 400
    assert "change_count" in response.json()["detail"]
    assert not Release.objects.exists()


@pytest.mark.parametrize("state", ["in_progress", "queued", "pending", "inactive"])
def test_states_that_are_not_final_are_acknowledged_and_ignored(api, github, state) -> None:
    webhook, secret = github
    response = post_github(api, webhook, secret, deployment(state=state))
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert state in response.json()["detail"]
    assert not Release.objects.exists()
    assert WebhookDelivery.objects.get().outcome == "ignored"


def test_other_environments_are_ignored(api, github) -> None:
    webhook, secret = github
    response = post_github(api, webhook, secret, deployment(environment="staging"))
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert "staging" in response.json()["detail"]
    assert not Release.objects.exists()


def test_the_configured_environment_counts(api, team) -> None:
    from apps.webhooks.services import webhook_create

    webhook, secret = webhook_create(team=team, kind="github", environment="prod-eu")
    post_github(api, webhook, secret, deployment(environment="production"))
    assert not Release.objects.exists()
    post_github(api, webhook, secret, deployment(environment="prod-eu"))
    assert Release.objects.count() == 1


def test_ping_is_answered(api, github) -> None:
    webhook, secret = github
    response = post_github(api, webhook, secret, load("github_ping"), event="ping", delivery="p")
    assert response.status_code == 200
    assert "Ping" in response.json()["detail"]
    assert WebhookDelivery.objects.get().event_type == "ping"


def test_other_events_are_acknowledged_and_ignored(api, github) -> None:
    webhook, secret = github
    response = post_github(api, webhook, secret, {"ref": "refs/heads/main"}, event="push")
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert not Release.objects.exists()


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, "sha1=abc", "garbage"],
    ids=["missing", "wrong", "other-algorithm", "garbage"],
)
def test_a_missing_or_wrong_signature_is_a_401_and_stores_nothing(api, github, signature) -> None:
    webhook, secret = github
    response = post_github(api, webhook, secret, deployment(), signature=signature)
    assert response.status_code == 401
    assert response.json()["outcome"] == "refused"
    assert not Release.objects.exists()
    assert not DirtyBucket.objects.exists()
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == "refused"
    assert delivery.http_status == 401
    assert "X-Hub-Signature-256" in delivery.reason
    # Neither the secret nor the signature is ever recorded.
    row = " ".join(str(v) for v in WebhookDelivery.objects.values().get().values())
    assert secret not in row
    if signature:
        assert signature not in row


def test_the_signature_covers_the_raw_body(api, github) -> None:
    webhook, secret = github
    body = json.dumps(deployment()).encode()
    reformatted = json.dumps(deployment(), indent=2).encode()
    response = post_github(
        api, webhook, secret, reformatted, signature=f"sha256={hexmac(secret, body)}"
    )
    assert response.status_code == 401


def test_another_webhooks_secret_does_not_sign(api, github, team) -> None:
    from apps.webhooks.services import webhook_create

    webhook, _ = github
    _, other_secret = webhook_create(team=team, kind="github")
    assert post_github(api, webhook, other_secret, deployment()).status_code == 401


def test_a_redelivery_changes_nothing(api, github) -> None:
    webhook, secret = github
    first = post_github(api, webhook, secret, deployment(), delivery="guid-1")
    release = Release.objects.get()
    again = post_github(api, webhook, secret, deployment(), delivery="guid-1")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["outcome"] == "ignored"
    assert "redelivery" in again.json()["detail"]
    assert Release.objects.get().updated_at == release.updated_at
    assert list(WebhookDelivery.objects.values_list("outcome", flat=True)) == [
        "ignored",
        "accepted",
    ]


def test_the_same_status_without_a_delivery_header_is_one_release(api, github) -> None:
    webhook, secret = github
    post_github(api, webhook, secret, deployment())
    post_github(api, webhook, secret, deployment())
    assert Release.objects.count() == 1


def test_a_later_status_of_the_same_deployment_updates_its_release(api, github) -> None:
    webhook, secret = github
    post_github(api, webhook, secret, deployment(state="failure", status_id=1))
    response = post_github(
        api,
        webhook,
        secret,
        deployment(state="success", status_id=2, created_at="2026-01-14T10:20:00Z"),
    )
    assert response.status_code == 200
    release = Release.objects.get()
    assert release.status == Release.Status.SUCCEEDED
    assert release.deployed_at == dt.datetime(2026, 1, 14, 10, 20, tzinfo=dt.UTC)


def test_an_older_status_arriving_late_does_not_override_the_later_one(api, github) -> None:
    webhook, secret = github
    post_github(
        api,
        webhook,
        secret,
        deployment(state="success", status_id=2, created_at="2026-01-14T10:20:00Z"),
    )
    late = post_github(api, webhook, secret, deployment(state="failure", status_id=1))
    assert late.status_code == 200
    assert late.json()["outcome"] == "ignored"
    release = Release.objects.get()
    assert release.status == Release.Status.SUCCEEDED
    assert release.deployed_at == dt.datetime(2026, 1, 14, 10, 20, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
        (json.dumps({"deployment": {}}).encode(), "deployment_status"),
    ],
)
def test_a_malformed_body_is_a_400_with_the_reason(api, github, body, reason) -> None:
    webhook, secret = github
    response = post_github(api, webhook, secret, body)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert not Release.objects.exists()
    assert WebhookDelivery.objects.get().http_status == 400


@pytest.mark.parametrize(
    ("event", "fixture"),
    [("deployment_status", "github_deployment_status"), ("ping", "github_ping")],
)
def test_a_form_encoded_delivery_says_to_choose_the_json_content_type(
    api, github, event, fixture
) -> None:
    # GitHub's default content type: `payload=<urlencoded JSON>`, signed like any body.
    webhook, secret = github
    body = form_encoded(load(fixture))
    assert body.startswith(b"payload=%7B%22")
    response = post_github(
        api,
        webhook,
        secret,
        body,
        event=event,
        delivery="d-form",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert "application/json" in detail
    assert "Content type" in detail
    assert "not valid JSON" not in detail
    assert not Release.objects.exists()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.http_status) == ("refused", 400)
    assert (delivery.event_id, delivery.event_type) == ("d-form", event)
    assert "application/json" in delivery.reason


def test_a_form_body_is_recognised_whatever_the_content_type_header(api, github) -> None:
    webhook, secret = github
    body = form_encoded(load("github_deployment_status"))
    response = post_github(api, webhook, secret, body, content_type="text/plain")
    assert response.status_code == 400
    assert "application/json" in response.json()["detail"]


def test_a_form_encoded_delivery_with_a_wrong_signature_is_still_a_401(api, github) -> None:
    webhook, _secret = github
    body = form_encoded(load("github_deployment_status"))
    response = post_github(
        api,
        webhook,
        "another secret",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 401


def test_a_missing_timestamp_offset_is_a_400(api, github) -> None:
    webhook, secret = github
    response = post_github(api, webhook, secret, deployment(created_at="2026-01-14T10:05:00"))
    assert response.status_code == 400
    assert "offset" in response.json()["detail"]


def test_a_body_over_1_mb_is_a_413(api, github) -> None:
    webhook, secret = github
    body = b'{"padding": "' + b"x" * (1024 * 1024) + b'"}'
    response = post_github(api, webhook, secret, body)
    assert response.status_code == 413
    assert not Release.objects.exists()
    assert WebhookDelivery.objects.get().http_status == 413


def test_the_content_length_is_checked_before_the_body_is_read(github, rf) -> None:
    from apps.webhooks.views import receive

    webhook, _ = github
    request = rf.post(webhook.receiver_path, b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = str(50 * 1024 * 1024)
    request._stream = None  # reading the body would fail: it must not be read
    response = receive(request, public_id=webhook.public_id)
    assert response.status_code == 413


def test_unknown_and_deactivated_webhooks_are_404(api, github) -> None:
    webhook, secret = github
    assert (
        api.post("/webhooks/no-such-hook/", b"{}", content_type="application/json").status_code
        == 404
    )
    webhook_set_active(webhook=webhook, active=False)
    assert post_github(api, webhook, secret, deployment()).status_code == 404
    assert not Release.objects.exists()


def test_the_receiver_takes_only_post(api, github) -> None:
    webhook, _ = github
    assert api.get(webhook.receiver_path).status_code == 405


def test_the_secret_is_never_logged(api, github, caplog) -> None:
    webhook, secret = github
    with caplog.at_level("DEBUG"):
        post_github(api, webhook, secret, deployment())
        post_github(api, webhook, secret, deployment(), signature="sha256=" + "1" * 64)
    assert secret not in caplog.text


@pytest.mark.django_db
def test_deliveries_past_the_webhook_rate_limit_get_a_429(api, github, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RATE_LIMIT_WEBHOOKS = "2/60"
    webhook, secret = github
    for n in range(2):
        answer = post_github(api, webhook, secret, deployment(deployment_id=7000 + n))
        assert answer.status_code in (200, 201)
    refused = post_github(api, webhook, secret, deployment(deployment_id=7002))
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert not Release.objects.filter(external_id=webhook.record_key("7002")).exists()
