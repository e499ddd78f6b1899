"""Request and response shapes of the API (they are also its OpenAPI document)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)

from apps.core import bounds
from apps.focus.evaluation import Evaluation
from apps.focus.models import FocusPeriod
from apps.incidents.models import Incident
from apps.incidents.selectors import incident_warnings
from apps.metrics.formulas import Stats, outcome_progress
from apps.metrics.selectors import WindowMetrics
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.releases.models import Release
from apps.releases.selectors import release_warnings


def _iso_text(value: Any) -> Any:
    if isinstance(value, str | dt.datetime):
        return value
    raise ValueError("Give an ISO 8601 timestamp with an offset, e.g. 2026-03-02T14:05:00+01:00.")


def _within(problem: Any) -> Any:
    """A pydantic check of one of apps.core.bounds' rules: the value, or its sentence."""

    def check(value: Any) -> Any:
        message = problem(value)
        if message is not None:
            raise ValueError(message)
        return value

    return AfterValidator(check)


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    _within(bounds.instant_problem),
    Field(
        description="ISO 8601 with an offset, e.g. 2026-03-02T14:05:00+01:00 or …Z; between "
        "1970-01-01 and 2100-01-01 UTC, with an offset within ±14:00."
    ),
]


def _row_ref(value: Any) -> Any:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ValueError("Give the other row's external_id (text) or its numeric id.")


def _iso_day(value: Any) -> Any:
    """Text of the form YYYY-MM-DD (a number is not read as a Unix time)."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError("Give a date as YYYY-MM-DD.")
    return value


Day = Annotated[
    dt.date,
    BeforeValidator(_iso_day),
    _within(bounds.day_problem),
    Field(description="YYYY-MM-DD, between 1970-01-01 and 2099-12-31."),
]
# An outcome's value, baseline or target: finite, of magnitude at most 1e12.
Number = Annotated[
    StrictFloat,
    Field(ge=-bounds.MAX_MAGNITUDE, le=bounds.MAX_MAGNITUDE, allow_inf_nan=False),
]
# A row's numeric id: a larger one than the database's bigint names no row.
RowId = Annotated[StrictInt, Field(ge=1, le=bounds.MAX_ROW_ID)]
PathId = Annotated[int, Field(ge=1, le=bounds.MAX_ROW_ID)]  # read from the path's text
# A list's paging: `offset` has a declared maximum, so it always fits the database.
Limit = Annotated[int, Field(ge=1, le=1000, description="Rows a page, at most 1000.")]
Offset = Annotated[
    int, Field(ge=0, le=bounds.MAX_LIST_OFFSET, description="Rows to skip, at most 10^9.")
]

# Another row of the same team, by its external_id (text) or its numeric id.
RowRef = Annotated[
    StrictInt | StrictStr,
    BeforeValidator(_row_ref),
    Field(description="The other row's external_id (text) or numeric id, within the same team."),
]
TeamSlug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=60,
        description="The team's slug. A team token may omit it (its own team).",
    ),
]
Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
ReleaseStatus = Literal["succeeded", "failed", "rolled_back"]
Verdict = Literal["improved", "no_clear_change", "worse", "not_enough_data"]


class In(Schema):
    """Input: unknown fields are refused, so a typo never silently drops data."""

    model_config = ConfigDict(extra="forbid")


class Error(Schema):
    detail: str
    errors: dict[str, list[str]] = Field(description="Messages per field (the API's field names).")


# --- teams -----------------------------------------------------------------------------


class TeamIn(In):
    slug: str = Field(min_length=1, max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")
    name: str = Field(min_length=1, max_length=120)
    description: str = ""


class TeamOut(Schema):
    id: int
    slug: str
    name: str
    description: str
    created_at: dt.datetime


# --- rows of another kind, referenced ----------------------------------------------------


class TeamRowOut(Schema):
    """The output of a row that belongs to a team (or to the organization): `team` is the
    team's slug (null for the organization's)."""

    @staticmethod
    def resolve_team(obj: Any) -> str | None:
        return obj.team.slug if obj.team is not None else None


class RowRefOut(Schema):
    id: int
    external_id: str | None


class RecordWarningOut(Schema):
    """A flag on a stored record: it was stored, but part of it is left out of a metric
    (README, "Imperfect records")."""

    field: str
    message: str


# --- releases --------------------------------------------------------------------------


class ReleaseIn(In):
    team: TeamSlug | None = None
    service: str = Field(min_length=1, max_length=120)
    version: str = Field(min_length=1, max_length=120)
    deployed_at: Timestamp
    status: ReleaseStatus = "succeeded"
    first_commit_at: Timestamp | None = None
    change_count: StrictInt = Field(0, ge=0, le=2_147_483_647)
    deployed_by: str | None = Field(None, max_length=150, description="A username or handle.")
    external_id: str | None = Field(
        None,
        max_length=200,
        description="Your id of this release: posting it again updates it, never duplicates.",
    )
    fixes_incident: RowRef | None = None


class ReleaseOut(TeamRowOut):
    id: int
    team: str
    service: str
    version: str
    deployed_at: dt.datetime
    status: ReleaseStatus
    failed: bool = Field(
        description="Failed status, or named as the cause of an incident (METRICS.md)."
    )
    first_commit_at: dt.datetime | None
    change_count: int
    deployed_by: str
    external_id: str | None
    source: str
    fixes_incident: RowRefOut | None
    created_at: dt.datetime
    updated_at: dt.datetime
    warnings: list[RecordWarningOut] = Field(
        description="Stored but imperfect: what is left out of which metric, and why."
    )

    @staticmethod
    def resolve_warnings(obj: Release) -> list[dict[str, str]]:
        return [flag.as_dict() for flag in release_warnings(obj)]

    @staticmethod
    def resolve_failed(obj: Release) -> bool:
        caused = getattr(obj, "caused_incident_count", None)
        if caused is None:
            caused = obj.caused_incidents.count()
        return obj.is_failed_status or caused > 0


# --- incidents -------------------------------------------------------------------------


class IncidentIn(In):
    team: TeamSlug | None = None
    title: str = Field(min_length=1, max_length=200)
    severity: Severity = "SEV3"
    started_at: Timestamp = Field(description="When the impact began (with an offset).")
    detected_at: Timestamp | None = None
    resolved_at: Timestamp | None = Field(None, description="Empty while open.")
    service: str | None = Field(None, max_length=120)
    caused_by_release: RowRef | None = None
    deploy_caused: StrictBool | None = Field(
        None,
        description="false: not caused by a deployment. With caused_by_release it may be "
        "omitted (or true).",
    )
    resolved_by: str | None = Field(None, max_length=150, description="A username or handle.")
    summary: str | None = None
    external_id: str | None = Field(
        None,
        max_length=200,
        description="Your id of this incident: posting it again updates it, never duplicates.",
    )


class IncidentOut(TeamRowOut):
    id: int
    team: str
    title: str
    severity: Severity
    service: str
    started_at: dt.datetime
    detected_at: dt.datetime | None
    resolved_at: dt.datetime | None
    is_open: bool
    cause: Literal["release", "not_deploy", "unknown"]
    deploy_caused: bool | None
    caused_by_release: RowRefOut | None
    resolved_by: str
    summary: str
    external_id: str | None
    source: str
    created_at: dt.datetime
    updated_at: dt.datetime
    warnings: list[RecordWarningOut] = Field(
        description="Stored but imperfect: what looks wrong, and what it means for the numbers."
    )

    @staticmethod
    def resolve_warnings(obj: Incident) -> list[dict[str, str]]:
        return [flag.as_dict() for flag in incident_warnings(obj)]

    @staticmethod
    def resolve_deploy_caused(obj: Incident) -> bool | None:
        return {
            Incident.Cause.RELEASE: True,
            Incident.Cause.NOT_DEPLOY: False,
        }.get(obj.cause)  # type: ignore[call-overload]

    @staticmethod
    def resolve_caused_by_release(obj: Incident) -> Release | None:
        return obj.caused_by


# --- lists -----------------------------------------------------------------------------


class WindowQuery(Schema):
    team: TeamSlug | None = None
    start: Day | None = Field(None, description="First day (inclusive), org time zone.")
    end: Day | None = Field(None, description="Day after the last (exclusive).")
    limit: Limit = 100
    offset: Offset = 0


class IncidentPage(Schema):
    count: int = Field(description="Rows matching the filters, over all pages.")
    limit: int
    offset: int
    items: list[IncidentOut]


class ReleasePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ReleaseOut]


def team_filter(omitted: str) -> Any:
    """The optional `team` of a list or an answer, saying what a request without it gets."""
    return Field(None, description=f"A team's slug. Omitted: {omitted}")


class PageQuery(Schema):
    limit: Limit = 100
    offset: Offset = 0


# --- metrics ---------------------------------------------------------------------------


class MetricsQuery(Schema):
    team: TeamSlug | None = Field(
        None, description="A team's slug; omitted: the whole organization (admin token)."
    )
    start: Day | None = Field(None, description="Default: `end` minus 90 days.")
    end: Day | None = Field(None, description="Exclusive. Default: tomorrow (org zone).")


class StatsOut(Schema):
    median: float | None
    mean: float | None
    p90: float | None
    n: int


class LevelsOut(Schema):
    deployment_frequency: str
    lead_time: str
    change_failure_rate: str
    time_to_restore: str


class MetricsFields(Schema):
    model_config = ConfigDict(extra="allow")

    deployments: int
    failed_deployments: int
    rework_deployments: int | None = Field(None, description="Releases fixing an incident.")
    change_count: int | None = Field(None, description="Output: the releases' change counts.")
    incidents: int | None = Field(None, description="Incidents that started in the window.")
    change_failure_rate: float | None
    deployment_frequency_per_week: float | None
    rework_rate: float | None
    open_incidents: int
    time_to_restore_seconds: StatsOut
    failed_deployment_recovery_seconds: StatsOut
    lead_time_seconds: StatsOut
    bus_factor: int | None

    # Read from apps.metrics.selectors.WindowMetrics.

    @staticmethod
    def resolve_time_to_restore_seconds(obj: WindowMetrics) -> Stats:
        return obj.time_to_restore

    @staticmethod
    def resolve_failed_deployment_recovery_seconds(obj: WindowMetrics) -> Stats:
        return obj.failed_deployment_recovery

    @staticmethod
    def resolve_lead_time_seconds(obj: WindowMetrics) -> Stats:
        return obj.lead_time

    @staticmethod
    def resolve_computed_at(obj: WindowMetrics) -> dt.datetime | None:
        """In UTC, to the second."""
        moment: dt.datetime | None = obj.computed_at
        return None if moment is None else moment.astimezone(dt.UTC).replace(microsecond=0)


class WeekHead(Schema):
    week_start: dt.date = Field(description="Monday of the ISO week (org time zone).")

    @staticmethod
    def resolve_week_start(obj: WindowMetrics) -> dt.date:
        return obj.start


class WeekOut(MetricsFields, WeekHead):
    computed_at: dt.datetime | None = None
    levels: LevelsOut | None = None


class WindowHead(Schema):
    team: str | None = Field(description="The team's slug; null for the organization.")
    start: dt.date
    end: dt.date
    computed_at: dt.datetime = Field(description="When this answer was computed.")


class WindowMetricsOut(MetricsFields, WindowHead):
    levels: LevelsOut


class MetricsOut(WindowMetricsOut):
    weeks: list[WeekOut] = Field(description="The window's ISO weeks, from the rollups.")


# --- outcomes --------------------------------------------------------------------------


class OutcomeIn(In):
    team: TeamSlug | None = Field(
        None, description="The team's slug; omitted: an organization-wide outcome (admin token)."
    )
    name: str = Field(min_length=1, max_length=160)
    unit: str = Field("", max_length=40)
    direction: Literal["up", "down"] = Field("up", description="Which way is better.")
    baseline: Number
    target: Number
    target_date: Day | None = Field(None, description="When the target should be reached.")
    parent: RowId | None = Field(
        None,
        description="The id of the organization-wide outcome a team outcome ladders up to.",
    )


class MeasurementIn(In):
    measured_on: Day
    value: Number


class MeasurementOut(Schema):
    outcome: int
    measured_on: dt.date
    value: float
    progress: float | None = Field(
        description="(value - baseline) / (target - baseline): 1.0 is the target reached."
    )

    @staticmethod
    def resolve_outcome(obj: OutcomeMeasurement) -> int:
        return obj.outcome_id

    @staticmethod
    def resolve_progress(obj: OutcomeMeasurement) -> float | None:
        return outcome_progress(
            value=obj.value, baseline=obj.outcome.baseline, target=obj.outcome.target
        )


class OutcomeOut(TeamRowOut):
    id: int
    team: str | None = Field(description="The team's slug; null for the organization.")
    name: str
    unit: str
    direction: Literal["up", "down"]
    baseline: float
    target: float
    target_date: dt.date | None = Field(description="When the target should be reached.")
    parent: int | None = Field(
        description="The id of the organization-wide outcome it ladders up to."
    )
    progress: float | None = Field(description="Progress of the latest measurement.")
    latest: MeasurementOut | None
    measurements: list[MeasurementOut] = Field(description="Oldest first.")
    created_at: dt.datetime

    @staticmethod
    def resolve_parent(obj: Outcome) -> int | None:
        return obj.parent_id

    @staticmethod
    def resolve_measurements(obj: Outcome) -> list[OutcomeMeasurement]:
        rows = sorted(obj.measurements.all(), key=lambda m: m.measured_on)
        for row in rows:
            row.outcome = obj  # progress needs the outcome; no query per row
        return rows

    @staticmethod
    def resolve_latest(obj: Outcome) -> OutcomeMeasurement | None:
        rows = OutcomeOut.resolve_measurements(obj)
        return rows[-1] if rows else None

    @staticmethod
    def resolve_progress(obj: Outcome) -> float | None:
        latest = OutcomeOut.resolve_latest(obj)
        return MeasurementOut.resolve_progress(latest) if latest else None


# --- focus periods ---------------------------------------------------------------------


class SuccessSignal(In):
    metric: str = Field(
        min_length=1, max_length=80, description="A metric of METRICS.md, e.g. time_to_restore."
    )
    comparator: Literal["<", "<=", ">", ">="] | None = Field(
        None, description='Omitted: read from the target ("< 4 h").'
    )
    target: str = Field(
        min_length=1,
        max_length=200,
        description='A number in the metric\'s unit (h, %, per week, a count), e.g. "4 h".',
    )


class FocusPeriodIn(In):
    team: TeamSlug
    kind: str = Field(
        min_length=1,
        max_length=40,
        description="stability, throughput, knowledge_sharing, or a kind an admin added.",
    )
    starts_on: Day
    ends_on: Day | None = Field(None, description="Last day (inclusive); empty: current.")
    rationale: str = Field(min_length=1)
    revisit_on: Day | None = None
    tradeoff: str = Field(
        "",
        max_length=200,
        description="Why the team accepts that the trade-off metrics may get worse.",
    )
    tradeoff_metrics: list[str] = Field(
        default_factory=list,
        description='The metrics that may get worse meanwhile, e.g. ["deployment_frequency"].',
    )
    success_signals: list[SuccessSignal] = Field(
        default_factory=list, description="Signals that will show it worked."
    )


class WindowOut(Schema):
    start: dt.date
    end: dt.date = Field(description="Exclusive.")


class MetricChangeOut(Schema):
    metric: str
    better: Literal["lower", "higher"]
    before: float | None
    during: float | None
    n_before: int
    n_during: int
    change: float | None = Field(description="during - before")
    interval: list[float] | None = Field(description="Uncertainty interval of the change.")
    confidence: float | None
    method: str
    verdict: Verdict


class EvaluationOut(Schema):
    verdict: Verdict
    before: WindowOut | None = Field(description="The equally long window just before.")
    during: WindowOut | None = Field(description="The period so far.")
    metrics: list[MetricChangeOut]
    note: str


@dataclass(frozen=True)
class EvaluatedPeriod:
    """A focus period (with its team, kind and aligned_by) and its evaluation, computed
    for a whole page at once (`focus_evaluate_many`)."""

    period: FocusPeriod
    evaluation: Evaluation

    def __getattr__(self, name: str) -> Any:
        return getattr(self.period, name)


class FocusPeriodOut(TeamRowOut):
    id: int
    team: str
    kind: str
    kind_name: str
    starts_on: dt.date
    ends_on: dt.date | None
    status: Literal["proposed", "sent_back", "aligned", "closed"]
    rationale: str
    tradeoff: str
    tradeoff_metrics: list[str]
    success_signals: list[dict[str, Any]]
    revisit_on: dt.date | None
    aligned_by: str | None
    aligned_at: dt.datetime | None
    created_at: dt.datetime
    evaluation: EvaluationOut

    @staticmethod
    def resolve_kind(obj: FocusPeriod) -> str:
        return obj.kind.slug

    @staticmethod
    def resolve_kind_name(obj: FocusPeriod) -> str:
        return obj.kind.name

    @staticmethod
    def resolve_aligned_by(obj: FocusPeriod) -> str | None:
        return obj.aligned_by.get_username() if obj.aligned_by else None

    @staticmethod
    def resolve_evaluation(obj: EvaluatedPeriod) -> dict[str, Any]:
        return obj.evaluation.as_dict()


class FocusPeriodPage(Schema):
    count: int = Field(description="Periods matching the filters, over all pages.")
    limit: int
    offset: int
    items: list[FocusPeriodOut]
