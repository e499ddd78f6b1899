"""Writing weekly rollup rows: one row per scope and ISO week, upserted in bulk.

Raw SQL: a full recompute writes tens of thousands of rows, and model instances would cost
more than the metrics themselves. Used by the incremental and the full recompute
(rollups.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection

from apps.metrics import compute
from apps.metrics.models import ORG_SCOPE, ScopeVersion, WeeklyRollup

COLUMNS = (
    "scope",
    "team_id",
    "week_start",
    "deployments",
    "failed_deployments",
    "rework_deployments",
    "change_count",
    "incidents",
    "open_incidents",
    "ttr_median",
    "ttr_mean",
    "ttr_p90",
    "ttr_n",
    "fdrt_median",
    "fdrt_mean",
    "fdrt_p90",
    "fdrt_n",
    "lead_median",
    "lead_mean",
    "lead_p90",
    "lead_n",
    "bus_factor",
    "ttr_samples",
    "fdrt_samples",
    "lead_samples",
    "computed_at",
)
SAMPLE_COLUMNS = ("ttr_samples", "fdrt_samples", "lead_samples")
NO_SAMPLES = "[]"
COPY_THRESHOLD = 1_000  # rows; above it PostgreSQL gets them through COPY

Row = tuple[Any, ...]


def rollup_row(scope: int, week: dt.date, part: compute.Partial, now: dt.datetime) -> Row:
    """One WeeklyRollup row, as the values of COLUMNS. A team's row keeps its samples (none
    read is an empty list); the organization's row keeps none (NULL)."""
    ttr, fdrt, lead = part.time_to_restore, part.failed_deployment_recovery, part.lead_time
    team = scope != ORG_SCOPE
    return (
        scope,
        scope if scope != ORG_SCOPE else None,
        week,
        part.deployments,
        part.failed_deployments,
        part.rework_deployments,
        part.change_count,
        part.incidents,
        part.open_incidents,
        ttr.median,
        ttr.mean,
        ttr.p90,
        ttr.n,
        fdrt.median,
        fdrt.mean,
        fdrt.p90,
        fdrt.n,
        lead.median,
        lead.mean,
        lead.p90,
        lead.n,
        part.bus_factor,
        (part.ttr_samples or NO_SAMPLES) if team else None,
        (part.fdrt_samples or NO_SAMPLES) if team else None,
        (part.lead_samples or NO_SAMPLES) if team else None,
        now,
    )


def rollups_upsert(rows: list[Row]) -> int:
    """Insert or update rollup rows under (scope, week_start), in one fixed order (scope,
    then week) so that two writers never deadlock. Raw SQL: a full recompute writes tens of
    thousands of rows, and model instances would cost more than the metrics themselves."""
    if not rows:
        return 0
    rows.sort(key=lambda r: (r[0], r[2]))
    table = connection.ops.quote_name(WeeklyRollup._meta.db_table)
    columns = ", ".join(COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[3:])
    conflict = f"ON CONFLICT (scope, week_start) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) > COPY_THRESHOLD:
            cursor.execute(
                f"CREATE TEMP TABLE rollup_incoming ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {columns} FROM {table} WITH NO DATA"
            )
            with cursor.cursor.copy(f"COPY rollup_incoming ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM rollup_incoming "  # noqa: S608
                f"ORDER BY scope, week_start {conflict}"
            )
            cursor.execute("DROP TABLE rollup_incoming")
            return len(rows)
        ops = connection.ops
        placeholders = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
        batch = max(1, 30_000 // len(COLUMNS) // 4)
        for i in range(0, len(rows), batch):
            chunk = rows[i : i + batch]
            params: list[Any] = []
            for row in chunk:
                params.extend(row[:2])
                params.append(ops.adapt_datefield_value(row[2]))
                params.extend(row[3:-1])
                params.append(ops.adapt_datetimefield_value(row[-1]))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
                f"{', '.join([placeholders] * len(chunk))} {conflict}",
                params,
            )
    return len(rows)


def fast_commit(*, whole_tables: bool = False) -> None:
    """Rollups are derived data: do not wait for the WAL flush at commit. A crash can lose
    only whole transactions, and the dirty buckets they cleared come back with them.

    A few weeks' rows are read without parallel workers (starting them costs more than
    they save); a scan of whole tables sorts and hashes in memory and skips JIT compilation
    (it too costs more than it saves on these queries)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        if not whole_tables:
            # A week's rows: starting parallel workers costs more than they save.
            cursor.execute("SET LOCAL max_parallel_workers_per_gather TO 0")
        else:
            cursor.execute("SET LOCAL work_mem TO '128MB'")
            cursor.execute("SET LOCAL jit TO OFF")


def versions_bump(*, scopes: Iterable[int]) -> None:
    """Make every cached window answer of these scopes stale."""
    ordered = sorted(set(scopes))
    if not ordered:
        return
    table = connection.ops.quote_name(ScopeVersion._meta.db_table)
    values = ", ".join(["(%s, 1)"] * len(ordered))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope, version) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (scope) DO UPDATE SET version = {table}.version + 1",
            ordered,
        )
