"""Re-posts racing each other still make one row, and every caller gets a success."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection
from django.test import Client
from django.utils import timezone

from apps.api.services import api_token_create
from apps.incidents.models import Incident
from apps.releases.models import Release
from tests.factories import TeamFactory


@pytest.mark.django_db
def test_a_lost_insert_race_is_retried_as_an_update(team_api, team, monkeypatch) -> None:
    import apps.api.routes.incidents as route

    real = route.incident_upsert
    calls = []

    def racing(**kwargs):
        calls.append(kwargs["external_id"])
        if len(calls) == 1:
            # Another request inserted the same external_id between our check and insert.
            real(**kwargs)
            raise IntegrityError("duplicate key value violates unique constraint")
        return real(**kwargs)

    monkeypatch.setattr(route, "incident_upsert", racing)
    started = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    response = team_api.post(
        "/incidents", {"title": "Down", "started_at": started, "external_id": "PD-1"}
    )
    assert response.status_code == 200, response.content
    assert calls == ["PD-1", "PD-1"]
    assert Incident.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/incidents", "/releases"])
def test_concurrent_reposts_make_one_row(path) -> None:
    team = TeamFactory(slug="payments")
    _, secret = api_token_create(name="ci", team=team)
    moment = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    body = (
        {"title": "Down", "started_at": moment, "external_id": "same"}
        if path == "/incidents"
        else {"service": "api", "version": "1", "deployed_at": moment, "external_id": "same"}
    )
    threads = 6
    barrier = threading.Barrier(threads)
    statuses: list[int] = []

    def post() -> None:
        try:
            barrier.wait()
            response = Client().post(
                f"/api/v1{path}",
                body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {secret}"},
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    workers = [threading.Thread(target=post) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(statuses) == [200] * (threads - 1) + [201]
    model = Incident if path == "/incidents" else Release
    assert model.objects.filter(external_id="same").count() == 1
