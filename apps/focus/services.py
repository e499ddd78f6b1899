"""Writes of focus periods. Periods of one team never overlap.

PostgreSQL enforces it with an exclusion constraint; this service checks it first on every
database so the person gets a message naming the period it overlaps, and locks the team's
row so two concurrent proposals cannot both pass the check on SQLite.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.focus.evaluations import focus_evaluations_refresh_on_commit
from apps.focus.models import FocusKind, FocusPeriod
from apps.teams.models import Team


def overlapping_periods(
    *, team: Team, starts_on: dt.date, ends_on: dt.date | None, exclude_id: int | None = None
) -> QuerySet[FocusPeriod]:
    qs = FocusPeriod.objects.filter(team=team).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on)
    )
    if ends_on is not None:
        qs = qs.filter(starts_on__lte=ends_on)
    if exclude_id is not None:
        qs = qs.exclude(id=exclude_id)
    return qs.select_related("kind")


BUILTIN_KINDS = (
    (
        FocusKind.STABILITY,
        "Stability",
        "Recover fast and fail less: time to restore, change failure rate.",
    ),
    (FocusKind.THROUGHPUT, "Throughput", "Ship more often with shorter lead times."),
    (
        FocusKind.KNOWLEDGE_SHARING,
        "Knowledge sharing",
        "Spread the work so no service depends on one person.",
    ),
)


def focus_kinds_ensure_builtin() -> dict[str, FocusKind]:
    """The built-in kinds (a data migration creates them; this repairs a flushed table)."""
    kinds = {kind.slug: kind for kind in FocusKind.objects.all()}
    for slug, name, description in BUILTIN_KINDS:
        if slug not in kinds:
            kinds[slug], _ = FocusKind.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description, "builtin": True}
            )
    return kinds


class FocusOverlapError(ValidationError):
    def __init__(self, other: FocusPeriod) -> None:
        self.other = other
        until = other.ends_on.isoformat() if other.ends_on else "open-ended"
        super().__init__(
            {
                "starts_on": [
                    f"Overlaps the {other.kind.name.lower()} focus "
                    f"{other.starts_on.isoformat()} – {until} (id {other.id})."
                ]
            }
        )


@transaction.atomic
def focus_period_create(
    *,
    team: Team,
    kind: FocusKind,
    starts_on: dt.date,
    rationale: str,
    ends_on: dt.date | None = None,
    revisit_on: dt.date | None = None,
    success_signals: list[dict[str, Any]] | None = None,
    tradeoff: str = "",
    proposed_by: Any = None,
    status: str = FocusPeriod.Status.PROPOSED,
) -> FocusPeriod:
    errors: dict[str, list[str]] = {}
    if ends_on is not None and ends_on < starts_on:
        errors["ends_on"] = ["The period cannot end before it starts."]
    if revisit_on is not None and revisit_on < starts_on:
        errors["revisit_on"] = ["The revisit date must be on or after the start."]
    if not rationale.strip():
        errors["rationale"] = ["Say why the team chose this focus."]
    if errors:
        raise ValidationError(errors)
    # Serialize proposals for one team (SQLite has no exclusion constraint).
    Team.objects.select_for_update().filter(id=team.id).first()
    other = overlapping_periods(team=team, starts_on=starts_on, ends_on=ends_on).first()
    if other is not None:
        raise FocusOverlapError(other)
    period = FocusPeriod(
        team=team,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        rationale=rationale,
        revisit_on=revisit_on,
        success_signals=success_signals or [],
        tradeoff=tradeoff,
        proposed_by=proposed_by,
        status=status,
    )
    try:
        with transaction.atomic():
            period.save()
    except IntegrityError as exc:  # the exclusion constraint on PostgreSQL
        other = overlapping_periods(team=team, starts_on=starts_on, ends_on=ends_on).first()
        if other is not None:
            raise FocusOverlapError(other) from exc
        raise
    focus_evaluations_refresh_on_commit(team_id=team.id)
    return period


@transaction.atomic
def focus_period_align(*, period: FocusPeriod, aligned_by: Any) -> FocusPeriod:
    period.status = FocusPeriod.Status.ALIGNED
    period.aligned_by = aligned_by
    period.aligned_at = timezone.now()
    period.save(update_fields=["status", "aligned_by", "aligned_at"])
    return period


@transaction.atomic
def focus_period_close(*, period: FocusPeriod, ends_on: dt.date) -> FocusPeriod:
    if ends_on < period.starts_on:
        raise ValidationError({"ends_on": ["The period cannot end before it starts."]})
    period.ends_on = ends_on
    period.status = FocusPeriod.Status.CLOSED
    period.save(update_fields=["ends_on", "status"])
    focus_evaluations_refresh_on_commit(team_id=period.team_id)
    return period
