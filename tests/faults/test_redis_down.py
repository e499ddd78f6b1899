"""Redis down: the pages, the forms and the API keep answering in ≤ 2 s with the cache
bypassed; the writes are saved and their buckets stay dirty; the pages say the numbers are
being updated; when Redis is back the sweep brings every rollup up to date within two sweep
intervals, and no process is restarted.

Against real processes: a redis-server of the test's own (never the shared one), gunicorn
with production settings, a Celery worker and beat.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from apps.incidents.models import Incident
from apps.metrics.models import DirtyBucket
from apps.releases.models import Release
from tests.faults.conftest import Org
from tests.faults.stack import (
    Client,
    RedisServer,
    Web,
    app_env,
    beat,
    free_port,
    processes,
    rollup_differences,
    settle,
    tail,
    worker,
)
from tests.faults.traffic import Background, Log, person_round

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SWEEP_SECONDS = 10.0
PENDING_MARK = 'class="freshness pending"'


def test_redis_stopped_mid_traffic_then_back(org: Org, tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    env = app_env(redis.url(), EXECDASH_SWEEP_SECONDS=str(SWEEP_SECONDS))
    with processes() as started:
        started.append(redis)
        web = Web(env, tmp_path / "web.log")
        started.append(web)
        started.append(worker(env, tmp_path / "worker.log"))
        started.append(beat(env, tmp_path / "beat.log", tmp_path / "beat-schedule"))
        probe = Client(web.port)
        ready = settle(lambda: probe.get("/health/ready").status == 200, timeout=60)
        assert ready, probe.get("/health/ready").body + tail(tmp_path / "worker.log")

        up = Log()
        person_round(web.port, org, up, "up")
        assert not up.failures(), up.failures()

        # Redis dies while an API client and a reader are busy.
        down = Log()
        background = Background(web.port, org, down, "mid")
        try:
            time.sleep(1.0)
            redis.kill()
            killed_at = time.monotonic()
            person_round(web.port, org, down, "down")
            team_page = Client(web.port)
            team_page.login(org.username, org.password)
            page = team_page.get(f"/teams/{org.team.slug}/")
            down.add("team page after the writes", page)
            time.sleep(max(0.0, 4.0 - (time.monotonic() - killed_at)))
        finally:
            background.stop()
        failures = down.failures()
        assert not failures, "\n".join(failures)
        posts = [a for label, a in down.answers if label.startswith("POST /api")]
        assert len(posts) >= 6
        assert all(a.status in (200, 201) for a in posts)
        # The writes are saved, their buckets dirty, and the page says an update is coming.
        assert DirtyBucket.objects.filter(team=org.team).exists()
        assert PENDING_MARK in page.body, page.body[:3000]
        assert Incident.objects.filter(title="down: form incident").exists()
        ready = probe.get("/health/ready")
        assert ready.status == 503, ready.body
        assert '"redis": {"status": "down"' in ready.body, ready.body
        assert probe.get("/health/live").status == 200

        # Redis comes back, empty (the queued messages are lost with it); nothing restarts.
        redis.start()
        back_at = time.monotonic()
        clean = settle(lambda: not DirtyBucket.objects.exists(), timeout=2 * SWEEP_SECONDS + 5)
        repaired_in = time.monotonic() - back_at
        assert clean, tail(tmp_path / "worker.log") + tail(tmp_path / "beat.log")
        assert repaired_in <= 2 * SWEEP_SECONDS, (
            f"repaired {repaired_in:.1f} s after Redis came back"
        )
        assert rollup_differences() == []
        after = Log()
        person_round(web.port, org, after, "after")
        assert not after.failures(), after.failures()
        print(
            f"\nRedis down: slowest answer {down.slowest():.2f} s over {len(down.answers)} "
            f"requests (logging in: {down.slowest(logins=True):.2f} s); rollups up to date "
            f"{repaired_in:.1f} s after Redis came back "
            f"(sweep every {SWEEP_SECONDS:.0f} s)"
        )


def test_redis_url_pointing_at_a_closed_port(org: Org, tmp_path: Path) -> None:
    env = app_env(f"redis://127.0.0.1:{free_port()}/0")
    before_incidents, before_releases = Incident.objects.count(), Release.objects.count()
    with processes() as started:
        web = Web(env, tmp_path / "web.log")
        started.append(web)
        # A first round warms the gunicorn workers up (imports, templates), and is judged
        # on its answers only; the next two on their times too.
        warm = Log()
        person_round(web.port, org, warm, "warm")
        assert not warm.failures(limit=30), warm.failures(limit=30)
        log = Log()
        person_round(web.port, org, log, "closed")
        failures = log.failures()
        assert not failures, "\n".join(failures) + tail(tmp_path / "web.log")
        page = Client(web.port)
        page.login(org.username, org.password)
        assert PENDING_MARK in page.get(f"/teams/{org.team.slug}/").body
        ready = page.get("/health/ready")
        assert ready.status == 503, ready.body
        assert '"database": {"status": "ok"' in ready.body
        assert '"worker": {"status": "down"' in ready.body
    # Each round posts one incident by form and one of each by the API, all saved once.
    assert Incident.objects.count() == before_incidents + 4
    assert Release.objects.count() == before_releases + 2
    assert DirtyBucket.objects.filter(team=org.team).exists()
    print(
        f"\nREDIS_URL at a closed port: slowest answer {log.slowest():.2f} s "
        f"(logging in: {log.slowest(logins=True):.2f} s)"
    )
