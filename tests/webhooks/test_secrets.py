"""Webhook secrets: encrypted at rest, never exported, never shown by the admin; and the
delivery log's 30-day retention."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from apps.webhooks.crypto import secret_open, secret_seal
from apps.webhooks.models import Webhook, WebhookDelivery
from apps.webhooks.services import deliveries_prune, webhook_create
from apps.webhooks.tasks import prune_webhook_deliveries
from tests.factories import AdminFactory
from tests.webhooks.conftest import deployment, post_github

pytestmark = pytest.mark.django_db


def test_sealing_round_trips_and_never_holds_the_plaintext() -> None:
    sealed = secret_seal("s3cret-value-of-some-length")
    assert "s3cret" not in sealed
    assert secret_open(sealed) == "s3cret-value-of-some-length"
    assert secret_seal("same") != secret_seal("same")  # random IV


def test_the_database_column_holds_no_plaintext(github) -> None:
    webhook, secret = github
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM webhooks_webhook WHERE id = %s", [webhook.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert secret not in row
    assert secret_open(Webhook.objects.get().secret_sealed) == secret


def test_a_separate_secrets_key_is_used_when_set(api, team) -> None:
    with override_settings(EXECDASH_SECRETS_KEY="a-separate-key-for-secrets"):
        webhook, secret = webhook_create(team=team, kind="github")
        assert post_github(api, webhook, secret, deployment()).status_code == 201
    # Without that key the secret cannot be read: deliveries are refused, saying why.
    response = post_github(api, webhook, secret, deployment(status_id=9))
    assert response.status_code == 401
    assert "rotate" in response.json()["detail"]


def test_dumpdata_exports_neither_the_secret_nor_its_ciphertext(github) -> None:
    webhook, secret = github
    out = io.StringIO()
    call_command("dumpdata", "webhooks", stdout=out)
    dumped = out.getvalue()
    assert webhook.public_id in dumped
    assert "secret_sealed" not in dumped
    assert webhook.secret_sealed not in dumped
    assert secret not in dumped


def test_the_admin_never_shows_the_secret(github) -> None:
    webhook, secret = github
    client = Client()
    client.force_login(AdminFactory())
    change = client.get(f"/admin/webhooks/webhook/{webhook.pk}/change/")
    listing = client.get("/admin/webhooks/webhook/")
    assert change.status_code == 200
    assert listing.status_code == 200
    for page in (change, listing):
        html = page.content.decode()
        assert secret not in html
        assert webhook.secret_sealed not in html
    assert client.get("/admin/webhooks/webhook/add/").status_code == 403


def test_the_admin_lists_deliveries_read_only(api, github) -> None:
    webhook, secret = github
    post_github(api, webhook, secret, deployment())
    client = Client()
    client.force_login(AdminFactory())
    delivery = WebhookDelivery.objects.get()
    assert client.get("/admin/webhooks/webhookdelivery/").status_code == 200
    assert client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/").status_code == 200
    assert client.get("/admin/webhooks/webhookdelivery/add/").status_code == 403
    response = client.post(
        f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/", {"reason": "edited"}
    )
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.reason != "edited"


def test_deliveries_older_than_30_days_are_pruned(github) -> None:
    webhook, _ = github
    now = timezone.now()
    for days in (0, 29, 31, 90):
        WebhookDelivery.objects.create(
            webhook=webhook,
            received_at=now - dt.timedelta(days=days),
            outcome="ignored",
            http_status=200,
        )
    assert deliveries_prune(now=now) == 2
    assert WebhookDelivery.objects.count() == 2
    WebhookDelivery.objects.create(
        webhook=webhook, received_at=now - dt.timedelta(days=40), outcome="ignored", http_status=200
    )
    assert prune_webhook_deliveries() == 1


def test_the_prune_runs_on_the_beat_schedule() -> None:
    from execdash.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "apps.webhooks.tasks.prune_webhook_deliveries" in tasks
