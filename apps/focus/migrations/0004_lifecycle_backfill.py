"""Existing focus periods get the lifecycle's shape:

- a history: `proposed` (when the row was created, by whom proposed it), `aligned` (at the
  recorded sign-off) and `closed` for closed periods, so every period's timeline has a start;
- `proposed_at` from `created_at` (or the sign-off, when that is recorded as earlier);
- trade-off metrics read from the old free-text trade-off ("throughput" during a stability
  focus means deployment frequency and lead time may get worse); the text stays as the why;
- success signals typed as "< 1 h" gain their comparator and a number where they parse;
  the ones that do not parse are left as they were.

The catalogue is copied here on purpose: a migration must not change when the code does.
"""

import re

from django.db import migrations

WORDS = {
    "throughput": ["deployment_frequency", "lead_time"],
    "stability": ["time_to_restore", "change_failure_rate"],
    "knowledge": ["bus_factor"],
    "deploy": ["deployment_frequency"],
    "lead time": ["lead_time"],
    "restore": ["time_to_restore"],
    "recovery": ["time_to_restore"],
    "failure rate": ["change_failure_rate"],
    "bus factor": ["bus_factor"],
}
ORDER = [
    "time_to_restore",
    "failed_deployment_recovery_time",
    "change_failure_rate",
    "deployment_frequency",
    "lead_time",
    "deployment_rework_rate",
    "open_incidents",
    "bus_factor",
]
HOURS = {"min": 1 / 60, "m": 1 / 60, "h": 1.0, "hours": 1.0, "d": 24.0, "days": 24.0}
TARGET = re.compile(r"^\s*(<=|>=|<|>)\s*(\d+(?:\.\d+)?)\s*(\w*)\s*$")


def tradeoff_metrics(text):
    lowered = (text or "").lower()
    found = {metric for word, metrics in WORDS.items() if word in lowered for metric in metrics}
    found |= {metric for metric in ORDER if metric in lowered}
    return [metric for metric in ORDER if metric in found]


def signal(item):
    if not isinstance(item, dict) or "comparator" in item or item.get("metric") not in ORDER:
        return item
    match = TARGET.match(str(item.get("target", "")))
    if match is None:
        return item
    comparator, number, unit = match.groups()
    value = float(number)
    if unit:
        if unit not in HOURS:
            return item
        value *= HOURS[unit]
    return {"metric": item["metric"], "comparator": comparator, "target": round(value, 4)}


def forwards(apps, schema_editor):
    FocusPeriod = apps.get_model("focus", "FocusPeriod")
    FocusEvent = apps.get_model("focus", "FocusEvent")
    events = []
    for period in FocusPeriod.objects.all().iterator():
        # Rows entered after the fact (the demo, the admin) may say they were aligned
        # before the row was created: the proposal came first.
        proposed_at = min(period.created_at, period.aligned_at or period.created_at)
        period.proposed_at = proposed_at
        if not period.tradeoff_metrics:
            period.tradeoff_metrics = tradeoff_metrics(period.tradeoff)
        period.success_signals = [signal(item) for item in period.success_signals or []]
        period.save(update_fields=["proposed_at", "tradeoff_metrics", "success_signals"])
        if FocusEvent.objects.filter(period_id=period.id).exists():
            continue
        events.append(
            FocusEvent(
                period_id=period.id,
                kind="proposed",
                actor_id=period.proposed_by_id,
                at=proposed_at,
                note="",
            )
        )
        if period.aligned_at is not None:
            events.append(
                FocusEvent(
                    period_id=period.id,
                    kind="aligned",
                    actor_id=period.aligned_by_id,
                    at=period.aligned_at,
                )
            )
        if period.status == "closed":
            events.append(
                FocusEvent(
                    period_id=period.id,
                    kind="closed",
                    at=max(period.aligned_at or proposed_at, period.created_at),
                    note="Recorded before the history was kept.",
                )
            )
    FocusEvent.objects.bulk_create(events, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("focus", "0003_lifecycle")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
