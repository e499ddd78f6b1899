"""Writes of outcomes (the KPIs a team exists to move) and their measurements.

Every write refreshes the outcome's stored progress in the same transaction and, for a team's
outcome, marks the team's current week dirty: the worker then recomputes the team and, with
it, the team's "busy, not moving" flag (`apps/outcomes/answers.py`); in-process when there
is no broker.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.core import bounds
from apps.core.timezones import org_tz
from apps.metrics.services import buckets_mark_dirty
from apps.outcomes.answers import outcome_status_refresh
from apps.outcomes.csv_text import CsvLine, measurement_lines_parse
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.teams.models import Team


def _today() -> dt.date:
    return dt.datetime.now(tz=org_tz()).date()


def _validate(
    *,
    team: Team | None,
    name: str,
    baseline: float,
    target: float,
    direction: str,
    parent: Outcome | None,
    outcome: Outcome | None = None,
) -> None:
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Name the outcome."]
    if direction not in Outcome.Direction.values:
        errors["direction"] = [f"Must be one of {', '.join(Outcome.Direction.values)}."]
    for field_name, value in (("baseline", baseline), ("target", target)):
        if not math.isfinite(value):
            errors[field_name] = ["Must be a finite number."]
    if "baseline" not in errors and "target" not in errors and baseline == target:
        errors["target"] = ["The target must differ from the baseline."]
    elif not errors and (
        target < baseline if direction == Outcome.Direction.UP else target > baseline
    ):
        better = "above" if direction == Outcome.Direction.UP else "below"
        errors["target"] = [
            f"With direction '{direction}' the target must be {better} the baseline."
        ]
    if parent is not None:
        if team is None:
            errors["parent"] = ["An organization-wide outcome does not ladder up to another one."]
        elif parent.team_id is not None:
            errors["parent"] = ["A team outcome ladders up to an organization-wide outcome only."]
        elif outcome is not None and parent.pk == outcome.pk:
            errors["parent"] = ["An outcome cannot ladder up to itself."]
    if errors:
        raise ValidationError(errors)


def _after_write(outcome: Outcome) -> None:
    """Refresh the outcome's stored progress now; have the worker refresh its team's flag."""
    outcome_status_refresh(outcome=outcome)
    if outcome.team_id is not None:
        today = _today()
        buckets_mark_dirty(
            team_id=outcome.team_id, weeks=[today - dt.timedelta(days=today.weekday())]
        )


@transaction.atomic
def outcome_create(
    *,
    team: Team | None,
    name: str,
    baseline: float,
    target: float,
    unit: str = "",
    direction: str = Outcome.Direction.UP,
    target_date: dt.date | None = None,
    parent: Outcome | None = None,
) -> Outcome:
    """Create an outcome of a team, or of the whole organization (`team=None`). A team
    outcome may ladder up to an organization-wide one (`parent`)."""
    _validate(
        team=team, name=name, baseline=baseline, target=target, direction=direction, parent=parent
    )
    outcome = Outcome(
        team=team,
        name=name.strip(),
        unit=unit.strip(),
        direction=direction,
        baseline=baseline,
        target=target,
        target_date=target_date,
        parent=parent,
    )
    outcome.full_clean(exclude=["team", "parent"], validate_constraints=False)
    outcome.save()
    _after_write(outcome)
    return outcome


@transaction.atomic
def outcome_update(
    *,
    outcome: Outcome,
    name: str,
    baseline: float,
    target: float,
    unit: str = "",
    direction: str = Outcome.Direction.UP,
    target_date: dt.date | None = None,
    parent: Outcome | None = None,
) -> Outcome:
    """Change what an outcome is (its team stays). Its measurements stay; their progress
    follows the new baseline and target."""
    _validate(
        team=outcome.team,
        name=name,
        baseline=baseline,
        target=target,
        direction=direction,
        parent=parent,
        outcome=outcome,
    )
    if outcome.team_id is None and outcome.children.exists() and parent is not None:
        raise ValidationError({"parent": ["Team outcomes ladder up to this one."]})
    outcome.name = name.strip()
    outcome.unit = unit.strip()
    outcome.direction = direction
    outcome.baseline = baseline
    outcome.target = target
    outcome.target_date = target_date
    outcome.parent = parent
    outcome.full_clean(exclude=["team", "parent"], validate_constraints=False)
    outcome.save()
    _after_write(outcome)
    return outcome


def _check_measurement(measured_on: dt.date, value: float) -> None:
    errors: dict[str, list[str]] = {}
    if (problem := bounds.number_problem(value)) is not None:
        errors["value"] = [problem]
    today = _today()
    if (problem := bounds.day_problem(measured_on)) is not None:
        errors["measured_on"] = [problem]
    elif measured_on > today:
        errors["measured_on"] = [f"Cannot be after today ({today.isoformat()})."]
    if errors:
        raise ValidationError(errors)


def outcome_measurement_record(
    *, outcome: Outcome, measured_on: dt.date, value: float
) -> tuple[OutcomeMeasurement, bool]:
    """Record the outcome's value on a day; the same day again updates it.

    Returns the measurement and whether it was created.
    """
    _check_measurement(measured_on, value)
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
                    created = False
                else:
                    measurement = OutcomeMeasurement.objects.create(
                        outcome=outcome, measured_on=measured_on, value=value
                    )
                    created = True
                _after_write(outcome)
                return measurement, created
        except IntegrityError:  # the same day was recorded concurrently: update it
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class CsvImport:
    """The preview of a paste, or what importing it did: every line with its error ("" when
    fine), the value each date already has (a line on such a date replaces it), and the
    counts once imported."""

    lines: list[CsvLine]
    existing: dict[dt.date, float] = field(default_factory=dict)
    imported: bool = False
    created: int = 0
    updated: int = 0

    @property
    def errors(self) -> list[CsvLine]:
        return [line for line in self.lines if line.error]

    @property
    def ok(self) -> bool:
        return bool(self.lines) and not self.errors

    @property
    def problem(self) -> str:
        """What stops the import, in a sentence ("" when nothing does)."""
        if not self.lines:
            return "Paste at least one line: a date and a value, such as 2026-03-02,41.5."
        bad = len(self.errors)
        if bad:
            return (
                f"{bad} of {len(self.lines)} line{'' if len(self.lines) == 1 else 's'} "
                f"{'needs' if bad == 1 else 'need'} fixing; nothing was imported."
            )
        return ""


def outcome_measurements_import_csv_text(
    *, outcome: Outcome, text: str, commit: bool = True
) -> CsvImport:
    """Parse pasted `date,value` lines (see `csv_text`) and, when `commit` and every line is
    fine, record them all in one transaction (a date already measured is updated). With a
    bad line, or `commit=False`, nothing is written: the result is the preview."""
    lines = measurement_lines_parse(text, today=_today())
    days = [line.measured_on for line in lines if line.measured_on is not None]
    existing = dict(
        OutcomeMeasurement.objects.filter(outcome=outcome, measured_on__in=days).values_list(
            "measured_on", "value"
        )
    )
    result = CsvImport(lines=lines, existing=existing)
    if not commit or not result.ok:
        return result
    rows = [
        OutcomeMeasurement(outcome=outcome, measured_on=line.measured_on, value=line.value)
        for line in lines
        if line.measured_on is not None and line.value is not None
    ]
    with transaction.atomic():
        before = set(
            OutcomeMeasurement.objects.filter(
                outcome=outcome, measured_on__in=[r.measured_on for r in rows]
            ).values_list("measured_on", flat=True)
        )
        OutcomeMeasurement.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["outcome", "measured_on"],
            update_fields=["value"],
        )
        _after_write(outcome)
    result.imported = True
    result.updated = len(before)
    result.created = len(rows) - len(before)
    return result
