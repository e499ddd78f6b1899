"""Migration webhooks 0002: the releases and incidents stored under the provider's id alone
move under the key of the webhook that wrote them, so that the next delivery from that
webhook updates the same row instead of adding one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.test import Client

from apps.incidents.models import Incident
from apps.releases.models import Release
from apps.webhooks.crypto import secret_seal
from apps.webhooks.models import Webhook
from tests.webhooks.conftest import deployment, load, post_github, post_pagerduty

pytestmark = pytest.mark.django_db(transaction=True)
MIGRATED = ("webhooks", "0002_record_keys_per_webhook")


def targets(webhooks: tuple[str, str]) -> list[tuple[str, str]]:
    """`webhooks` with the releases and incidents apps at their latest (their rows are what
    the migration moves)."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return [webhooks, *graph.leaf_nodes("releases"), *graph.leaf_nodes("incidents")]


BEFORE = targets(("webhooks", "0001_initial"))
AFTER = targets(MIGRATED)
SECRET = "a-secret-of-at-least-16-characters"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(days: float) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


def test_rows_stored_under_the_old_key_are_found_after_the_migration() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    team_model = old.get_model("teams", "Team")
    webhook_model = old.get_model("webhooks", "Webhook")
    delivery_model = old.get_model("webhooks", "WebhookDelivery")
    release_model = old.get_model("releases", "Release")
    incident_model = old.get_model("incidents", "Incident")

    def webhook(team, kind, created):  # type: ignore[no-untyped-def]
        w = webhook_model.objects.create(
            team=team, kind=kind, secret_sealed=secret_seal(SECRET), environment="production"
        )
        webhook_model.objects.filter(pk=w.pk).update(created_at=created)
        return w

    def release(team, external_id, created):  # type: ignore[no-untyped-def]
        r = release_model.objects.create(
            team=team,
            service="checkout",
            version="main@abc1234",
            deployed_at=at(30),
            source="webhook",
            external_id=external_id,
        )
        release_model.objects.filter(pk=r.pk).update(created_at=created)
        return r

    payments = team_model.objects.create(name="Payments", slug="payments")
    search = team_model.objects.create(name="Search", slug="search")
    lonely = team_model.objects.create(name="Lonely", slug="lonely")
    # Payments: one GitHub webhook, one PagerDuty webhook.
    github = webhook(payments, "github", at(0))
    pagerduty = webhook(payments, "pagerduty", at(0))
    only = release(payments, "880011", at(31))
    paged = incident_model.objects.create(
        team=payments,
        title="Checkout 5xx",
        started_at=dt.datetime(2026, 1, 14, 11, 0, tzinfo=dt.UTC),
        source="webhook",
        external_id="Q1ABCDEF234567",
    )
    by_api = release_model.objects.create(
        team=payments,
        service="checkout",
        version="1",
        deployed_at=at(30),
        source="api",
        external_id="880011",
    )
    # Search: github.com since day 0, an Enterprise Server since day 10.
    dotcom = webhook(search, "github", at(0))
    enterprise = webhook(search, "github", at(10))
    logged = release(search, "2", at(31))  # the delivery log says: the Enterprise Server
    delivery_model.objects.create(
        webhook=enterprise,
        received_at=at(31),
        outcome="accepted",
        http_status=201,
        record_kind="release",
        record_id=logged.pk,
    )
    early = release(search, "3", at(5))  # before the Enterprise Server existed
    # Lonely: its webhook was deleted; nothing can deliver to the row any more.
    orphan = release(lonely, "9", at(31))
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        keys = dict(new.get_model("releases", "Release").objects.values_list("pk", "external_id"))
        assert keys == {
            only.pk: f"webhook-{github.pk}:880011",
            by_api.pk: "880011",  # not a webhook's
            logged.pk: f"webhook-{enterprise.pk}:2",
            early.pk: f"webhook-{dotcom.pk}:3",
            orphan.pk: "9",
        }
        assert (
            new.get_model("incidents", "Incident").objects.get(pk=paged.pk).external_id
            == f"webhook-{pagerduty.pk}:Q1ABCDEF234567"
        )
        call_command("migrate", verbosity=0)

        # The next deliveries from the same webhooks update those rows: no duplicate.
        client = Client()
        github_now = Webhook.objects.get(pk=github.pk)
        later = deployment(deployment_id=880011, state="failure", created_at=at(32).isoformat())
        answer = post_github(client, github_now, SECRET, later)
        assert answer.status_code == 200, answer.content
        assert answer.json()["release"] == {"id": only.pk, "created": False}
        assert Release.objects.get(pk=only.pk).status == Release.Status.FAILED

        enterprise_now = Webhook.objects.get(pk=enterprise.pk)
        redelivered = deployment(deployment_id=2, created_at=at(32).isoformat())
        answer = post_github(client, enterprise_now, SECRET, redelivered)
        assert answer.json()["release"] == {"id": logged.pk, "created": False}

        resolved = load("pagerduty_incident_resolved")
        answer = post_pagerduty(client, Webhook.objects.get(pk=pagerduty.pk), SECRET, resolved)
        assert answer.status_code == 200, answer.content
        assert answer.json()["incident"] == {"id": paged.pk, "created": False}
        assert Incident.objects.count() == 1
        assert Release.objects.filter(team_id=search.pk).count() == 2
    finally:
        call_command("migrate", verbosity=0)


def test_going_back_strips_the_namespace_where_it_stays_unique() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    state = executor.loader.project_state(AFTER).apps
    team = state.get_model("teams", "Team").objects.create(name="Payments", slug="payments")
    release_model = state.get_model("releases", "Release")
    fields = {"team": team, "service": "s", "version": "v", "deployed_at": T0}
    release_model.objects.create(source="webhook", external_id="webhook-1:2", **fields)
    release_model.objects.create(source="webhook", external_id="webhook-2:2", **fields)
    release_model.objects.create(source="webhook", external_id="webhook-1:5", **fields)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        keys = sorted(
            old.get_model("releases", "Release").objects.values_list("external_id", flat=True)
        )
        # Two webhooks' deployment 2 cannot both be "2": the second keeps its namespace.
        assert keys == ["2", "5", "webhook-2:2"]
    finally:
        call_command("migrate", verbosity=0)
