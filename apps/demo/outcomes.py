"""The demo outcomes (one organization-wide, some per team) and their weekly measurements.

Each Monday's value moves from the baseline towards the target, with noise drawn from a
generator seeded by (seed, team, outcome, Monday): a week once measured keeps its value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from apps.core.timezones import weeks_between
from apps.demo.draws import rng_for
from apps.outcomes.models import Outcome, OutcomeMeasurement
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


# team, then the outcome: name, unit, direction, baseline, target, progress, noise
OUTCOME_TABLE: tuple[tuple[str, OutcomePlan], ...] = (
    ("payments", OutcomePlan("Checkout conversion", "%", UP, 2.1, 2.6, 0.7, 0.05)),
    ("payments", OutcomePlan("Payment success rate", "%", UP, 97.2, 98.5, 0.8, 0.1)),
    ("search", OutcomePlan("Search click-through", "%", UP, 31.0, 36.0, 0.45, 0.6)),
    ("mobile", OutcomePlan("Crash-free sessions", "%", UP, 99.1, 99.7, 0.6, 0.05)),
    ("mobile", OutcomePlan("App store rating", "stars", UP, 4.1, 4.5, 0.3, 0.03)),
    ("platform", OutcomePlan("Median CI time", "min", DOWN, 18.0, 10.0, 0.5, 0.6)),
    ("growth", OutcomePlan("Weekly sign-ups", "sign-ups", UP, 1200, 1500, 0.0, 25)),
    ("identity", OutcomePlan("Login success rate", "%", UP, 98.0, 99.5, 0.6, 0.1)),
    ("data", OutcomePlan("Reports delivered on time", "%", UP, 85.0, 98.0, 0.5, 1.0)),
    ("checkout", OutcomePlan("Cart abandonment", "%", DOWN, 70.0, 62.0, 0.4, 0.5)),
)

ORG_OUTCOME = OutcomePlan("Customer NPS", "points", UP, 31.0, 40.0, 0.4, 1.0)


def outcome_plans_for(slug: str) -> tuple[OutcomePlan, ...]:
    return tuple(plan for team, plan in OUTCOME_TABLE if team == slug)


def outcome_seed(
    *, team: Team | None, plan: OutcomePlan, seed: int, first_day: dt.date, today: dt.date
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
        },
    )
    mondays = [d for d in weeks_between(first_day, today) if first_day <= d < today]
    rows = []
    for position, monday in enumerate(mondays):
        rng = rng_for(seed, "outcome", team.slug if team else "org", plan.name, monday.isoformat())
        share = plan.progress * (position + 1) / len(mondays)
        value = plan.baseline + (plan.target - plan.baseline) * share + rng.gauss(0, plan.noise)
        rows.append(OutcomeMeasurement(outcome=outcome, measured_on=monday, value=round(value, 3)))
    before = OutcomeMeasurement.objects.filter(outcome=outcome).count()
    OutcomeMeasurement.objects.bulk_create(rows, ignore_conflicts=True)
    return int(created), OutcomeMeasurement.objects.filter(outcome=outcome).count() - before
