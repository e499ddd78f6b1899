"""The demo outcomes (one organization-wide, some per team) and their weekly measurements.

Each Monday's value moves from the baseline towards the target, with noise drawn from a
generator seeded by (seed, team, outcome, Monday): a week once measured keeps its value.
A plan with `stall_weeks` stops moving for its last weeks and drifts back a little, with no
noise; with `busy_output_ensure` that makes Growth the team that is busy, not moving its
outcome (METRICS.md, "Outcome vs output"). Team outcomes ladder up to the organization's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Sum

from apps.core.records import Source
from apps.core.timezones import local_midnight, weeks_between
from apps.demo.draws import rng_for
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.outcomes.rules import windows_for
from apps.releases.models import Release
from apps.teams.models import Team

UP, DOWN = Outcome.Direction.UP, Outcome.Direction.DOWN


@dataclass(frozen=True)
class OutcomePlan:
    name: str
    unit: str
    direction: str
    baseline: float
    target: float
    progress: float  # where the latest measurement stands, 0 = baseline, 1 = target
    noise: float  # standard deviation, in units
    stall_weeks: int = 0  # the last weeks flat (drifting back a little), without noise


# team, then the outcome: name, unit, direction, baseline, target, progress, noise
OUTCOME_TABLE: tuple[tuple[str, OutcomePlan], ...] = (
    ("payments", OutcomePlan("Checkout conversion", "%", UP, 2.1, 2.6, 0.7, 0.05)),
    ("payments", OutcomePlan("Payment success rate", "%", UP, 97.2, 98.5, 0.8, 0.1)),
    ("search", OutcomePlan("Search click-through", "%", UP, 31.0, 36.0, 0.45, 0.6)),
    ("mobile", OutcomePlan("Crash-free sessions", "%", UP, 99.1, 99.7, 0.6, 0.05)),
    ("mobile", OutcomePlan("App store rating", "stars", UP, 4.1, 4.5, 0.3, 0.03)),
    ("platform", OutcomePlan("Median CI time", "min", DOWN, 18.0, 10.0, 0.5, 0.6)),
    ("growth", OutcomePlan("Weekly sign-ups", "sign-ups", UP, 1200, 1500, 0.15, 25, 7)),
    ("identity", OutcomePlan("Login success rate", "%", UP, 98.0, 99.5, 0.6, 0.1)),
    ("data", OutcomePlan("Reports delivered on time", "%", UP, 85.0, 98.0, 0.5, 1.0)),
    ("checkout", OutcomePlan("Cart abandonment", "%", DOWN, 70.0, 62.0, 0.4, 0.5)),
)

ORG_OUTCOME = OutcomePlan("Customer NPS", "points", UP, 31.0, 40.0, 0.4, 1.0)


def outcome_plans_for(slug: str) -> tuple[OutcomePlan, ...]:
    return tuple(plan for team, plan in OUTCOME_TABLE if team == slug)


BUSY_TEAM = "growth"  # busy, not moving its outcome


def outcome_seed(
    *,
    team: Team | None,
    plan: OutcomePlan,
    seed: int,
    first_day: dt.date,
    today: dt.date,
    parent: Outcome | None = None,
) -> tuple[int, int]:
    """Write the outcome and its weekly measurements; returns (outcomes, measurements) added."""
    outcome, created = Outcome.objects.get_or_create(
        team=team,
        name=plan.name,
        defaults={
            "unit": plan.unit,
            "direction": plan.direction,
            "baseline": plan.baseline,
            "target": plan.target,
            "parent": parent,
            "target_date": None if team is None else today + dt.timedelta(weeks=13),
        },
    )
    mondays = [d for d in weeks_between(first_day, today) if first_day <= d < today]
    rows = []
    stall_from = len(mondays) - plan.stall_weeks if plan.stall_weeks else len(mondays)
    held = plan.baseline
    for position, monday in enumerate(mondays):
        if position >= stall_from:  # flat, drifting back 1 % of the distance a week
            back = (plan.target - plan.baseline) * 0.01 * (position - stall_from + 1)
            value = held - back
        else:
            rng = rng_for(
                seed, "outcome", team.slug if team else "org", plan.name, monday.isoformat()
            )
            share = plan.progress * (position + 1) / len(mondays)
            value = plan.baseline + (plan.target - plan.baseline) * share + rng.gauss(0, plan.noise)
            held = value
        rows.append(OutcomeMeasurement(outcome=outcome, measured_on=monday, value=round(value, 3)))
    before = OutcomeMeasurement.objects.filter(outcome=outcome).count()
    OutcomeMeasurement.objects.bulk_create(rows, ignore_conflicts=True)
    return int(created), OutcomeMeasurement.objects.filter(outcome=outcome).count() - before


def busy_output_ensure(*, team: Team, today: dt.date, deployer: str) -> int:
    """A launch push: top up the team's releases of the last 4 full weeks so that its output
    (releases and changes) is above that of the 4 weeks before. Returns the releases added;
    none once it is (a second run adds nothing)."""
    w = windows_for(today)

    def output(first: dt.date, end: dt.date) -> tuple[int, int]:
        found = Release.objects.filter(
            team=team, deployed_at__gte=local_midnight(first), deployed_at__lt=local_midnight(end)
        ).aggregate(n=Count("id"), changes=Sum("change_count"))
        return found["n"] or 0, found["changes"] or 0

    recent, before = output(w.recent_start, w.recent_end), output(w.before_start, w.recent_start)
    missing = max(0, before[0] - recent[0] + 3)
    if recent[0] > before[0] and recent[1] > before[1]:
        return 0
    extra_changes = max(0, before[1] - recent[1]) + 12
    per_release = -(-extra_changes // missing)  # rounded up
    pushed = []
    for i in range(missing):
        day = w.recent_start + dt.timedelta(days=(i * 5) % 26)
        deployed_at = local_midnight(day) + dt.timedelta(hours=10 + i % 7)
        pushed.append(
            Release(
                team=team,
                source=Source.API,  # as the rest of the demo's releases
                external_id=f"push-{w.recent_start.isoformat()}-{i}",
                service="experiments",
                version=f"push-{day.isoformat()}.{i}",
                deployed_at=deployed_at,
                first_commit_at=deployed_at - dt.timedelta(hours=20),
                change_count=per_release,
                deployed_by=deployer,
            )
        )
    Release.objects.bulk_create(pushed, ignore_conflicts=True)
    return len(pushed)
