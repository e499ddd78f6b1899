"""The Celery app: configured from Django settings (CELERY_* names).

Beat sends the sweep, which processes the dirty buckets a lost message or a killed worker
left behind (EXECDASH_SWEEP_SECONDS, every minute by default; it expires when not run within
its interval, so a worker that was down for hours does not find hours of them queued),
and the check for CSV imports whose worker stopped responding (every minute), besides the
nightly re-check and the daily tasks.

/health/ready reads two heartbeats from the cache, each written by the process it vouches
for, every EXECDASH_HEARTBEAT_SECONDS: the worker's, by a step of the worker's consumer on
the worker's own timer (in its main process, while it is connected to the broker and
consuming, whatever its pool's processes are busy with); and beat's, by beat's scheduler on
each tick. So a worker is not reported down because beat is, and beat is reported by name.

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

from celery import Celery, bootsteps
from celery.beat import PersistentScheduler
from celery.schedules import crontab
from celery.signals import worker_ready
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "execdash.settings")

# The cache keys the heartbeats are written to (read by apps.core.views.health_ready).
HEARTBEAT_KEY = "execdash:worker-heartbeat"
BEAT_HEARTBEAT_KEY = "execdash:beat-heartbeat"

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


def _heartbeat_seconds() -> float:
    from django.conf import settings

    return float(getattr(settings, "EXECDASH_HEARTBEAT_SECONDS", 30.0))


SWEEP_SECONDS = _sweep_seconds()
HEARTBEAT_SECONDS = _heartbeat_seconds()
app.conf.beat_schedule = {
    # Repairs what a broker outage or a crashed worker left behind.
    "sweep-dirty-buckets": {
        "task": "apps.metrics.tasks.process_dirty_buckets",
        "schedule": SWEEP_SECONDS,
        "options": {"expires": SWEEP_SECONDS},
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


def heartbeat_write(key: str = HEARTBEAT_KEY) -> None:
    """Write the time under `key`. Never raises: a heartbeat that cannot be written (Redis
    down: the cache's breaker answers at once) must not stop the process writing it."""
    from django.core.cache import cache

    try:
        cache.set(key, time.time(), timeout=24 * 3600)
    except Exception:  # the cache is Redis; whatever it raises, the worker goes on
        log.warning("could not write the heartbeat %s", key, exc_info=True)


@app.task(name="execdash.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """A worker took a task from the broker. No longer scheduled (the worker writes its
    heartbeat itself); kept so that messages sent by an older beat are still understood."""
    heartbeat_write()


class WorkerHeartbeat(bootsteps.StartStopStep):
    """The worker's heartbeat, from the worker itself: every HEARTBEAT_SECONDS on the
    consumer's timer (the worker's main process, not a pool process), from when the consumer
    consumes tasks until it stops; a lost broker connection restarts the consumer, and the
    heartbeat pauses with it."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        self.tref: Any = None
        super().__init__(parent, **kwargs)

    def start(self, parent: Any) -> None:
        heartbeat_write()
        self.tref = parent.timer.call_repeatedly(HEARTBEAT_SECONDS, heartbeat_write, priority=10)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop


app.steps["consumer"].add(WorkerHeartbeat)


@worker_ready.connect
def _first_heartbeat(**kwargs: Any) -> None:
    """A worker that just started is ready at once."""
    heartbeat_write()


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler (the default one, with its schedule file), writing beat's own
    heartbeat at most every HEARTBEAT_SECONDS, and ticking at least that often."""

    _beat_written_at: float | None = None

    def tick(self, *args: Any, **kwargs: Any) -> float:
        now = time.monotonic()
        if self._beat_written_at is None or now - self._beat_written_at >= HEARTBEAT_SECONDS:
            heartbeat_write(BEAT_HEARTBEAT_KEY)
            self._beat_written_at = now
        return min(super().tick(*args, **kwargs), HEARTBEAT_SECONDS)


app.conf.beat_scheduler = "execdash.celery:HeartbeatScheduler"
