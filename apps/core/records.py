"""What incidents and releases share as records that arrive from outside: where a row came
from (`source`), the id it has there (`external_id`, the key of idempotent ingestion), its
timestamps, and the rules for saving and upserting such a row.

An abstract model only: it adds no table, and the concrete models keep their own columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models import QuerySet

from apps.core.validation import RecordWarning


class Source(models.TextChoices):
    FORM = "form", "Web form"
    API = "api", "API"
    WEBHOOK = "webhook", "Webhook"
    CSV = "csv", "CSV import"


class SourcedRecord(models.Model):
    """A row of a team that may come from a form, the API or a webhook. The concrete model
    has a `team`; (team, source, external_id) is unique. A webhook's rows carry the
    provider's id namespaced by the webhook (apps.webhooks.models.record_key), so the key
    names one sender's record.
    """

    source = models.CharField(max_length=16, choices=Source.choices, default=Source.FORM)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["team", "source", "external_id"], name="%(class)s_external_id_unique"
            ),
        ]


def optional_link(to: str, *, related_name: str) -> models.ForeignKey[Any, Any]:
    """A link a record may lack (who recorded it, the record it names); it survives the
    deletion of what it points to as an empty link.
    """
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=models.SET_NULL, related_name=related_name
    )


def record_save(record: models.Model, *, exclude: list[str]) -> None:
    """Check the row's own fields (lengths, choices) and save it. The services have already
    applied the cross-field rules and the constraints; relations in `exclude` were checked
    by them too.
    """
    record.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    record.save()


def merged_fields(
    record: models.Model, names: tuple[str, ...], changes: dict[str, Any]
) -> dict[str, Any]:
    """The row's values of `names`, with `changes` applied: what an update will store."""
    merged = {name: getattr(record, name) for name in names}
    merged.update(changes)
    return merged


def record_locked[M: models.Model](
    model: type[M],
    *,
    team: Any,
    source: str,
    external_id: str | None,
    related: tuple[str, ...] = (),
) -> M | None:
    """The row with this ingestion key (team, source, external_id), locked until the caller's
    transaction ends; None when there is none or no key was given.

    The first half of an idempotent ingestion: the same key updates, never duplicates. A
    caller that decides on the row before writing (a webhook keeping the later of two
    statuses) looks it up once with this and hands it to the write.
    """
    if not external_id:
        return None
    return (
        model._default_manager.select_for_update(of=("self",))
        .select_related(*related)
        .filter(team=team, source=source, external_id=external_id)
        .first()
    )


def filter_given[M: models.Model](qs: QuerySet[M], **lookups: Any) -> QuerySet[M]:
    """`qs` narrowed by each lookup that has a value; an empty filter (None, "") is no filter."""
    given = {name: value for name, value in lookups.items() if value not in (None, "")}
    return qs.filter(**given) if given else qs


@dataclass(frozen=True)
class Ingested[M]:
    """What an ingestion stored: the row, whether it is new, and its flags (stored but
    imperfect; empty when the record is whole)."""

    record: M
    created: bool
    warnings: list[RecordWarning] = field(default_factory=list)


@dataclass(frozen=True)
class Ingestion[M: models.Model]:
    """How rows of one kind arrive from outside under their ingestion key (team, source,
    external_id): the row with the key is found and locked, then updated, or created when
    there is none. The domain's services give it their own writes (with their rules and
    dirty weeks) and flags, and keep their typed names for it (`release_upsert`, …).
    """

    model: type[M]
    # `create(team=, source=, external_id=, **fields)`: a new row.
    create: Callable[..., M]
    # `update(row, **fields)`: the row, changed.
    update: Callable[..., M]
    # The row's flags: what is stored but imperfect.
    warnings: Callable[[M], list[RecordWarning]]
    # The relations loaded with the locked row.
    related: tuple[str, ...] = ()

    def locked(self, *, team: Any, source: str, external_id: str | None) -> M | None:
        """The row with this key, locked until the caller's transaction ends (`record_locked`)."""
        return record_locked(
            self.model, team=team, source=source, external_id=external_id, related=self.related
        )

    def write(
        self, existing: M | None, *, team: Any, source: str, external_id: str | None, **fields: Any
    ) -> tuple[M, bool]:
        """Update `existing`, the row with this key found by `locked` in the caller's
        transaction, or create it when there is none. Returns the row and whether it is new."""
        if existing is not None:
            return self.update(existing, **fields), False
        return self.create(team=team, source=source, external_id=external_id, **fields), True

    def upsert(
        self, *, team: Any, source: str, external_id: str | None, **fields: Any
    ) -> tuple[M, bool]:
        """Idempotent ingestion: the same key updates, never duplicates."""
        with transaction.atomic():
            existing = self.locked(team=team, source=source, external_id=external_id)
            return self.write(existing, team=team, source=source, external_id=external_id, **fields)

    def ingest(
        self, existing: M | None, *, team: Any, source: str, external_id: str | None, **fields: Any
    ) -> Ingested[M]:
        """`write`, answering with the row's flags too."""
        row, created = self.write(
            existing, team=team, source=source, external_id=external_id, **fields
        )
        return Ingested(row, created, self.warnings(row))
