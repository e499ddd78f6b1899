"""The Celery app: configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "execdash.settings")

app = Celery("execdash")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Repairs what a broker outage or a crashed worker left behind.
    "sweep-dirty-buckets": {
        "task": "apps.metrics.tasks.process_dirty_buckets",
        "schedule": 60.0,
    },
    # Re-checks recent weeks from scratch every night.
    "nightly-recheck": {
        "task": "apps.metrics.tasks.recheck_recent_weeks",
        "schedule": crontab(hour=3, minute=0),
    },
    # Focus revisit and sign-off reminders, each sent at most once a day (apps.focus.reminders).
    "focus-reminders": {
        "task": "apps.focus.tasks.send_focus_reminders",
        "schedule": crontab(hour=7, minute=0),
    },
}
