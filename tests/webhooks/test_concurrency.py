"""Deliveries racing each other: the same deployment or incident is stored once, and
every sender gets an answer that is not an error."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test import Client

from apps.incidents.models import Incident
from apps.releases.models import Release
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import webhook_create
from tests.factories import TeamFactory
from tests.webhooks.conftest import deployment, load, post_github, post_pagerduty


@pytest.mark.django_db
def test_a_lost_insert_race_is_applied_again(api, github, monkeypatch) -> None:
    import apps.webhooks.services as services

    webhook, secret = github
    real = services.release_ingest
    calls: list[str] = []

    def racing(**kwargs):
        calls.append(kwargs["external_id"])
        if len(calls) == 1:
            raise IntegrityError("duplicate key value violates unique constraint")
        return real(**kwargs)

    monkeypatch.setattr(services, "release_ingest", racing)
    response = post_github(api, webhook, secret, deployment(), delivery="guid")
    assert response.status_code == 201, response.content
    assert calls == [webhook.record_key("880011")] * 2
    assert Release.objects.count() == 1
    assert WebhookDelivery.objects.get().outcome == "accepted"


class _Deadlock(Exception):
    sqlstate = "40P01"


@pytest.mark.django_db
def test_a_deadlock_victim_is_applied_again(api, pagerduty, monkeypatch) -> None:
    import apps.webhooks.services as services

    webhook, secret = pagerduty
    real = services.incident_ingest
    calls: list[str] = []

    def deadlocked(**kwargs):
        calls.append(kwargs["external_id"])
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from _Deadlock()
        return real(**kwargs)

    monkeypatch.setattr(services, "incident_ingest", deadlocked)
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    assert response.status_code == 201, response.content
    assert len(calls) == 2
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_other_database_errors_are_not_retried(api, pagerduty, monkeypatch) -> None:
    import apps.webhooks.services as services

    webhook, secret = pagerduty
    calls: list[int] = []

    def broken(**kwargs):
        calls.append(1)
        raise OperationalError("disk full")

    monkeypatch.setattr(services, "incident_ingest", broken)
    with pytest.raises(OperationalError):
        post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    assert calls == [1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["github", "pagerduty"])
def test_concurrent_redeliveries_store_one_record(kind) -> None:
    team = TeamFactory(slug="payments")
    webhook, secret = webhook_create(team=team, kind=kind)
    threads = 6
    barrier = threading.Barrier(threads)
    statuses: list[int] = []

    def send() -> None:
        try:
            barrier.wait()
            if kind == "github":
                response = post_github(Client(), webhook, secret, deployment(), delivery="same")
            else:
                payload = load("pagerduty_incident_triggered")
                response = post_pagerduty(Client(), webhook, secret, payload)
            statuses.append(response.status_code)
        finally:
            connection.close()

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(statuses) == threads
    assert all(status in (200, 201) for status in statuses), statuses
    assert statuses.count(201) == 1
    model = Release if kind == "github" else Incident
    assert model.objects.count() == 1
    assert WebhookDelivery.objects.count() == threads
    # Applied once: one accepted delivery, the others acknowledged as already received.
    assert WebhookDelivery.objects.filter(outcome="accepted").count() == 1
