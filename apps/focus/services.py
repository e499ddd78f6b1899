"""Writes of focus periods: propose, edit, send back, align, revisit (keep / change / close).

- Periods of one team never overlap. PostgreSQL enforces it with an exclusion constraint;
  these services check it first on every database so the person gets a message naming the
  period it overlaps, and lock the team's row so two concurrent proposals cannot both pass
  the check on SQLite.
- Nothing is overwritten without a trace: every lifecycle step writes its FocusEvent (who,
  when, the note, what changed) in the same transaction as the change itself.
- A transition re-reads the period under a row lock, so two admins aligning and sending back
  the same proposal at once cannot both win: the second sees the first's status and is
  refused in words.

Who may call which step (managers of the team and admins propose and revisit, only admins
align) is checked by the views, as for every other write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.core import bounds
from apps.focus.catalog import METRICS, metric_label, signal_parse
from apps.focus.evaluations import focus_evaluations_refresh_on_commit
from apps.focus.models import FocusEvent, FocusKind, FocusPeriod
from apps.teams.models import Team

REVISIT_AFTER = dt.timedelta(weeks=4)
Status = FocusPeriod.Status
EventKind = FocusEvent.Kind
# The fields a proposal sets and an edit may change, in the order the history shows them.
PROPOSAL_FIELDS = (
    "kind",
    "starts_on",
    "ends_on",
    "rationale",
    "success_signals",
    "tradeoff_metrics",
    "tradeoff",
    "revisit_on",
)


def overlapping_periods(
    *, team: Team, starts_on: dt.date, ends_on: dt.date | None, exclude_id: int | None = None
) -> QuerySet[FocusPeriod]:
    qs = FocusPeriod.objects.filter(team=team).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on)
    )
    if ends_on is not None:
        qs = qs.filter(starts_on__lte=ends_on)
    if exclude_id is not None:
        qs = qs.exclude(id=exclude_id)
    return qs.select_related("kind").order_by("starts_on", "id")


BUILTIN_KINDS = (
    (
        FocusKind.STABILITY,
        "Stability",
        "Recover fast and fail less: time to restore, change failure rate.",
    ),
    (FocusKind.THROUGHPUT, "Throughput", "Ship more often with shorter lead times."),
    (
        FocusKind.KNOWLEDGE_SHARING,
        "Knowledge sharing",
        "Spread the work so no service depends on one person.",
    ),
)


def focus_kinds_ensure_builtin() -> dict[str, FocusKind]:
    """The built-in kinds (a data migration creates them; this repairs a flushed table)."""
    kinds = {kind.slug: kind for kind in FocusKind.objects.all()}
    for slug, name, description in BUILTIN_KINDS:
        if slug not in kinds:
            kinds[slug], _ = FocusKind.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description, "builtin": True}
            )
    return kinds


def overlap_message(other: FocusPeriod) -> str:
    until = other.ends_on.isoformat() if other.ends_on else "open-ended"
    return (
        f"Overlaps the {other.kind.name.lower()} focus "
        f"{other.starts_on.isoformat()} – {until} (id {other.id})."
    )


class FocusOverlapError(ValidationError):
    """The proposal overlaps `other`. `errors` may carry the proposal's other field errors,
    so a form shows every problem at once."""

    def __init__(self, other: FocusPeriod, errors: dict[str, list[str]] | None = None) -> None:
        self.other = other
        merged = {field: list(messages) for field, messages in (errors or {}).items()}
        merged.setdefault("starts_on", []).append(overlap_message(other))
        super().__init__(merged)


def default_revisit_on(starts_on: dt.date) -> dt.date:
    """Four weeks after the start: long enough to see a change, short enough to steer
    (and never past the last day the bounds allow)."""
    return min(starts_on, bounds.LAST_DAY - REVISIT_AFTER) + REVISIT_AFTER


def _today() -> dt.date:
    return timezone.localdate()


def _clean_signals(raw: Iterable[dict[str, Any]] | None, errors: dict[str, list[str]]) -> list:
    signals: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for number, item in enumerate(raw or [], start=1):
        signal, problems = signal_parse(item if isinstance(item, dict) else {})
        if problems:
            errors.setdefault("success_signals", []).append(
                f"Signal {number}: {'; '.join(problems)}."
            )
            continue
        assert signal is not None
        key = (signal["metric"], signal["comparator"])
        if key in seen:
            errors.setdefault("success_signals", []).append(
                f"Signal {number}: {metric_label(signal['metric'])} "
                f"{signal['comparator']} is given twice."
            )
            continue
        seen.add(key)
        signals.append(signal)
    return signals


def _clean_tradeoff(
    metrics: Iterable[str] | None,
    reason: str,
    signals: list[dict[str, Any]],
    errors: dict[str, list[str]],
) -> list[str]:
    chosen: list[str] = []
    for metric in metrics or []:
        if metric not in METRICS:
            errors.setdefault("tradeoff_metrics", []).append(
                f"“{metric}” is not one of the metrics ({', '.join(METRICS)})."
            )
        elif metric not in chosen:
            chosen.append(metric)
    targeted = {s["metric"] for s in signals}
    for metric in chosen:
        if metric in targeted:
            errors.setdefault("tradeoff_metrics", []).append(
                f"{metric_label(metric)} is a success signal; it cannot also be what the "
                "team lets get worse."
            )
    if chosen and not reason.strip():
        errors.setdefault("tradeoff", []).append(
            "Say in a sentence why the team accepts that these may get worse."
        )
    if len(reason) > 200:
        errors.setdefault("tradeoff", []).append("Keep it to 200 characters.")
    return [m for m in METRICS if m in chosen]  # the catalogue's order, whatever was typed


def focus_period_validate(
    *, team: Team, data: dict[str, Any], exclude_id: int | None = None
) -> dict[str, Any]:
    """The proposal's fields cleaned (signals normalized, revisit date defaulted), or a
    ValidationError naming each bad field. An overlap raises FocusOverlapError, carrying the
    other field errors too. `data` holds the PROPOSAL_FIELDS (kind as a FocusKind)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    kind = data.get("kind")
    starts_on: dt.date | None = data.get("starts_on")
    ends_on: dt.date | None = data.get("ends_on")
    revisit_on: dt.date | None = data.get("revisit_on")
    rationale = (data.get("rationale") or "").strip()
    if not isinstance(kind, FocusKind):
        add("kind", "Choose what the team focuses on.")
    for name, day in (("starts_on", starts_on), ("ends_on", ends_on), ("revisit_on", revisit_on)):
        if day is not None and (problem := bounds.day_problem(day)) is not None:
            add(name, problem)
    if starts_on is None:
        add("starts_on", "Say when the period starts.")
    elif "starts_on" not in errors:
        if ends_on is not None and ends_on < starts_on:
            add("ends_on", "The period cannot end before it starts.")
        if revisit_on is None:
            revisit_on = default_revisit_on(starts_on)
        elif revisit_on < starts_on:
            add("revisit_on", "The revisit date must be on or after the start.")
    if not rationale:
        add("rationale", "Say why the team chose this focus.")
    signals = _clean_signals(data.get("success_signals"), errors)
    reason = (data.get("tradeoff") or "").strip()
    tradeoff_metrics = _clean_tradeoff(data.get("tradeoff_metrics"), reason, signals, errors)
    other = None
    if starts_on is not None and not {"starts_on", "ends_on"} & set(errors):
        other = overlapping_periods(
            team=team, starts_on=starts_on, ends_on=ends_on, exclude_id=exclude_id
        ).first()
    if other is not None:
        raise FocusOverlapError(other, errors)
    if errors:
        raise ValidationError(errors)
    return {
        "kind": kind,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "rationale": rationale,
        "success_signals": signals,
        "tradeoff_metrics": tradeoff_metrics,
        "tradeoff": reason,
        "revisit_on": revisit_on,
    }


# --- history ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A field value as the history stores it (JSON)."""
    if isinstance(value, FocusKind):
        return value.slug
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _snapshot(period: FocusPeriod, fields: Iterable[str] = PROPOSAL_FIELDS) -> dict[str, Any]:
    return {name: _plain(getattr(period, name)) for name in fields}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _record(
    period: FocusPeriod,
    kind: str,
    *,
    actor: Any,
    note: str = "",
    changes: dict[str, Any] | None = None,
) -> FocusEvent:
    return FocusEvent.objects.create(
        period=period,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note.strip(),
        changes=changes or {},
    )


def _locked(period: FocusPeriod) -> FocusPeriod:
    """The period's current row, locked until the transaction ends."""
    return FocusPeriod.objects.select_for_update().select_related("kind", "team").get(pk=period.pk)


def _refuse(period: FocusPeriod, action: str, allowed: str) -> ValidationError:
    return ValidationError(
        {
            "status": [
                f"This period is {period.get_status_display().lower()}; "
                f"only {allowed} period can be {action}."
            ]
        }
    )


def _save_guarding_overlap(period: FocusPeriod, **save_kwargs: Any) -> None:
    try:
        with transaction.atomic():
            period.save(**save_kwargs)
    except IntegrityError as exc:  # the exclusion constraint on PostgreSQL
        other = overlapping_periods(
            team=period.team,
            starts_on=period.starts_on,
            ends_on=period.ends_on,
            exclude_id=period.pk,
        ).first()
        if other is not None:
            raise FocusOverlapError(other) from exc
        raise
    # Its "did it work" answer follows its dates, kind and trade-off (apps.focus.evaluations).
    focus_evaluations_refresh_on_commit(team_id=period.team_id)


# --- the lifecycle ---------------------------------------------------------------------


@transaction.atomic
def focus_period_propose(
    *,
    team: Team,
    kind: FocusKind,
    starts_on: dt.date,
    rationale: str,
    proposed_by: Any = None,
    ends_on: dt.date | None = None,
    revisit_on: dt.date | None = None,
    success_signals: list[dict[str, Any]] | None = None,
    tradeoff_metrics: list[str] | None = None,
    tradeoff: str = "",
    note: str = "",
) -> FocusPeriod:
    """A new period, waiting for an admin's sign-off; its history starts with `proposed`."""
    data = {
        "kind": kind,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "rationale": rationale,
        "revisit_on": revisit_on,
        "success_signals": success_signals,
        "tradeoff_metrics": tradeoff_metrics,
        "tradeoff": tradeoff,
    }
    # Serialize proposals for one team (SQLite has no exclusion constraint).
    Team.objects.select_for_update().filter(id=team.id).first()
    cleaned = focus_period_validate(team=team, data=data)
    period = FocusPeriod(
        team=team,
        status=Status.PROPOSED,
        proposed_by=proposed_by if getattr(proposed_by, "pk", None) else None,
        proposed_at=timezone.now(),
        **cleaned,
    )
    _save_guarding_overlap(period)
    _record(
        period,
        EventKind.PROPOSED,
        actor=proposed_by,
        note=note,
        changes=_diff({}, _snapshot(period)),
    )
    return period


def focus_period_create(**kwargs: Any) -> FocusPeriod:
    """The earlier name of `focus_period_propose`, kept for callers that use it."""
    return focus_period_propose(**kwargs)


@transaction.atomic
def focus_period_edit(
    *, period: FocusPeriod, actor: Any, note: str = "", **fields: Any
) -> FocusPeriod:
    """Change a proposal before its sign-off. A sent-back period edited this way is
    proposed again (history: `edited`, then `proposed`). `fields` are PROPOSAL_FIELDS;
    the ones left out keep their values."""
    unknown = set(fields) - set(PROPOSAL_FIELDS)
    if unknown:
        raise TypeError(f"focus_period_edit got unknown fields: {sorted(unknown)}")
    Team.objects.select_for_update().filter(id=period.team_id).first()
    fresh = _locked(period)
    if fresh.status not in (Status.PROPOSED, Status.SENT_BACK):
        raise _refuse(fresh, "edited", "a proposed or sent-back")
    before = _snapshot(fresh)
    data = {name: getattr(fresh, name) for name in PROPOSAL_FIELDS} | fields
    cleaned = focus_period_validate(team=fresh.team, data=data, exclude_id=fresh.pk)
    for name, value in cleaned.items():
        setattr(fresh, name, value)
    changes = _diff(before, _snapshot(fresh))
    was_sent_back = fresh.status == Status.SENT_BACK
    if was_sent_back:
        fresh.status = Status.PROPOSED
        fresh.proposed_at = timezone.now()
    if not changes and not was_sent_back:
        return fresh
    _save_guarding_overlap(fresh)
    if changes:
        _record(fresh, EventKind.EDITED, actor=actor, note=note, changes=changes)
    if was_sent_back:
        _record(
            fresh,
            EventKind.PROPOSED,
            actor=actor,
            note="" if changes else note,
            changes={"status": [Status.SENT_BACK, Status.PROPOSED]},
        )
    period.refresh_from_db()
    return fresh


def _proposal_locked(period: FocusPeriod, action: str) -> FocusPeriod:
    """The proposal's current row, locked: an admin answers a proposed period only."""
    fresh = _locked(period)
    if fresh.status != Status.PROPOSED:
        raise _refuse(fresh, action, "a proposed")
    return fresh


def _answered(
    period: FocusPeriod,
    fresh: FocusPeriod,
    kind: str,
    *,
    actor: Any,
    note: str,
    also: tuple[str, ...] = (),
) -> FocusPeriod:
    """Save an admin's answer to the proposal `fresh` (its new status and the fields in
    `also`) and record `kind` in its history."""
    fresh.save(update_fields=["status", *also])
    _record(
        fresh, kind, actor=actor, note=note, changes={"status": [Status.PROPOSED, fresh.status]}
    )
    period.refresh_from_db()
    return fresh


@transaction.atomic
def focus_period_send_back(*, period: FocusPeriod, actor: Any, note: str) -> FocusPeriod:
    """An admin returns a proposal with a comment the manager sees."""
    if not note.strip():
        raise ValidationError({"note": ["Say what should change, so the manager can fix it."]})
    fresh = _proposal_locked(period, "sent back")
    fresh.status = Status.SENT_BACK
    return _answered(period, fresh, EventKind.SENT_BACK, actor=actor, note=note)


@transaction.atomic
def focus_period_align(*, period: FocusPeriod, aligned_by: Any, note: str = "") -> FocusPeriod:
    """An admin signs the proposal off: who and when are recorded."""
    fresh = _proposal_locked(period, "aligned")
    fresh.status = Status.ALIGNED
    fresh.aligned_by = aligned_by if getattr(aligned_by, "pk", None) else None
    fresh.aligned_at = timezone.now()
    return _answered(
        period,
        fresh,
        EventKind.ALIGNED,
        actor=aligned_by,
        note=note,
        also=("aligned_by", "aligned_at"),
    )


Decision = Literal["keep", "change", "close"]
DECISIONS: dict[str, str] = {
    "keep": "Keep it, and revisit again later",
    "change": "Change it: end it today and propose a new focus",
    "close": "Close it: end it today",
}


@dataclass(frozen=True)
class RevisitResult:
    period: FocusPeriod
    # With "change": the new proposal's fields, prefilled from this period, starting tomorrow.
    proposal: dict[str, Any] | None = None


def _end_today(period: FocusPeriod, today: dt.date) -> dict[str, list[Any]]:
    ends_on = today if period.ends_on is None else min(period.ends_on, today)
    if ends_on < period.starts_on:
        raise ValidationError(
            {
                "decision": [
                    f"The period starts on {period.starts_on.isoformat()}; it cannot end "
                    "before it starts. Keep it, or ask an admin to remove it."
                ]
            }
        )
    changes = {
        "ends_on": [_plain(period.ends_on), ends_on.isoformat()],
        "status": [period.status, Status.CLOSED],
    }
    period.ends_on = ends_on
    period.status = Status.CLOSED
    period.save(update_fields=["ends_on", "status"])
    focus_evaluations_refresh_on_commit(team_id=period.team_id)
    return changes


def focus_proposal_from(period: FocusPeriod, *, starts_on: dt.date) -> dict[str, Any]:
    """A new proposal's fields prefilled from `period` (after "change"), starting on
    `starts_on`, open-ended, with the default revisit date."""
    return {
        "kind": period.kind,
        "starts_on": starts_on,
        "ends_on": None,
        "rationale": period.rationale,
        "success_signals": list(period.success_signals),
        "tradeoff_metrics": list(period.tradeoff_metrics),
        "tradeoff": period.tradeoff,
        "revisit_on": default_revisit_on(starts_on),
    }


@transaction.atomic
def focus_period_revisit(
    *,
    period: FocusPeriod,
    actor: Any,
    decision: str,
    note: str,
    revisit_on: dt.date | None = None,
    today: dt.date | None = None,
) -> RevisitResult:
    """Decide about an aligned period: keep it (with a new revisit date), change it (it ends
    today; a new proposal prefilled from it is returned, not saved), or close it (it ends
    today). Each decision carries a note."""
    today = today or _today()
    errors: dict[str, list[str]] = {}
    if decision not in DECISIONS:
        errors["decision"] = ["Choose keep, change or close."]
    if not note.strip():
        errors["note"] = ["Say in a sentence why, for whoever reads the history later."]
    if decision == "keep":
        if revisit_on is None:
            errors["revisit_on"] = ["Give the next revisit date."]
        elif revisit_on <= today:
            errors["revisit_on"] = ["The next revisit date must be after today."]
    if errors:
        raise ValidationError(errors)
    fresh = _locked(period)
    if fresh.status != Status.ALIGNED:
        raise _refuse(fresh, "revisited", "an aligned")
    proposal = None
    if decision == "keep":
        assert revisit_on is not None
        changes = {"revisit_on": [_plain(fresh.revisit_on), revisit_on.isoformat()]}
        fresh.revisit_on = revisit_on
        fresh.save(update_fields=["revisit_on"])
        _record(fresh, EventKind.REVISITED_KEEP, actor=actor, note=note, changes=changes)
    elif decision == "change":
        changes = _end_today(fresh, today)
        _record(fresh, EventKind.REVISITED_CHANGE, actor=actor, note=note, changes=changes)
        proposal = focus_proposal_from(fresh, starts_on=today + dt.timedelta(days=1))
    else:
        changes = _end_today(fresh, today)
        _record(fresh, EventKind.CLOSED, actor=actor, note=note, changes=changes)
    period.refresh_from_db()
    return RevisitResult(period=fresh, proposal=proposal)


@transaction.atomic
def focus_period_close(
    *, period: FocusPeriod, ends_on: dt.date, actor: Any = None, note: str = ""
) -> FocusPeriod:
    """End a period on `ends_on` whatever its status (the Django admin's action)."""
    fresh = _locked(period)
    if ends_on < fresh.starts_on:
        raise ValidationError({"ends_on": ["The period cannot end before it starts."]})
    if fresh.status == Status.CLOSED and fresh.ends_on == ends_on:
        return fresh
    other = overlapping_periods(
        team=fresh.team, starts_on=fresh.starts_on, ends_on=ends_on, exclude_id=fresh.pk
    ).first()
    if other is not None:
        raise ValidationError({"ends_on": [overlap_message(other)]})
    changes = {
        "ends_on": [_plain(fresh.ends_on), ends_on.isoformat()],
        "status": [fresh.status, Status.CLOSED],
    }
    fresh.ends_on = ends_on
    fresh.status = Status.CLOSED
    _save_guarding_overlap(fresh, update_fields=["ends_on", "status"])
    _record(fresh, EventKind.CLOSED, actor=actor, note=note, changes=changes)
    period.refresh_from_db()
    return fresh


def focus_period_snapshot(period: FocusPeriod) -> dict[str, Any]:
    """The fields a history entry records, as JSON (for callers that write the row
    themselves, like the Django admin's form)."""
    return _snapshot(period, (*PROPOSAL_FIELDS, "status"))


@transaction.atomic
def focus_period_record_admin_save(
    *, period: FocusPeriod, actor: Any, before: dict[str, Any] | None
) -> FocusEvent | None:
    """History for a period an admin saved in the Django admin: `proposed` for a new one,
    `edited` with what changed otherwise (nothing when nothing changed)."""
    after = focus_period_snapshot(period)
    if before is None:
        return _record(
            period,
            EventKind.PROPOSED,
            actor=actor,
            note="In the Django admin.",
            changes=_diff({}, after),
        )
    changes = _diff(before, after)
    if not changes:
        return None
    return _record(
        period, EventKind.EDITED, actor=actor, note="In the Django admin.", changes=changes
    )
