"""Stored "did it work" answers: each focus period's evaluation, kept so pages and the API
read it in one query instead of comparing two windows of raw rows per period on every view.

The worker refreshes a team's rows whenever it recomputes the team's rollups
(apps.metrics.tasks): after a write only the periods whose windows hold a recomputed week
are evaluated again, the others keep their answer under the new version (BENCHMARKS.md,
"Focus evaluations"). The nightly recheck refreshes every team's (a running period is judged
"so far", so its answer moves with the day), and a focus write refreshes its team's after
commit. A row holds while the team's recompute version, the day (for a period whose windows
are not over yet) and the period's kind, dates and trade-off (its `signature`) are those it
was computed for; readers compute any other answer afresh, together
(`focus_evaluate_many`), and store it, so a stale or missing row costs one computation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.timezones import org_tz
from apps.focus.evaluation import Evaluation, Window, evaluation_windows, focus_evaluate_many
from apps.focus.models import FocusEvaluation, FocusPeriod
from apps.focus.statistics import MetricChange
from apps.focus.tradeoffs import tradeoff_metrics_of
from apps.metrics.selectors import scope_versions

log = logging.getLogger(__name__)
_STORED = FocusPeriod.evaluation.related  # type: ignore[attr-defined]
# Teams whose periods are evaluated (and held in memory) together: periods of different teams
# with the same windows share their queries, so the more at once the fewer queries.
REFRESH_TEAMS_AT_ONCE = 200


def _today() -> dt.date:
    return timezone.now().astimezone(org_tz()).date()


def period_signature(period: FocusPeriod) -> str:
    """What of the period its evaluation depends on: kind, dates and trade-off metrics."""
    text = repr((period.kind.slug, period.starts_on, period.ends_on, tradeoff_metrics_of(period)))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _settled(period: FocusPeriod, evaluated_on: dt.date) -> bool:
    """Whether the period's windows were over on `evaluated_on` (its answer no longer
    depends on the day)."""
    return period.ends_on is not None and period.ends_on < evaluated_on


def _change(data: dict[str, Any]) -> MetricChange:
    interval = data.get("interval")
    return MetricChange(
        metric=data["metric"],
        better=data["better"],
        method=data["method"],
        before=data["before"],
        during=data["during"],
        n_before=data["n_before"],
        n_during=data["n_during"],
        change=data.get("change"),
        interval=(interval[0], interval[1]) if interval else None,
        verdict=data["verdict"],
    )


def evaluation_from_stored(payload: dict[str, Any]) -> Evaluation:
    """An Evaluation back from `Evaluation.stored()`."""

    def window(data: dict[str, str] | None) -> Window | None:
        if data is None:
            return None
        return dt.date.fromisoformat(data["start"]), dt.date.fromisoformat(data["end"])

    return Evaluation(
        verdict=payload["verdict"],
        before=window(payload.get("before")),
        during=window(payload.get("during")),
        metrics=[_change(m) for m in payload.get("metrics", [])],
        note=payload.get("note", ""),
        costs=[_change(m) for m in payload.get("costs", [])],
    )


def focus_evaluations_store(
    *,
    periods: Sequence[FocusPeriod],
    evaluations: dict[int, Evaluation],
    versions: dict[int, str],
    today: dt.date,
) -> int:
    """Upsert the periods' evaluations, computed for `versions` (read before computing)."""
    now = timezone.now()
    rows = [
        FocusEvaluation(
            period_id=period.pk,
            team_id=period.team_id,
            version=versions.get(period.team_id, ""),
            evaluated_on=today,
            signature=period_signature(period),
            verdict=evaluations[period.pk].verdict,
            payload=evaluations[period.pk].stored(),
            computed_at=now,
        )
        for period in periods
        if period.pk in evaluations
    ]
    if rows:
        FocusEvaluation.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["period"],
            update_fields=[
                "team",
                "version",
                "evaluated_on",
                "signature",
                "verdict",
                "payload",
                "computed_at",
            ],
        )
    return len(rows)


def _previous(version: str | None) -> str | None:
    """The version just before `version` ("<row id>.<counter>"): every recompute adds one."""
    if not version:
        return None
    row_id, _, counter = version.partition(".")
    return f"{row_id}.{int(counter) - 1}" if counter.isdigit() else None


def _misses(period: FocusPeriod, weeks: Sequence[dt.date], today: dt.date) -> bool:
    """Whether none of the recomputed `weeks` (Mondays) touches the period's two windows."""
    windows = evaluation_windows(period, today=today)
    if windows is None:
        return True
    first, last = windows[0][0], windows[1][1]
    return all(week >= last or week + dt.timedelta(days=7) <= first for week in weeks)


def _refresh_chunk(
    team_ids: Sequence[int], today: dt.date, weeks: Mapping[int, Sequence[dt.date]] | None
) -> int:
    # The versions first: a recompute landing meanwhile leaves these rows stale (their
    # version is older), and its own refresh follows.
    versions = scope_versions(team_ids)
    periods = list(
        FocusPeriod.objects.filter(team_id__in=team_ids).select_related("kind", "evaluation")
    )
    kept: list[int] = []
    todo: list[FocusPeriod] = []
    for period in periods:
        row: FocusEvaluation | None = getattr(period, "evaluation", None)
        # After one recompute of known weeks, an answer that was current just before it
        # and whose windows miss those weeks still holds: only its version moves on.
        if (
            weeks is not None
            and row is not None
            and row.version == _previous(versions.get(period.team_id))
            and (row.evaluated_on == today or _settled(period, row.evaluated_on))
            and row.signature == period_signature(period)
            and _misses(period, weeks.get(period.team_id, ()), today)
        ):
            kept.append(period.pk)
        else:
            todo.append(period)
    for team_id in {p.team_id for p in periods if p.pk in set(kept)}:
        FocusEvaluation.objects.filter(
            team_id=team_id, period_id__in=kept, version=_previous(versions[team_id])
        ).update(version=versions[team_id])
    evaluations = focus_evaluate_many(todo, today=today)
    return len(kept) + focus_evaluations_store(
        periods=todo, evaluations=evaluations, versions=versions, today=today
    )


def focus_evaluations_refresh(
    *,
    team_ids: Iterable[int] | None = None,
    today: dt.date | None = None,
    weeks: Mapping[int, Sequence[dt.date]] | None = None,
) -> int:
    """(Re)compute and store the evaluations of the teams' periods (every team's when
    `team_ids` is None), `REFRESH_TEAMS_AT_ONCE` teams at a time. `weeks`: each team's
    weeks the worker has just recomputed, once; answers whose windows miss them are kept.
    Returns the number of rows written."""
    today = today or _today()
    if team_ids is None:
        ids = sorted(set(FocusPeriod.objects.values_list("team_id", flat=True)))
    else:
        ids = sorted(set(team_ids))
    return sum(
        _refresh_chunk(ids[i : i + REFRESH_TEAMS_AT_ONCE], today, weeks)
        for i in range(0, len(ids), REFRESH_TEAMS_AT_ONCE)
    )


def focus_evaluations_refresh_on_commit(*, team_id: int) -> None:
    """After a focus write commits: its team's evaluations, in-process (one team's periods
    evaluate within BENCHMARKS.md's 200 ms). A failure is logged, never the write's: the
    readers compute a missing or stale answer themselves."""

    def refresh() -> None:
        try:
            focus_evaluations_refresh(team_ids=[team_id])
        except Exception:  # the write has committed; readers recover
            log.exception("refreshing the focus evaluations of team %s failed", team_id)

    transaction.on_commit(refresh)


def focus_evaluations_of(
    periods: Sequence[FocusPeriod],
    *,
    today: dt.date | None = None,
    versions: dict[int, str | None] | None = None,
    store: bool = True,
) -> dict[int, Evaluation]:
    """Each period's evaluation (periods with their kind), keyed by its id: the stored
    answer when it still holds (one query), otherwise computed now, together, and stored.

    `versions` (each team's recompute version, as the page's state has it) saves the query
    that reads them."""
    today = today or _today()
    if not periods:
        return {}
    team_ids = sorted({p.team_id for p in periods})
    if versions is None:
        versions = dict(scope_versions(team_ids))
    stored: dict[int, tuple[Any, ...]] = {}
    if all(_STORED.is_cached(p) for p in periods):  # read with the periods (select_related)
        for period in periods:
            row = getattr(period, "evaluation", None)
            if row is not None:
                stored[period.pk] = (row.version, row.evaluated_on, row.signature, row.payload)
    else:
        rows = FocusEvaluation.objects.filter(period_id__in=[p.pk for p in periods])
        for pk, *rest in rows.values_list(
            "period_id", "version", "evaluated_on", "signature", "payload"
        ):
            stored[pk] = tuple(rest)
    out: dict[int, Evaluation] = {}
    stale: list[FocusPeriod] = []
    for period in periods:
        row = stored.get(period.pk)
        if (
            row is not None
            and row[0] == (versions.get(period.team_id) or "")
            and (row[1] == today or (row[1] < today and _settled(period, row[1])))
            and row[2] == period_signature(period)
        ):
            out[period.pk] = evaluation_from_stored(row[3])
        else:
            stale.append(period)
    if stale:
        computed = focus_evaluate_many(stale, today=today)
        out.update(computed)
        if store:
            known = {team: v or "" for team, v in versions.items()}
            focus_evaluations_store(
                periods=stale, evaluations=computed, versions=known, today=today
            )
    return out
