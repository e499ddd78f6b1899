"""Writes of outcomes (the KPIs a team exists to move) and their measurements."""

from __future__ import annotations

import datetime as dt
import math

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.core.timezones import org_tz
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.teams.models import Team


@transaction.atomic
def outcome_create(
    *,
    team: Team | None,
    name: str,
    baseline: float,
    target: float,
    unit: str = "",
    direction: str = Outcome.Direction.UP,
) -> Outcome:
    """Create an outcome of a team, or of the whole organization (`team=None`)."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Name the outcome."]
    if direction not in Outcome.Direction.values:
        errors["direction"] = [f"Must be one of {', '.join(Outcome.Direction.values)}."]
    for field, value in (("baseline", baseline), ("target", target)):
        if not math.isfinite(value):
            errors[field] = ["Must be a finite number."]
    if "baseline" not in errors and "target" not in errors and baseline == target:
        errors["target"] = ["The target must differ from the baseline."]
    elif not errors and (
        target < baseline if direction == Outcome.Direction.UP else target > baseline
    ):
        better = "above" if direction == Outcome.Direction.UP else "below"
        errors["target"] = [
            f"With direction '{direction}' the target must be {better} the baseline."
        ]
    if errors:
        raise ValidationError(errors)
    outcome = Outcome(
        team=team,
        name=name.strip(),
        unit=unit.strip(),
        direction=direction,
        baseline=baseline,
        target=target,
    )
    outcome.full_clean(exclude=["team"], validate_constraints=False)
    outcome.save()
    return outcome


def outcome_measurement_record(
    *, outcome: Outcome, measured_on: dt.date, value: float
) -> tuple[OutcomeMeasurement, bool]:
    """Record the outcome's value on a day; the same day again updates it.

    Returns the measurement and whether it was created.
    """
    errors: dict[str, list[str]] = {}
    if not math.isfinite(value):
        errors["value"] = ["Must be a finite number."]
    today = dt.datetime.now(tz=org_tz()).date()
    if measured_on > today:
        errors["measured_on"] = [f"Cannot be after today ({today.isoformat()})."]
    if errors:
        raise ValidationError(errors)
    for attempt in range(2):
        try:
            with transaction.atomic():
                measurement = (
                    OutcomeMeasurement.objects.select_for_update(of=("self",))
                    .filter(outcome=outcome, measured_on=measured_on)
                    .order_by()
                    .first()
                )
                if measurement is not None:
                    measurement.value = value
                    measurement.save(update_fields=["value"])
                    return measurement, False
                return (
                    OutcomeMeasurement.objects.create(
                        outcome=outcome, measured_on=measured_on, value=value
                    ),
                    True,
                )
        except IntegrityError:  # the same day was recorded concurrently: update it
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
