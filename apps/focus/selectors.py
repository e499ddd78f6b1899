"""Reads of focus periods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q

from apps.focus.models import FocusKind, FocusPeriod
from apps.teams.models import Team


def current_focus_by_team(team_ids: Sequence[int], today: dt.date) -> dict[int, FocusPeriod]:
    """Each team's focus period covering today (one query)."""
    periods = (
        FocusPeriod.objects.filter(team_id__in=team_ids, starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .select_related("kind")
        .order_by("team_id", "-starts_on")
    )
    out: dict[int, FocusPeriod] = {}
    for period in periods:
        out.setdefault(period.team_id, period)
    return out


def team_periods(team: Team) -> list[FocusPeriod]:
    """All focus periods of a team, oldest first, with who proposed and aligned them."""
    return list(
        FocusPeriod.objects.filter(team=team)
        .select_related("kind", "aligned_by", "proposed_by")
        .order_by("starts_on")
    )


def current_of(periods: Sequence[FocusPeriod], today: dt.date) -> FocusPeriod | None:
    covering = [p for p in periods if p.covers(today)]
    return covering[-1] if covering else None


def _focus_rows_sql() -> str:
    def table(model: Any) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    user: Any = get_user_model()
    username = connection.ops.quote_name(user._meta.get_field(user.USERNAME_FIELD).column)
    return f"""
        SELECT f.id, f.kind_id, k.slug, k.name, f.starts_on, f.ends_on, f.status, f.rationale,
            f.tradeoff, f.revisit_on, f.aligned_at, f.aligned_by_id,
            u.first_name, u.last_name, u.{username}
        FROM {table(FocusPeriod)} f
            JOIN {table(FocusKind)} k ON k.id = f.kind_id
            LEFT JOIN {table(user)} u ON u.id = f.aligned_by_id
        WHERE f.team_id = %s
        ORDER BY f.starts_on, f.id
    """  # noqa: S608  (table and column names from the models; the team is a parameter)


def team_focus_rows(team: Team) -> list[tuple[Any, ...]]:
    """What the team page shows of every focus period of the team (kind, dates, status,
    rationale, trade-off, revisit date, who aligned it and when), as plain rows in one query:
    the signature of the page's focus for its cache key, read on every view, so written as
    SQL rather than built by the ORM (whose compiling costs more than running it)."""
    with connection.cursor() as cursor:
        cursor.execute(_focus_rows_sql(), [team.pk])
        return [tuple(row) for row in cursor.fetchall()]
