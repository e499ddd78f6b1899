"""The Celery app: configured from Django settings (CELERY_* names).

Beat sends three frequent periodic tasks besides the nightly ones: the sweep, which
processes the dirty buckets a lost message or a killed worker left behind
(EXECDASH_SWEEP_SECONDS, every minute by default), the heartbeat, which a worker answers by
writing the time into the cache for /health/ready, and the check for CSV imports whose worker
stopped responding (every minute). They expire when not run within their interval, so a
worker that was down for hours does not find hours of them queued.

One patch of kombu (5.7), below: when Redis goes away while a worker holds unacknowledged
messages (a task running, or one waiting for its countdown, which every write schedules),
closing the lost connection tries to put them back in Redis through a transport whose client
is already gone, raises AttributeError, and kills the worker ("Unrecoverable error"), so it
would not reconnect when Redis is back. The patch lets that one step fail quietly: the
messages stay in Redis's unacked set and come back after the visibility timeout, and beat's
sweep redoes their work long before. (tests/faults/test_degraded.py reproduces it.)
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_ready
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "execdash.settings")

# The cache key the worker's heartbeat is written to (read by apps.core.views.health_ready).
HEARTBEAT_KEY = "execdash:worker-heartbeat"
HEARTBEAT_SECONDS = 30.0

log = logging.getLogger(__name__)

_restore_unacked_once = kombu_redis.QoS.restore_unacked_once


def _restore_unacked_once_or_leave_them(self: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return _restore_unacked_once(self, *args, **kwargs)
    except AttributeError as exc:
        log.warning("could not put unacknowledged messages back (%s); they return later", exc)
        return None


kombu_redis.QoS.restore_unacked_once = _restore_unacked_once_or_leave_them  # type: ignore[method-assign]

app = Celery("execdash")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _sweep_seconds() -> float:
    from django.conf import settings

    return float(getattr(settings, "EXECDASH_SWEEP_SECONDS", 60.0))


SWEEP_SECONDS = _sweep_seconds()
_HEARTBEAT_EVERY = min(HEARTBEAT_SECONDS, SWEEP_SECONDS)
app.conf.beat_schedule = {
    # Repairs what a broker outage or a crashed worker left behind.
    "sweep-dirty-buckets": {
        "task": "apps.metrics.tasks.process_dirty_buckets",
        "schedule": SWEEP_SECONDS,
        "options": {"expires": SWEEP_SECONDS},
    },
    # Tells /health/ready that a worker takes tasks from the broker.
    "worker-heartbeat": {
        "task": "execdash.heartbeat",
        "schedule": _HEARTBEAT_EVERY,
        "options": {"expires": _HEARTBEAT_EVERY},
    },
    # CSV imports whose worker died (no heartbeat) end as failed, with a re-run offered.
    "fail-stale-imports": {
        "task": "apps.imports.tasks.fail_stale_imports",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Re-checks recent weeks from scratch every night.
    "nightly-recheck": {
        "task": "apps.metrics.tasks.recheck_recent_weeks",
        "schedule": crontab(hour=3, minute=0),
    },
    # Webhook deliveries are kept 30 days.
    "prune-webhook-deliveries": {
        "task": "apps.webhooks.tasks.prune_webhook_deliveries",
        "schedule": crontab(hour=3, minute=30),
    },
    # Focus revisit and sign-off reminders, each sent at most once a day (apps.focus.reminders).
    "focus-reminders": {
        "task": "apps.focus.tasks.send_focus_reminders",
        "schedule": crontab(hour=7, minute=0),
    },
}


def heartbeat_write() -> None:
    from django.core.cache import cache

    cache.set(HEARTBEAT_KEY, time.time(), timeout=24 * 3600)


@app.task(name="execdash.heartbeat", ignore_result=True)
def heartbeat() -> None:
    heartbeat_write()


@worker_ready.connect
def _first_heartbeat(**kwargs: Any) -> None:
    """A worker that just started is ready without waiting for beat's first heartbeat."""
    heartbeat_write()
