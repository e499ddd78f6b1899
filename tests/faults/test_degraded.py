"""The pieces that keep execdash answering when a service is down, one by one, in-process
(the SQLite pass runs these; tests/faults/test_*_down.py and friends drive real processes)."""

from __future__ import annotations

import json
import time
from unittest import mock

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.db import OperationalError
from django.test import Client
from django.test.utils import override_settings

from apps.core.cache import ExecdashRedisCache
from apps.metrics import services
from apps.metrics.tasks import process_dirty_buckets
from execdash.celery import (
    BEAT_HEARTBEAT_KEY,
    HEARTBEAT_KEY,
    HeartbeatScheduler,
    WorkerHeartbeat,
    app,
)
from tests.factories import MembershipFactory, TeamFactory
from tests.faults.stack import RedisServer, free_port

CLOSED = "redis://127.0.0.1:{port}/0"


def closed_cache(**options: object) -> ExecdashRedisCache:
    return ExecdashRedisCache(CLOSED.format(port=free_port()), {"OPTIONS": options})


def test_a_dead_redis_is_one_fast_failure_then_bypassed() -> None:
    cache = closed_cache()
    started = time.monotonic()
    refused = redis.ConnectionError("Error 111 connecting. Connection refused.")
    with mock.patch.object(redis.connection.Connection, "connect", side_effect=refused) as connect:
        assert cache.get("k", "default") == "default"
        for _ in range(200):
            assert cache.get("k") is None
            assert cache.set("k", 1) is None
            assert cache.add("k", 1) is True  # "first": a caller that schedules, schedules
            assert cache.get_many(["a", "b"]) == {}
            assert cache.incr("counter") == 1  # a rate limit starts a new count
            assert cache.delete("k") is False
    assert time.monotonic() - started < 1.0
    assert connect.call_count == 1  # the breaker stopped every call after the first
    assert cache.breaker.is_open


def test_the_breaker_tries_again_after_its_cool_down() -> None:
    cache = closed_cache(breaker_cooldown=0.05)
    assert cache.get("k", 0) == 0
    assert cache.breaker.is_open
    time.sleep(0.1)
    assert not cache.breaker.is_open
    assert cache.get("k", 0) == 0  # tried, failed: open again
    assert cache.breaker.is_open


def test_short_socket_timeouts_and_no_redis_py_retries() -> None:
    cache = closed_cache()
    pool = cache._cache.get_client(write=True).connection_pool
    kwargs = pool.connection_kwargs
    assert kwargs["socket_connect_timeout"] <= 0.5
    assert kwargs["socket_timeout"] <= 1.0
    assert kwargs.get("retry") is None


@pytest.mark.services
def test_a_real_redis_killed_then_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    try:
        cache = ExecdashRedisCache(redis.url(), {"OPTIONS": {"breaker_cooldown": 0.2}})
        cache.set("k", "v")
        assert cache.get("k") == "v"
        assert cache.ping()
        redis.kill()
        started = time.monotonic()
        assert [cache.get("k", "miss") for _ in range(50)] == ["miss"] * 50
        assert time.monotonic() - started < 1.0
        assert not cache.ping()
        redis.start()
        time.sleep(0.3)
        cache.set("k", "again")
        assert cache.get("k") == "again"
        assert not cache.breaker.is_open
    finally:
        redis.kill()


# --- publishing ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_scheduling_never_raises_and_skips_a_dead_broker_for_a_while(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with (
        mock.patch.object(
            process_dirty_buckets, "apply_async", side_effect=OperationalError("refused")
        ) as send,
        mock.patch.object(services, "cache", closed_cache()),
    ):
        services.recompute_schedule()  # does not raise
        services.recompute_schedule()
        services.recompute_schedule()
    assert send.call_count == 1


def test_celery_publishing_is_bounded_and_tasks_survive_a_lost_worker() -> None:
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.broker_connection_timeout <= 1.0
    assert conf.task_publish_retry_policy["max_retries"] <= 1
    assert conf.broker_transport_options["socket_connect_timeout"] <= 1.0
    # A message is delivered again only after the longest task could have ended.
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    schedule = conf.beat_schedule
    assert schedule["sweep-dirty-buckets"]["schedule"] == settings.EXECDASH_SWEEP_SECONDS
    # The heartbeats come from the worker and from beat themselves, not from a beat task.
    assert not any(entry["task"] == "execdash.heartbeat" for entry in schedule.values())
    assert conf.beat_scheduler == "execdash.celery:HeartbeatScheduler"
    assert WorkerHeartbeat in app.steps["consumer"]


# --- health ------------------------------------------------------------------------------------


def test_live_does_no_io(client: Client) -> None:
    # No database access is allowed here (no django_db mark): any query would raise.
    with mock.patch.object(ExecdashRedisCache, "ping", side_effect=AssertionError("Redis")):
        response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
@override_settings(
    REDIS_URL="",
    CELERY_TASK_ALWAYS_EAGER=True,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
)
def test_ready_without_redis_needs_only_the_database(client: Client) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200, response.content
    body = response.json()
    checks = body["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["redis"] == {"status": "not configured"}
    assert checks["worker"]["status"] == "not applicable"
    assert checks["beat"]["status"] == "not applicable"
    assert body["summary"] == {
        "database": "ok",
        "redis": "not configured",
        "worker": "not applicable: in-process: tasks run in the web process",
        "beat": "not applicable: in-process: no beat (run send_focus_reminders from cron)",
    }


@pytest.mark.django_db
def test_ready_reports_a_dead_redis_and_a_missing_worker(client: Client) -> None:
    location = CLOSED.format(port=free_port())
    with override_settings(
        REDIS_URL=location,
        CELERY_TASK_ALWAYS_EAGER=False,
        CACHES={"default": {"BACKEND": "apps.core.cache.ExecdashRedisCache", "LOCATION": location}},
    ):
        started = time.monotonic()
        response = client.get("/health/ready")
        assert time.monotonic() - started < 2.0
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["worker"] == {"status": "down", "detail": "no worker heartbeat"}
    assert body["summary"]["redis"] == "down: Redis does not answer"
    assert body["summary"]["worker"] == "down: no worker heartbeat"


@pytest.mark.django_db
@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_ready_wants_a_heartbeat_younger_than_two_minutes(client: Client) -> None:
    cache = caches["default"]
    cache.set(HEARTBEAT_KEY, time.time() - 10)
    cache.set(BEAT_HEARTBEAT_KEY, time.time() - 10)
    fresh = client.get("/health/ready")
    assert fresh.status_code == 200
    assert fresh.json()["checks"]["worker"]["status"] == "ok"
    assert fresh.json()["checks"]["beat"]["status"] == "ok"
    cache.set(HEARTBEAT_KEY, time.time() - 180)
    stale = client.get("/health/ready")
    assert stale.status_code == 503
    assert "180 s ago" in stale.json()["checks"]["worker"]["detail"]
    assert stale.json()["summary"]["worker"].startswith("down: last worker heartbeat 18")


@pytest.mark.django_db
@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_beat_down_is_reported_by_name_and_the_worker_is_still_up(client: Client) -> None:
    # The worker writes its own heartbeat: without beat it is up, and ready holds.
    cache = caches["default"]
    cache.set(HEARTBEAT_KEY, time.time() - 5)
    cache.delete(BEAT_HEARTBEAT_KEY)
    response = client.get("/health/ready")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["worker"]["status"] == "ok"
    assert body["checks"]["beat"] == {"status": "down", "detail": "no beat heartbeat"}
    assert body["summary"]["beat"] == "down: no beat heartbeat"
    cache.set(BEAT_HEARTBEAT_KEY, time.time() - 600)
    assert client.get("/health/ready").json()["summary"]["beat"] == (
        "down: last beat heartbeat 600 s ago"
    )


@pytest.mark.django_db
@override_settings(CELERY_TASK_ALWAYS_EAGER=False, EXECDASH_HEARTBEAT_SECONDS=5)
def test_a_heartbeat_is_down_after_four_missed_intervals(client: Client) -> None:
    caches["default"].set(HEARTBEAT_KEY, time.time() - 25)
    assert client.get("/health/ready").status_code == 503


def test_the_heartbeat_task_writes_the_time() -> None:
    from execdash.celery import heartbeat

    caches["default"].delete(HEARTBEAT_KEY)
    heartbeat.run()
    assert abs(caches["default"].get(HEARTBEAT_KEY) - time.time()) < 5


def test_the_worker_step_writes_the_heartbeat_on_the_workers_timer() -> None:
    from types import SimpleNamespace

    from kombu.asynchronous.timer import Timer

    cache = caches["default"]
    cache.delete(HEARTBEAT_KEY)
    consumer = SimpleNamespace(timer=Timer())
    step = WorkerHeartbeat(consumer)
    step.start(consumer)
    try:
        assert abs(cache.get(HEARTBEAT_KEY) - time.time()) < 5  # at once
        ((_eta, _priority, entry),) = consumer.timer.queue
        assert entry.fun.__name__ == "heartbeat_write"  # rescheduled every interval
        cache.delete(HEARTBEAT_KEY)
        consumer.timer.apply_entry(entry)  # the timer fires: written again, no beat involved
        assert abs(cache.get(HEARTBEAT_KEY) - time.time()) < 5
    finally:
        step.stop(consumer)
    assert step.tref is None


def test_a_heartbeat_the_cache_refuses_does_not_raise() -> None:
    from execdash import celery

    with mock.patch("django.core.cache.cache.set", side_effect=RuntimeError("gone")):
        celery.heartbeat_write()  # logged, not raised


def test_beats_scheduler_writes_beats_heartbeat(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cache = caches["default"]
    cache.delete(BEAT_HEARTBEAT_KEY)
    scheduler = HeartbeatScheduler(app=app, schedule_filename=str(tmp_path / "schedule"))
    try:
        with mock.patch.object(scheduler, "apply_entry"):  # nothing is sent
            interval = scheduler.tick()
        assert abs(cache.get(BEAT_HEARTBEAT_KEY) - time.time()) < 5
        assert interval <= settings.EXECDASH_HEARTBEAT_SECONDS
    finally:
        scheduler.close()


@pytest.mark.django_db
def test_ready_when_the_database_is_down(client: Client) -> None:
    with mock.patch("apps.core.views.connection.cursor", side_effect=OperationalError("gone")):
        response = client.get("/health/ready")
        legacy = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "status": "down",
        "detail": "OperationalError: gone",
    }
    assert legacy.status_code == 503


# --- the database down: a 503, not a 500 ------------------------------------------------------


@pytest.fixture
def down_client(db) -> tuple[Client, str]:  # type: ignore[no-untyped-def]
    membership = MembershipFactory(team=TeamFactory(slug="down"))
    client = Client(raise_request_exception=False)
    client.force_login(membership.user)
    return client, membership.team.slug


def test_a_page_answers_503_when_the_database_is_unreachable(down_client) -> None:  # type: ignore[no-untyped-def]
    client, slug = down_client
    with mock.patch(
        "django.contrib.sessions.backends.db.SessionStore.load",
        side_effect=OperationalError("connection refused"),
    ):
        response = client.get(f"/teams/{slug}/")
    html = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "briefly unavailable" in html
    assert "Traceback" not in html


@pytest.mark.django_db
def test_the_api_answers_json_503_when_the_database_is_unreachable() -> None:
    client = Client(raise_request_exception=False)
    with mock.patch(
        "apps.api.auth.TokenAuth.authenticate", side_effect=OperationalError("connection refused")
    ):
        response = client.get("/api/v1/incidents", headers={"Authorization": "Bearer x"})
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response["Retry-After"] == "5"
    assert "temporarily unavailable" in json.loads(response.content)["detail"]


@pytest.mark.django_db
def test_other_api_errors_stay_json_500s() -> None:
    client = Client(raise_request_exception=False)
    with mock.patch("apps.api.auth.TokenAuth.authenticate", side_effect=RuntimeError("bug")):
        response = client.get("/api/v1/incidents", headers={"Authorization": "Bearer x"})
    assert response.status_code == 500
    assert json.loads(response.content) == {"detail": "Internal server error.", "errors": {}}


@pytest.mark.services
def test_a_worker_holding_a_countdown_task_survives_redis_dying(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """kombu 5.7 killed the worker here (see execdash/celery.py): every write schedules a
    recompute with a countdown, so a worker usually holds one when Redis dies."""
    from celery import Celery

    from tests.faults.stack import app_env, kill, settle, tail, worker

    redis = RedisServer(tmp_path / "redis")
    redis.start()
    log = tmp_path / "worker.log"
    process = worker(app_env(redis.url()), log, pool="prefork", concurrency=1)
    try:
        assert settle(lambda: "ready." in tail(log), timeout=60), tail(log)
        Celery(broker=redis.url()).send_task("execdash.heartbeat", countdown=60)
        time.sleep(2)
        redis.kill()
        time.sleep(5)
        assert process.poll() is None, tail(log)
        redis.start()
        reconnected = settle(
            lambda: "Connected to" in tail(log, 50000).split("Connection to broker lost")[-1],
            timeout=30,
        )
        assert reconnected, tail(log)
        assert process.poll() is None
    finally:
        kill(process)
        redis.kill()
