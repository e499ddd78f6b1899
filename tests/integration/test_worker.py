"""The write → outbox → broker → worker → rollup path, end to end, with a real worker.

PostgreSQL, Redis and a `celery worker` subprocess reading the same test database. The data
must be committed for the worker to see it, hence transactional tests (pytest-django runs
them after the others; they need no rows from data migrations).
"""

from __future__ import annotations

import datetime as dt
import time
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from apps.core.timezones import local_midnight, week_start_of
from apps.incidents.models import Incident
from apps.incidents.services import incident_create
from apps.metrics.models import DirtyBucket, RecomputeRun, WeeklyRollup
from tests.factories import MembershipFactory, TeamFactory
from tests.integration.conftest import Worker, wait_until

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
]


def rollup(team_id: int, week: dt.date) -> WeeklyRollup | None:
    return WeeklyRollup.objects.filter(scope=team_id, week_start=week).first()


def test_the_worker_runs_against_the_test_database() -> None:
    assert connection.vendor == "postgresql"
    assert connection.settings_dict["NAME"].startswith("test_")
    # With a broker configured, writes go to the worker, not in-process.
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    assert settings.CELERY_BROKER_URL.startswith("redis://")


def test_an_incident_posted_through_the_form_reaches_the_rollup(client, worker: Worker) -> None:  # type: ignore[no-untyped-def]
    membership = MembershipFactory()
    team = membership.team
    client.force_login(membership.user)
    started = timezone.localtime(timezone.now() - dt.timedelta(hours=2)).replace(
        second=0, microsecond=0
    )
    posted_at = timezone.now()
    response = client.post(
        reverse("incidents:create", kwargs={"slug": team.slug}),
        {
            "title": "Checkout errors after the CDN change",
            "severity": Incident.Severity.SEV2,
            "service": "checkout",
            "started_at": started.strftime("%Y-%m-%dT%H:%M"),
            "detected_at": "",
            "resolved_at": "",
            "cause": Incident.Cause.NOT_DEPLOY,
            "caused_by": "",
            "summary": "",
        },
    )
    assert response.status_code in (302, 303), response.content.decode()[:3000]
    incident = Incident.objects.get(team=team)
    assert response["Location"].endswith(incident.get_absolute_url())
    week = week_start_of(incident.started_at)

    def written() -> WeeklyRollup | None:
        row = rollup(team.id, week)
        return row if row is not None and row.computed_at >= posted_at else None

    row = wait_until(written, timeout=10)
    assert row is not None, f"no rollup within 10 s; worker log:\n{worker.output()}"
    assert row.incidents == 1
    assert row.open_incidents == 1
    assert RecomputeRun.objects.filter(trigger="worker").exists()
    # Every bucket the write marked is cleared (a re-mark during the run clears on the next).
    assert wait_until(lambda: not DirtyBucket.objects.filter(team=team).exists(), timeout=10)


def test_a_burst_of_writes_becomes_a_handful_of_recomputes(worker: Worker, settings) -> None:  # type: ignore[no-untyped-def]
    # The production debounce window (the writer schedules the run, so its setting counts).
    settings.EXECDASH_RECOMPUTE_DELAY_SECONDS = 1.0
    team = TeamFactory()
    # Wednesday of last week: the whole burst falls in one week.
    base = local_midnight(week_start_of(timezone.now()) - dt.timedelta(days=5))
    before = RecomputeRun.objects.count()
    started = time.monotonic()
    for n in range(1000):
        incident_create(
            team=team,
            title=f"Flapping health check {n}",
            started_at=base + dt.timedelta(seconds=n),
            resolved_at=base + dt.timedelta(seconds=n + 30),
        )
    burst_seconds = time.monotonic() - started
    week = week_start_of(base)

    def settled() -> bool:
        row = rollup(team.id, week)
        counted = row is not None and row.incidents == 1000
        return counted and not DirtyBucket.objects.filter(team=team).exists()

    assert wait_until(settled, timeout=30), f"rollup never caught up:\n{worker.output()}"
    runs = RecomputeRun.objects.count() - before
    # At most one run per debounce window the burst lasted (plus the first and the last):
    # about 3 on a quiet machine, more when a loaded one stretches the burst itself.
    limit = max(10, int(burst_seconds / settings.EXECDASH_RECOMPUTE_DELAY_SECONDS) + 3)
    assert 1 <= runs <= limit, f"{runs} recomputes for 1,000 writes in {burst_seconds:.1f} s"
    # Each run recomputed the one bucket the burst touched, not one per write.
    sizes = list(RecomputeRun.objects.values_list("buckets", flat=True)[:runs])
    assert all(size == 1 for size in sizes), f"{sizes}\n{worker.output()}"


def test_a_broker_outage_loses_no_recompute(worker_factory) -> None:  # type: ignore[no-untyped-def]
    from apps.metrics.tasks import process_dirty_buckets

    team = TeamFactory()
    started = timezone.now() - dt.timedelta(hours=3)
    # The broker refuses the message the write schedules after its commit.
    with mock.patch.object(
        process_dirty_buckets, "apply_async", side_effect=BrokerDown("Connection refused")
    ) as send:
        incident = incident_create(team=team, title="During the outage", started_at=started)
    assert send.called
    week = week_start_of(incident.started_at)
    time.sleep(0.5)
    assert DirtyBucket.objects.filter(team=team, week_start=week).exists()
    assert rollup(team.id, week) is None

    # The broker is back and a worker runs; beat's periodic sweep sends the task.
    worker = worker_factory()
    worker.start()
    process_dirty_buckets.delay()
    row = wait_until(lambda: rollup(team.id, week), timeout=10)
    assert row is not None, f"the sweep did not repair it:\n{worker.output()}"
    assert row.incidents == 1
    assert wait_until(lambda: not DirtyBucket.objects.filter(team=team).exists(), timeout=5)
