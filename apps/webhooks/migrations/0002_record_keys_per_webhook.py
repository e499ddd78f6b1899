"""Releases and incidents written by webhooks are keyed per webhook.

Their `external_id` was the provider's id alone, unique per team: a github.com deployment 2
and a GitHub Enterprise Server deployment 2 of one team overwrote each other. From now on it
is `webhook-<webhook id>:<provider id>` (apps.webhooks.models.record_key). This moves the
rows stored before under the key of the webhook that wrote them, so that the next delivery
from that webhook (a later status, a redelivery) updates the same row instead of adding one:

1. the webhook whose accepted delivery last wrote the row (the delivery log, 30 days);
2. otherwise the team's only webhook of the kind (GitHub writes releases, PagerDuty
   incidents);
3. otherwise, of the team's webhooks of the kind, the latest created before the row was
   (the others did not exist yet), else the first one: a best guess for an old row of a
   team with several senders, which the log no longer shows.

A row of a team that has no webhook of the kind left keeps its key: no webhook can deliver
to it any more. Going back strips the namespace where that leaves the team's keys unique.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import migrations

# Frozen here: apps.webhooks.models.record_key may change later, this migration may not.
PREFIX = "webhook-"
KINDS = (
    ("releases", "Release", "github", "release"),
    ("incidents", "Incident", "pagerduty", "incident"),
)
BATCH = 500


def key(webhook_id: int, provider_id: str) -> str:
    return f"{PREFIX}{webhook_id}:{provider_id}"


def webhook_of(row: Any, logged: dict[int, int], candidates: list[Any]) -> int | None:
    """The webhook whose key the row gets (see the module's docstring), or None."""
    if row.pk in logged:
        return logged[row.pk]
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0].pk
    earlier = [w for w in candidates if w.created_at <= row.created_at]
    return (earlier[-1] if earlier else candidates[0]).pk


def rekey_records(apps: Any, schema_editor: Any) -> None:
    webhook_model = apps.get_model("webhooks", "Webhook")
    delivery_model = apps.get_model("webhooks", "WebhookDelivery")
    for app_label, model_name, kind, record_kind in KINDS:
        model = apps.get_model(app_label, model_name)
        rows = list(
            model.objects.filter(source="webhook", external_id__isnull=False)
            .exclude(external_id="")
            .exclude(external_id__startswith=PREFIX)
            .only("id", "team_id", "external_id", "created_at")
            .order_by("id")
        )
        if not rows:
            continue
        webhooks: dict[int, list[Any]] = defaultdict(list)
        for webhook in webhook_model.objects.filter(kind=kind).order_by("created_at", "id"):
            webhooks[webhook.team_id].append(webhook)
        team_of = {w.pk: team for team, ws in webhooks.items() for w in ws}
        # The latest accepted delivery that wrote each row, by a webhook of the row's team.
        logged: dict[int, int] = {}
        deliveries = (
            delivery_model.objects.filter(
                outcome="accepted", record_kind=record_kind, record_id__isnull=False
            )
            .order_by("received_at", "id")
            .values_list("record_id", "webhook_id")
        )
        team_by_row = {row.pk: row.team_id for row in rows}
        for record_id, webhook_id in deliveries.iterator():
            if record_id in team_by_row and team_of.get(webhook_id) == team_by_row[record_id]:
                logged[record_id] = webhook_id
        changed = []
        for row in rows:
            webhook_id = webhook_of(row, logged, webhooks.get(row.team_id, []))
            if webhook_id is not None:
                row.external_id = key(webhook_id, row.external_id)
                changed.append(row)
        model.objects.bulk_update(changed, ["external_id"], batch_size=BATCH)


def strip_keys(apps: Any, schema_editor: Any) -> None:
    for app_label, model_name, _kind, _record_kind in KINDS:
        model = apps.get_model(app_label, model_name)
        rows = list(
            model.objects.filter(source="webhook", external_id__startswith=PREFIX)
            .only("id", "team_id", "external_id")
            .order_by("id")
        )
        taken = set(
            model.objects.filter(source="webhook")
            .exclude(external_id__startswith=PREFIX)
            .values_list("team_id", "external_id")
        )
        changed = []
        for row in rows:
            bare = row.external_id.split(":", 1)[-1]
            if (row.team_id, bare) not in taken:
                taken.add((row.team_id, bare))
                row.external_id = bare
                changed.append(row)
        model.objects.bulk_update(changed, ["external_id"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("releases", "0002_record_source_csv"),
        ("incidents", "0003_record_source_csv"),
    ]

    operations = [migrations.RunPython(rekey_records, strip_keys, elidable=False)]
