"""SQL building blocks for metrics, identical in result on PostgreSQL and SQLite.

The database does the arithmetic where the rows live: durations, week buckets and
percentiles are computed inside the query. PostgreSQL has all of it built in; SQLite gets the
same functions registered on every connection (the metrics app's `AppConfig.ready` calls
`register_sqlite`), written to give bit-identical answers:

- durations are integer microseconds (`MicrosBetween`), exact on both;
- `Percentile` is PostgreSQL's `percentile_cont` and, on SQLite, a Python aggregate with the
  same interpolation (apps.metrics.formulas.percentile);
- `WeekStart` is the Monday of the ISO week in the organization's time zone (DST-safe);
- `SortedSamples` is the group's integer values, sorted, as JSON text (PostgreSQL
  `array_agg ... ORDER BY`, a Python aggregate on SQLite).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Aggregate,
    BigIntegerField,
    DateField,
    F,
    FloatField,
    Func,
    TextField,
)

from apps.metrics.formulas import percentile

UTC = dt.UTC


class Percentile(Aggregate):
    """Linear-interpolated percentile `q` of `expression` (NULLs ignored, None when empty)."""

    function = "PERCENTILE_CONT"
    name = "Percentile"
    # The direct argument is a literal so that PostgreSQL shares one sort between the
    # median and the p90 of the same expression.
    template = "%(function)s(%(q)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"
    output_field = FloatField()
    empty_result_set_value = None

    def __init__(self, expression: Any, q: float, **extra: Any) -> None:
        if not 0.0 <= float(q) <= 1.0:
            raise ValueError("q must be between 0 and 1")
        self.q = float(q)
        super().__init__(expression, **extra)

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> Any:
        extra_context.setdefault("q", repr(self.q))
        return super().as_sql(compiler, connection, **extra_context)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            function="execdash_percentile",
            template="%(function)s(%(expressions)s, %(q)s)%(filter)s",
            **extra_context,
        )


class SortedSamples(Aggregate):
    """Every non-NULL integer value of the group, sorted ascending, as a JSON list in text
    (`'[]'` when there is none): the samples a rollup keeps so that statistics of several
    groups can be merged exactly."""

    function = "ARRAY_AGG"
    name = "SortedSamples"
    output_field = TextField()
    empty_result_set_value = "[]"  # type: ignore[assignment]

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        # NULLs sort last and are removed; array_to_json writes no spaces.
        return (
            f"COALESCE(ARRAY_TO_JSON(ARRAY_REMOVE(ARRAY_AGG({sql} ORDER BY {sql}), NULL))::text,"
            " '[]')",
            (*params, *params),
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"COALESCE(execdash_samples({sql}), '[]')", tuple(params)


class MicrosBetween(Func):
    """`end - start` in whole microseconds (bigint); NULL when either is NULL."""

    output_field = BigIntegerField()
    arity = 2

    def __init__(self, end: Any, start: Any, **extra: Any) -> None:
        end = F(end) if isinstance(end, str) else end
        start = F(start) if isinstance(start, str) else start
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        # date_part (double) of an interval counts its days as 86,400 s and its time to the
        # microsecond; rounding the product gives back the exact integer.
        return (
            f"ROUND(DATE_PART('epoch', ({end_sql}) - ({start_sql})) * 1000000)::bigint",
            (*end_params, *start_params),
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        return (
            f"execdash_micros_between({end_sql}, {start_sql})",
            (*end_params, *start_params),
        )


class WeekStart(Func):
    """The Monday (a date) of the ISO week holding a timestamp, in time zone `tzname`."""

    output_field = DateField()
    arity = 1

    def __init__(self, expression: Any, tzname: str, **extra: Any) -> None:
        self.tzname = str(tzname)
        expression = F(expression) if isinstance(expression, str) else expression
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(DATE_TRUNC('week', ({sql}) AT TIME ZONE %s))::date", (*params, self.tzname)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"execdash_week_start({sql}, %s)", (*params, self.tzname)


# --- SQLite ------------------------------------------------------------------------------


def _parse_stored(value: Any) -> dt.datetime | None:
    """A datetime as Django stores it in SQLite: naive UTC text, microseconds optional."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


def _micros_between(end: Any, start: Any) -> int | None:
    e, s = _parse_stored(end), _parse_stored(start)
    if e is None or s is None:
        return None
    delta = e - s
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@functools.lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _week_start(value: Any, tzname: str) -> str | None:
    moment = _parse_stored(value)
    if moment is None:
        return None
    local = moment.astimezone(_zone(tzname)).date()
    return (local - dt.timedelta(days=local.weekday())).isoformat()


class _PercentileAggregate:
    """SQLite aggregate `execdash_percentile(value, q)` = PostgreSQL percentile_cont(q)."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.q = 0.5

    def step(self, value: Any, q: Any) -> None:
        if q is not None:
            self.q = float(q)
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        self.values.sort()
        return percentile(self.values, self.q)


class _SamplesAggregate:
    """SQLite aggregate `execdash_samples(value)`: the sorted integers as a JSON list."""

    def __init__(self) -> None:
        self.values: list[int] = []

    def step(self, value: Any) -> None:
        if value is not None:
            self.values.append(int(value))

    def finalize(self) -> str:
        self.values.sort()
        return json.dumps(self.values, separators=(",", ":"))


def register_sqlite(raw_connection: Any) -> None:
    """Register the SQLite functions and aggregates the metric queries use."""
    raw_connection.create_function(
        "execdash_micros_between", 2, _micros_between, deterministic=True
    )
    raw_connection.create_function("execdash_week_start", 2, _week_start, deterministic=True)
    raw_connection.create_aggregate("execdash_percentile", 2, _PercentileAggregate)
    raw_connection.create_aggregate("execdash_samples", 1, _SamplesAggregate)
