"""The demo teams' focus periods: what each team concentrated on, when, and why.

Periods are placed by fractions of the demo span (1.0 = its first day) and start on Mondays,
so the story reads the same whatever span `seed_demo --weeks` asks for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from apps.focus.models import FocusKind, FocusPeriod
from apps.focus.tradeoffs import metrics_named_in
from apps.teams.models import Team

K_STAB, K_THRU, K_KNOW = FocusKind.STABILITY, FocusKind.THROUGHPUT, FocusKind.KNOWLEDGE_SHARING
ST = FocusPeriod.Status


@dataclass(frozen=True)
class FocusPlan:
    """A focus period placed by fractions of the demo span (1.0 = the first day)."""

    kind: str
    starts: float
    ends: float | None  # None: the current period
    status: str = FocusPeriod.Status.ALIGNED
    revisit_in_days: int | None = None  # relative to today; negative = overdue
    rationale: str = ""
    tradeoff: str = ""
    signals: tuple[tuple[str, str], ...] = ()


# team, kind, starts, ends (None: current), status, revisit in days (< 0: overdue), trade-off
FOCUS_TABLE: tuple[tuple[str, str, float, float | None, str, int | None, str], ...] = (
    ("payments", K_STAB, 1.0, 0.55, ST.CLOSED, None, "throughput"),
    ("payments", K_THRU, 0.55, None, ST.ALIGNED, 21, "some stability"),
    ("search", K_THRU, 0.8, 0.4, ST.CLOSED, None, "stability"),
    ("search", K_KNOW, 0.4, None, ST.PROPOSED, 14, "throughput"),
    ("mobile", K_STAB, 0.85, None, ST.ALIGNED, -10, "throughput"),
    ("platform", K_KNOW, 0.7, 0.3, ST.CLOSED, None, "throughput"),
    ("platform", K_THRU, 0.3, None, ST.ALIGNED, 28, ""),
    ("growth", K_STAB, 0.7, 0.38, ST.CLOSED, None, "throughput"),
    ("growth", K_THRU, 0.38, None, ST.ALIGNED, 10, "stability"),
    ("identity", K_STAB, 0.6, None, ST.ALIGNED, 20, "throughput"),
    ("data", K_KNOW, 0.5, None, ST.ALIGNED, 30, "throughput"),
    ("checkout", K_THRU, 0.5, None, ST.ALIGNED, 25, "stability"),
)

# The texts are plain `team/kind: text` lines rather than Python rows: they are prose, read
# and edited as such. One line a focus; a focus without a line has no signals.
RATIONALES = """
payments/stability: Two SEV1 payment outages last quarter; recover first.
payments/throughput: Stable for two months; ship the payout redesign faster.
search/throughput: The ranking experiments wait on slow releases.
search/knowledge_sharing: Only Lena can release the indexer; spread it before she goes on leave.
mobile/stability: Crash rate after the 5.0 release hurts ratings.
platform/knowledge_sharing: On-call depends on Felix for the gateway.
platform/throughput: Product teams wait on the new deploy pipeline.
growth/stability: Broken sign-up twice in a month.
growth/throughput: Quarter goal: double the experiments shipped.
identity/stability: SSO outages block every customer.
data/knowledge_sharing: Quinn is the only one who can fix the nightly load.
checkout/throughput: Promotions launch next quarter.
"""

# Success signals, `metric target` separated by semicolons, in the order they are shown.
SIGNALS = """
payments/stability: time_to_restore median < 1 h; change_failure_rate ≤ 5 %
payments/throughput: deployment_frequency ≥ 15 / week; lead_time median < 1 day
search/throughput: lead_time median < 2 days
search/knowledge_sharing: bus_factor ≥ 2 on every service
mobile/stability: change_failure_rate ≤ 10 %; time_to_restore median < 1 day
platform/knowledge_sharing: bus_factor ≥ 2
platform/throughput: deployment_frequency ≥ 20 / week
growth/stability: change_failure_rate ≤ 15 %
growth/throughput: deployment_frequency ≥ 15 / week
"""


@dataclass(frozen=True)
class Effect:
    """How a focus changed the way a team worked: factors on its deployments a week, its
    failure rate and its time to restore (apps.demo.activity draws each day with them)."""

    deploys: float = 1.0
    failures: float = 1.0
    restore: float = 1.0


# The story "did the focus work?" tells: Growth's stability focus worked (restores from
# about 8 h to about 1 h, fewer failed changes), at the cost it accepted (fewer deploys).
# Its before-window (as long as the period, just before it) lies inside the demo span.
EFFECTS: dict[str, Effect] = {
    f"growth/{K_STAB}": Effect(deploys=0.6, failures=0.3, restore=0.15),
}


def plan_days(plan: FocusPlan, *, first_day: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of a planned period (the last is today for a current one)."""
    span = (today - first_day).days

    def day_at(fraction: float) -> dt.date:
        day = today - dt.timedelta(days=round(fraction * span))
        return day - dt.timedelta(days=day.weekday())  # periods start on Mondays

    ends = day_at(plan.ends) - dt.timedelta(days=1) if plan.ends is not None else today
    return day_at(plan.starts), ends


def focus_effects(
    slug: str, plans: tuple[FocusPlan, ...], *, first_day: dt.date, today: dt.date
) -> list[tuple[dt.date, dt.date, Effect]]:
    """The days over which a team's focus changed how it worked, and how."""
    return [
        (*plan_days(plan, first_day=first_day, today=today), EFFECTS[f"{slug}/{plan.kind}"])
        for plan in plans
        if f"{slug}/{plan.kind}" in EFFECTS
    ]


def _by_focus(text: str) -> dict[str, str]:
    """`team/kind: text` lines, keyed by `team/kind`."""
    pairs = (line.split(": ", 1) for line in text.strip().splitlines())
    return {key: value for key, value in pairs}


def _signals(text: str) -> tuple[tuple[str, str], ...]:
    pairs = (signal.split(" ", 1) for signal in text.split("; ") if signal)
    return tuple((metric, target) for metric, target in pairs)


def focus_plans_for(slug: str) -> tuple[FocusPlan, ...]:
    """A named team's focus periods, oldest first."""
    rationales, signals = _by_focus(RATIONALES), _by_focus(SIGNALS)
    return tuple(
        FocusPlan(
            kind,
            starts,
            ends,
            status,
            revisit,
            rationales.get(f"{team}/{kind}", ""),
            tradeoff,
            _signals(signals.get(f"{team}/{kind}", "")),
        )
        for team, kind, starts, ends, status, revisit, tradeoff in FOCUS_TABLE
        if team == slug
    )


def focus_periods_seed(
    *,
    team: Team,
    plans: tuple[FocusPlan, ...],
    kinds: dict[str, FocusKind],
    manager: Any,
    director: Any,
    first_day: dt.date,
    today: dt.date,
) -> int:
    """Write the team's demo focus periods; returns how many were added."""
    # A team that already has focus periods keeps its history as it is: adding demo periods
    # next to it could overlap, and a later run (a later "today") would place them elsewhere.
    if FocusPeriod.objects.filter(team=team).exists():
        return 0
    rows = []
    for plan in plans:
        starts, last = plan_days(plan, first_day=first_day, today=today)
        ends = last if plan.ends is not None else None
        if ends is not None and ends < starts:
            continue
        aligned = plan.status != ST.PROPOSED
        rows.append(
            FocusPeriod(
                team=team,
                kind=kinds[plan.kind],
                starts_on=starts,
                ends_on=ends,
                rationale=plan.rationale or "Demo focus.",
                tradeoff=plan.tradeoff,
                tradeoff_metrics=metrics_named_in(plan.tradeoff),
                success_signals=[{"metric": m, "target": t} for m, t in plan.signals],
                revisit_on=(
                    today + dt.timedelta(days=plan.revisit_in_days)
                    if plan.revisit_in_days is not None
                    else None
                ),
                status=plan.status,
                proposed_by=manager,
                aligned_by=director if aligned else None,
                # When it was proposed and aligned comes with its history (apps.demo.history).
            )
        )
    FocusPeriod.objects.bulk_create(rows)
    return len(rows)
