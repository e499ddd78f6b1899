"""The formulas of METRICS.md, as plain Python: no ORM, no I/O.

Everything the database computes (apps/metrics/sql.py) is defined here too, so tests can
check the database path against this module. Durations travel as integer microseconds
until the very end, so PostgreSQL and SQLite see the same numbers; they are reported in
seconds rounded to the millisecond (3 decimals), rates rounded to 6 decimals.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

import numpy as np

DURATION_DECIMALS = 3
RATE_DECIMALS = 6
MICROS = 1_000_000
MIN_SAMPLES_FOR_LEVEL = 5
MAX_PROGRESS = Decimal(10**12)  # outcome_progress

Level = Literal["elite", "high", "medium", "low", "not_enough_data"]
NOT_ENOUGH_DATA: Level = "not_enough_data"
LEVEL_METRICS = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")


# --- statistics --------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile of already sorted values (None when empty).

    The same arithmetic as PostgreSQL's `percentile_cont` (and NumPy's default `linear`
    method): position `q * (n - 1)`, interpolated between its two neighbours as
    `lo + frac * (hi - lo)`, in double precision, so both databases and this module agree
    to the last bit.
    """
    n = len(sorted_values)
    if n == 0:
        return None
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be between 0 and 1")
    position = q * (n - 1)
    first = math.floor(position)
    second = math.ceil(position)
    lo = float(sorted_values[first])
    if first == second:
        return lo
    hi = float(sorted_values[second])
    return lo + (position - first) * (hi - lo)


def round_duration(seconds: float | Decimal | None) -> float | None:
    """Seconds rounded to the millisecond (half to even), or None."""
    if seconds is None:
        return None
    return float(Decimal(seconds).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN))


def round_rate(value: float | Decimal | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(value).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))


def micros_to_seconds(micros: float | int | Decimal | None) -> float | None:
    """A duration in microseconds (exact or interpolated) as rounded seconds."""
    if micros is None:
        return None
    return round_duration(Decimal(micros) / MICROS)


def mean_seconds(total_micros: int | Decimal | None, n: int) -> float | None:
    """Mean in seconds from the exact sum of microseconds: identical on every database."""
    if not n or total_micros is None:
        return None
    return round_duration(Decimal(total_micros) / n / MICROS)


@dataclass(frozen=True)
class Stats:
    """median, mean and p90 of a duration metric in seconds, with its sample count."""

    median: float | None
    mean: float | None
    p90: float | None
    n: int

    @classmethod
    def empty(cls) -> Stats:
        return cls(None, None, None, 0)

    @classmethod
    def of(cls, values: Iterable[float]) -> Stats:
        """Statistics of durations given in seconds (n = 0 → all None)."""
        ordered = sorted(float(v) for v in values)
        if not ordered:
            return cls.empty()
        total = sum(Decimal(v) for v in ordered)
        return cls(
            median=round_duration(percentile(ordered, 0.5)),
            mean=round_duration(total / len(ordered)),
            p90=round_duration(percentile(ordered, 0.9)),
            n=len(ordered),
        )

    @classmethod
    def of_micros(cls, values: Iterable[int]) -> Stats:
        """Statistics of durations given as integer microseconds (the database path)."""
        ordered = sorted(int(v) for v in values)
        if not ordered:
            return cls.empty()
        return cls.from_parts(
            n=len(ordered),
            total_micros=sum(ordered),
            median_micros=percentile(ordered, 0.5),
            p90_micros=percentile(ordered, 0.9),
        )

    @classmethod
    def of_micros_array(cls, values: np.ndarray) -> Stats:
        """`of_micros` over a NumPy array of 64-bit integer microseconds, in any order.

        The values are sorted as integers and read exactly as `of_micros` reads them; the sum
        is exact (NumPy's when it cannot overflow, Python's integers otherwise).
        """
        n = len(values)
        if not n:
            return cls.empty()
        ordered = np.sort(values)
        largest = max(abs(int(ordered[0])), abs(int(ordered[-1])))
        total = int(ordered.sum()) if largest * n < 2**63 else sum(int(v) for v in ordered)
        return cls.from_parts(
            n=n,
            total_micros=total,
            median_micros=percentile(ordered, 0.5),  # type: ignore[arg-type]
            p90_micros=percentile(ordered, 0.9),  # type: ignore[arg-type]
        )

    @classmethod
    def from_parts(
        cls,
        *,
        n: int,
        total_micros: int | Decimal | None,
        median_micros: float | None,
        p90_micros: float | None,
    ) -> Stats:
        """Assemble from what the database aggregates return (count, sum, percentiles)."""
        if not n:
            return cls.empty()
        return cls(
            median=micros_to_seconds(median_micros),
            mean=mean_seconds(total_micros, n),
            p90=micros_to_seconds(p90_micros),
            n=int(n),
        )

    def as_dict(self) -> dict[str, float | int | None]:
        return {"median": self.median, "mean": self.mean, "p90": self.p90, "n": self.n}


# --- rates ---------------------------------------------------------------------------------


def change_failure_rate(failed_deployments: int, deployments: int) -> float | None:
    """Failed releases over releases deployed; None when nothing was deployed."""
    if deployments <= 0:
        return None
    return round_rate(Decimal(failed_deployments) / Decimal(deployments))


def rework_rate(rework_deployments: int, deployments: int) -> float | None:
    """Releases that fix an incident over releases deployed; None when nothing was deployed."""
    if deployments <= 0:
        return None
    return round_rate(Decimal(rework_deployments) / Decimal(deployments))


def deployment_frequency(deployments: int, days: int) -> float | None:
    """Deployments per week: `deployments / (days / 7)`. None for a zero-length window.

    A window with no deployments deploys 0 times a week: that is a rate, not missing data.
    """
    if days <= 0:
        return None
    return round_rate(Decimal(deployments) * 7 / Decimal(days))


def outcome_progress(*, value: float, baseline: float, target: float) -> float | None:
    """Progress toward the target: 0 at the baseline, 1.0 on the target, either direction.

    None when target equals baseline (no distance to cover), and when the value lies more
    than 10^12 times that distance from the baseline: such a ratio says nothing about
    progress, and it would not survive rounding (or, past 10^308, a float).
    """
    if target == baseline:
        return None
    progress = (Decimal(str(value)) - Decimal(str(baseline))) / (
        Decimal(str(target)) - Decimal(str(baseline))
    )
    if abs(progress) > MAX_PROGRESS:
        return None
    return round_rate(progress)


# --- bus factor ----------------------------------------------------------------------------


def bus_factor_of(work: Mapping[str, int]) -> int | None:
    """The smallest number of people who together did at least half of the work.

    `work` maps a person to how many items (releases deployed, incidents resolved) they
    did. People are taken most work first, ties broken by name; None when there is no work.
    """
    people = sorted(((-count, name) for name, count in work.items() if count > 0))
    total = sum(-count for count, _ in people)
    if total == 0:
        return None
    done = 0
    for taken, (negative, _name) in enumerate(people, start=1):
        done -= negative
        if 2 * done >= total:
            return taken
    return len(people)  # pragma: no cover  (the loop always reaches half)


# --- DORA performance levels ---------------------------------------------------------------

DAY = 86_400.0
HOUR = 3_600.0
WEEK = 7 * DAY


@dataclass(frozen=True)
class LevelTable:
    """Cut-offs of one benchmark year. Each tuple is (elite, high, medium) bounds.

    Deployment frequency (per week) is "at least"; lead time and recovery time (seconds)
    are "less than"; change failure rate is "at most". Anything else is low.
    """

    deployment_frequency: tuple[float, float, float]
    lead_time: tuple[float, float, float]
    change_failure_rate: tuple[float, float, float]
    time_to_restore: tuple[float, float, float]


DORA_LEVELS: dict[int, LevelTable] = {
    # Accelerate State of DevOps Report 2021 (DORA / Google Cloud), "Software delivery
    # performance" table. Elite: on demand (multiple deploys per day), lead time < 1 hour,
    # restore < 1 hour, change failure rate 0-15 %. High: weekly to monthly deploys, lead
    # time 1 day to 1 week, restore < 1 day, 16-30 %. Medium: monthly to every six months,
    # lead time 1 to 6 months, restore 1 day to 1 week, 16-30 %. Low: fewer than once per
    # six months, > 6 months, > 6 months, 16-30 %. The bands are made contiguous here (a
    # value between two bands belongs to the better one); high, medium and low share the
    # 16-30 % failure band, so 15-30 % is high and anything above is low.
    2021: LevelTable(
        deployment_frequency=(7.0, 12 / 52, 2 / 52),
        lead_time=(HOUR, WEEK, 182 * DAY),
        change_failure_rate=(0.15, 0.30, 0.30),
        time_to_restore=(HOUR, DAY, WEEK),
    ),
    # Accelerate State of DevOps Report 2023 (DORA / Google Cloud), "Software delivery
    # performance levels": elite on demand, lead time < 1 day, 5 %, recovery < 1 hour; high
    # daily to weekly, 1 day to 1 week, 10 %, < 1 day; medium weekly to monthly, 1 week to
    # 1 month, 15 %, 1 day to 1 week; low (the report repeats medium's frequency and lead
    # time bands), 64 %, 1 to 6 months. The cut-offs are the table of METRICS.md.
    2023: LevelTable(
        deployment_frequency=(7.0, 1.0, 12 / 52),
        lead_time=(DAY, WEEK, 30 * DAY),
        change_failure_rate=(0.05, 0.10, 0.15),
        time_to_restore=(HOUR, DAY, WEEK),
    ),
    # Accelerate State of DevOps Report 2024 (DORA / Google Cloud), "Software delivery
    # performance levels": elite on demand, < 1 day, 5 %, < 1 hour; high daily to weekly,
    # 1 day to 1 week, 20 %, < 1 day; medium weekly to monthly, 1 week to 1 month, 10 %,
    # < 1 day; low monthly to every six months, 1 to 6 months, 40 %, 1 week to 1 month.
    # The report's clusters are not monotonic in change failure rate (medium 10 % sits
    # below high 20 %); ranked on that metric alone we use its values in ascending order
    # (5 %, 10 %, 20 %) as the upper bounds. Recovery: high and medium both read "less
    # than one day" and low starts at one week, so medium keeps the one-week bound.
    2024: LevelTable(
        deployment_frequency=(7.0, 1.0, 12 / 52),
        lead_time=(DAY, WEEK, 30 * DAY),
        change_failure_rate=(0.05, 0.10, 0.20),
        time_to_restore=(HOUR, DAY, WEEK),
    ),
}
LEVEL_NAMES: tuple[Level, Level, Level] = ("elite", "high", "medium")


def level_for(metric: str, value: float | None, n: int, year: int = 2023) -> Level:
    """The DORA level of one metric: 'elite', 'high', 'medium', 'low' or 'not_enough_data'.

    `value` is deployments per week, lead time in seconds (median), change failure rate as
    a fraction, or recovery time in seconds (median). `n` is the number of samples behind it
    (releases or incidents); fewer than 5 is not enough data.
    """
    if metric not in LEVEL_METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    if value is None or n < MIN_SAMPLES_FOR_LEVEL:
        return NOT_ENOUGH_DATA
    try:
        table = DORA_LEVELS[year]
    except KeyError:
        raise ValueError(f"no DORA table for {year}") from None
    bounds: tuple[float, float, float] = getattr(table, metric)
    for name, bound in zip(LEVEL_NAMES, bounds, strict=True):
        if metric == "deployment_frequency":
            hit = value >= bound
        elif metric == "change_failure_rate":
            hit = value <= bound
        else:
            hit = value < bound
        if hit:
            return name
    return "low"


def levels_for(
    *,
    deployments: int,
    deployment_frequency_per_week: float | None,
    change_failure_rate: float | None,
    lead_time: Stats,
    time_to_restore: Stats,
    year: int = 2023,
) -> dict[str, str]:
    """The four badges of a window. Releases are the samples of frequency and failure rate."""
    return {
        "deployment_frequency": level_for(
            "deployment_frequency", deployment_frequency_per_week, deployments, year
        ),
        "lead_time": level_for("lead_time", lead_time.median, lead_time.n, year),
        "change_failure_rate": level_for(
            "change_failure_rate", change_failure_rate, deployments, year
        ),
        "time_to_restore": level_for(
            "time_to_restore", time_to_restore.median, time_to_restore.n, year
        ),
    }


# --- flow (instead of utilization) -----------------------------------------------------------

# Kingman's approximation needs the variability of arrivals and service; below this many
# samples a coefficient of variation says more about chance than about the team, so the
# curve uses c = 1 (the variability of a Poisson process) and the page says so.
KINGMAN_MIN_SAMPLES = 20
KINGMAN_RHOS = tuple(round(0.50 + 0.05 * i, 2) for i in range(10))  # 0.50, 0.55, … 0.95


def littles_law_wip(*, deployments: int, lead_mean_seconds: float | None) -> float | None:
    """A week's work in progress by Little's law (METRICS.md, "Flow"):
    `(deployments in the week / 7) x mean lead time in days`.

    Every deployment of the week counts; the mean lead time is that of the week's releases
    with a lead time, so None when there are none.
    """
    if lead_mean_seconds is None:
        return None
    return deployments / 7 * (lead_mean_seconds / 86_400.0)


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    """Standard deviation (of the population, NumPy's default) over mean; None for fewer than
    two values or a mean of 0."""
    if len(values) < 2:
        return None
    array = np.asarray(values, dtype=float)
    mean = float(array.mean())
    if mean == 0:
        return None
    return float(array.std()) / mean


def gaps_between(moments: Sequence[float]) -> list[float]:
    """The times between consecutive moments (seconds since any origin), in order."""
    ordered = sorted(moments)
    return [later - earlier for earlier, later in itertools.pairwise(ordered)]


def kingman_wait(*, rho: float, ca: float, cs: float, service: float) -> float:
    """Kingman's approximation of the mean waiting time in a queue:
    `W = (rho / (1 - rho)) * ((ca**2 + cs**2) / 2) * s`, in the unit of `service`."""
    if not 0 <= rho < 1:
        raise ValueError("utilization must be in [0, 1)")
    return rho / (1 - rho) * ((ca**2 + cs**2) / 2) * service


@dataclass(frozen=True)
class KingmanInputs:
    """The variability and service time behind a team's Kingman curve.

    `ca` is the coefficient of variation of the times between deployments, `cs` that of the
    lead times, `service` the mean lead time in seconds (None without lead times); a c taken
    as 1 for lack of samples has its `*_measured` False.
    """

    ca: float
    cs: float
    service: float | None
    ca_measured: bool
    cs_measured: bool
    gaps_n: int
    leads_n: int


def kingman_inputs(*, gaps: Sequence[float], leads: Sequence[float]) -> KingmanInputs:
    """Kingman's inputs from the times between deployments and the lead times (seconds) of
    the selected range: each c measured from at least KINGMAN_MIN_SAMPLES samples, else 1."""
    ca = coefficient_of_variation(gaps) if len(gaps) >= KINGMAN_MIN_SAMPLES else None
    cs = coefficient_of_variation(leads) if len(leads) >= KINGMAN_MIN_SAMPLES else None
    return KingmanInputs(
        ca=1.0 if ca is None else ca,
        cs=1.0 if cs is None else cs,
        service=sum(leads) / len(leads) if leads else None,
        ca_measured=ca is not None,
        cs_measured=cs is not None,
        gaps_n=len(gaps),
        leads_n=len(leads),
    )


def kingman_curve(
    inputs: KingmanInputs, rhos: Sequence[float] = KINGMAN_RHOS
) -> list[tuple[float, float]]:
    """(rho, waiting time in seconds) for each utilization; empty without a service time."""
    if inputs.service is None:
        return []
    return [
        (rho, kingman_wait(rho=rho, ca=inputs.ca, cs=inputs.cs, service=inputs.service))
        for rho in rhos
    ]
