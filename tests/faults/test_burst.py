"""Burst: 20 concurrent clients post 200 incidents and 200 releases through the API to
gunicorn with a real worker: no 5xx, every row stored exactly once, the rollups equal to a
from-scratch recompute afterwards, and the time from the last post to fresh numbers reported.
(`benchmarks/burst.py` is the full-size run: 1,000 + 1,000.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Count, Sum

from apps.incidents.models import Incident
from apps.metrics.models import DirtyBucket, WeeklyRollup
from apps.releases.models import Release
from tests.faults.burst import burst
from tests.faults.conftest import Org
from tests.faults.stack import Web, app_env, processes, rollup_differences, settle, tail, worker
from tests.faults.test_worker_faults import purge_broker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

POSTS = 200
CLIENTS = 20


def test_a_burst_of_posts_is_stored_once_and_counted(org: Org, tmp_path: Path) -> None:
    purge_broker()
    env = app_env(settings.REDIS_URL)
    incidents_before = Incident.objects.filter(team=org.team).count()
    releases_before = Release.objects.filter(team=org.team).count()
    with processes() as started:
        web = Web(env, tmp_path / "web.log", workers=3)
        started.append(web)
        started.append(worker(env, tmp_path / "worker.log", pool="prefork", concurrency=1))
        result = burst(
            web.port, org.token, incidents=POSTS, releases=POSTS, clients=CLIENTS, tag="burst"
        )
        errors = result.server_errors()
        assert not errors, "\n".join(errors[:20]) + tail(tmp_path / "web.log")
        assert set(result.statuses()) <= {200, 201}, result.statuses()

        def fresh() -> bool:
            if DirtyBucket.objects.exists():
                return False
            counted = WeeklyRollup.objects.filter(scope=org.team.id).aggregate(n=Sum("incidents"))
            return counted["n"] == incidents_before + POSTS

        assert settle(fresh, timeout=60), tail(tmp_path / "worker.log")
        fresh_after = time.monotonic() - result.finished
    # Exactly once: one row per external id, and as many as were posted.
    for model, before in ((Incident, incidents_before), (Release, releases_before)):
        rows = model.objects.filter(team=org.team)
        assert rows.count() == before + POSTS
        posted = rows.exclude(external_id=None)
        assert not posted.values("external_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert rollup_differences() == []
    latency = result.latency()
    print(
        f"\nburst: {2 * POSTS} posts from {CLIENTS} clients in {result.seconds:.1f} s "
        f"({2 * POSTS / result.seconds:.0f}/s, p50 {latency['p50'] * 1000:.0f} ms, "
        f"p95 {latency['p95'] * 1000:.0f} ms); numbers fresh {fresh_after:.1f} s "
        "after the last post"
    )
