"""Periods from before the lifecycle get its shape: a history that starts, trade-off metrics
read from the old text (which stays as the why), typed success signals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("focus", "0002_no_overlap_and_kinds")]
AFTER = [("focus", "0004_lifecycle_backfill")]


def test_backfill_of_existing_periods() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    team = old.get_model("teams", "Team").objects.create(name="Payments", slug="payments")
    user = old.get_model("auth", "User").objects.create(username="dana")
    # A flush by an earlier transactional test may have removed the built-in kinds.
    kind, _ = old.get_model("focus", "FocusKind").objects.get_or_create(
        slug="stability", defaults={"name": "Stability", "builtin": True}
    )
    period_model = old.get_model("focus", "FocusPeriod")
    aligned = period_model.objects.create(
        team=team,
        kind=kind,
        starts_on=dt.date(2026, 1, 5),
        ends_on=dt.date(2026, 2, 1),
        rationale="Outages.",
        tradeoff="throughput",
        success_signals=[
            {"metric": "time_to_restore", "target": "< 90 min"},
            {"metric": "whatever", "target": "better"},
        ],
        status="closed",
        proposed_by=user,
        aligned_by=user,
        aligned_at=timezone.now(),
    )
    proposed = period_model.objects.create(
        team=team, kind=kind, starts_on=dt.date(2026, 3, 2), rationale="Next."
    )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        period_model = new.get_model("focus", "FocusPeriod")
        event_model = new.get_model("focus", "FocusEvent")
        first = period_model.objects.get(pk=aligned.pk)
        assert first.tradeoff == "throughput"
        assert first.tradeoff_metrics == ["deployment_frequency", "lead_time"]
        assert first.success_signals == [
            {"metric": "time_to_restore", "comparator": "<", "target": 1.5},
            {"metric": "whatever", "target": "better"},  # left as it was
        ]
        assert first.proposed_at == first.aligned_at  # signed off "before" the row existed
        kinds = list(
            event_model.objects.filter(period_id=aligned.pk)
            .order_by("at", "id")
            .values_list("kind", flat=True)
        )
        assert kinds == ["proposed", "aligned", "closed"]
        assert list(
            event_model.objects.filter(period_id=proposed.pk).values_list("kind", flat=True)
        ) == ["proposed"]
    finally:
        call_command("migrate", verbosity=0)
