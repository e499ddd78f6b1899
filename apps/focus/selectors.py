"""Reads of focus periods: the teams' current focus, a team's periods with their history,
one period, and what is waiting for whom ("waiting for sign-off by an admin", "revisit due
since 3 days").

The history is prefetched (one query for all of a team's events and their actors), so a
page listing every period never runs a query per period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from apps.core.timezones import local_midnight
from apps.focus.models import FocusEvent, FocusKind, FocusPeriod
from apps.teams.models import Team

SIGNOFF_REMINDER_AFTER_DAYS = 3
Status = FocusPeriod.Status


def _events() -> Prefetch:
    return Prefetch("events", queryset=FocusEvent.objects.select_related("actor"))


def focus_periods_of_team(*, team: Team) -> QuerySet[FocusPeriod]:
    """The team's periods, newest first, with their kind, people, history and stored
    evaluation (apps.focus.evaluations)."""
    return (
        FocusPeriod.objects.filter(team=team)
        .select_related("team", "kind", "proposed_by", "aligned_by", "evaluation")
        .prefetch_related(_events())
        .order_by("-starts_on", "-id")
    )


def focus_period_get(*, team: Team, pk: int) -> FocusPeriod:
    """One of the team's periods with its history; FocusPeriod.DoesNotExist otherwise."""
    return focus_periods_of_team(team=team).get(pk=pk)


def focus_current_of(periods: list[FocusPeriod], today: dt.date) -> FocusPeriod | None:
    """The period covering today, else the next one that has not started, else None."""
    covering = [p for p in periods if p.covers(today)]
    if covering:
        return max(covering, key=lambda p: p.starts_on)
    upcoming = [p for p in periods if p.starts_on > today and p.status != Status.CLOSED]
    return min(upcoming, key=lambda p: p.starts_on) if upcoming else None


@dataclass(frozen=True)
class Waiting:
    """Who the next step is up to, and since when."""

    who: Literal["admin", "manager"]
    text: str
    since: dt.date
    days: int


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def focus_waiting(period: FocusPeriod, *, today: dt.date | None = None) -> Waiting | None:
    """What the period is waiting for, in words; None when nothing is due."""
    today = today or timezone.localdate()
    if period.status == Status.PROPOSED:
        proposed_at = period.proposed_at or period.created_at
        since = timezone.localdate(proposed_at) if proposed_at else today
        days = (today - since).days
        when = "" if days <= 0 else f" for {_days(days)}"
        return Waiting("admin", f"Waiting for sign-off by an admin{when}", since, days)
    if period.status == Status.SENT_BACK:
        sent = [e for e in period.events.all() if e.kind == FocusEvent.Kind.SENT_BACK]
        since = timezone.localdate(sent[-1].at) if sent else today
        days = (today - since).days
        return Waiting("manager", "Sent back: waiting for a manager to edit it", since, days)
    if period.status == Status.ALIGNED and period.revisit_on and period.revisit_on <= today:
        days = (today - period.revisit_on).days
        text = "Revisit due today" if days == 0 else f"Revisit due since {_days(days)}"
        return Waiting("manager", f"{text}, by a manager of the team", period.revisit_on, days)
    return None


def focus_last_sent_back(period: FocusPeriod) -> FocusEvent | None:
    """The latest send-back (its note is what the manager should fix), from the prefetch."""
    sent = [e for e in period.events.all() if e.kind == FocusEvent.Kind.SENT_BACK]
    return sent[-1] if sent else None


def periods_revisit_due(*, today: dt.date) -> QuerySet[FocusPeriod]:
    """Aligned periods whose revisit date has come."""
    return FocusPeriod.objects.filter(status=Status.ALIGNED, revisit_on__lte=today).select_related(
        "team", "kind"
    )


def periods_waiting_for_signoff(
    *, today: dt.date, more_than_days: int = SIGNOFF_REMINDER_AFTER_DAYS
) -> QuerySet[FocusPeriod]:
    """Proposals waiting for an admin's sign-off for more than `more_than_days` whole days
    (proposed on the 1st: still "3 days" on the 4th, reminded from the 5th)."""
    cutoff = local_midnight(today - dt.timedelta(days=more_than_days))
    # A row written without the services (bulk loads) has no proposed_at: its creation counts.
    waiting = Q(proposed_at__lt=cutoff) | Q(proposed_at__isnull=True, created_at__lt=cutoff)
    return FocusPeriod.objects.filter(waiting, status=Status.PROPOSED).select_related(
        "team", "kind"
    )


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
    """All focus periods of a team, oldest first, with who proposed and aligned them and
    their stored evaluations (apps.focus.evaluations)."""
    return list(
        FocusPeriod.objects.filter(team=team)
        .select_related("kind", "aligned_by", "proposed_by", "evaluation")
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


def teams_focus_signatures(team_ids: Sequence[int]) -> dict[int, list[tuple[Any, ...]]]:
    """Per team, what its charts' focus bands show of each period (kind, dates, status), as
    plain rows in one query: the signature of the bands for a cache key."""
    if not team_ids:
        return {}

    def table(model: Any) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    sql = f"""
        SELECT f.team_id, f.id, k.slug, k.name, f.starts_on, f.ends_on, f.status
        FROM {table(FocusPeriod)} f JOIN {table(FocusKind)} k ON k.id = f.kind_id
        WHERE f.team_id IN ({", ".join(["%s"] * len(team_ids))})
        ORDER BY f.team_id, f.starts_on, f.id
    """  # noqa: S608  (table names from the models; the teams are parameters)
    found: dict[int, list[tuple[Any, ...]]] = {team_id: [] for team_id in team_ids}
    with connection.cursor() as cursor:
        cursor.execute(sql, list(team_ids))
        for team_id, *rest in cursor.fetchall():
            found[team_id].append(tuple(rest))
    return found


def team_focus_rows(team: Team) -> list[tuple[Any, ...]]:
    """What the team page shows of every focus period of the team (kind, dates, status,
    rationale, trade-off, revisit date, who aligned it and when), as plain rows in one query:
    the signature of the page's focus for its cache key, read on every view, so written as
    SQL rather than built by the ORM (whose compiling costs more than running it)."""
    with connection.cursor() as cursor:
        cursor.execute(_focus_rows_sql(), [team.pk])
        return [tuple(row) for row in cursor.fetchall()]
