"""A team's focus pages: the focus page (current period, what is waiting for whom, past
periods with their verdict), a period's page with its history, and the forms to propose,
edit and propose again, align or send back, and revisit.

Every view looks the team up through `team_for_user` first (another team is a 404), then
checks the step: managers of the team and admins propose, edit and revisit; only admins
align or send back; anyone else on the team reads (a 403). Fragments go through the same
checks. The rules themselves are the focus services'.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core import bounds
from apps.core.formatting import format_count, format_duration, format_per_week, format_rate
from apps.core.http import redirect_after_post, render_page
from apps.dashboard.focus_cards import period_cards
from apps.dashboard.focus_forms import (
    SIGNAL_ROWS,
    FocusAlignForm,
    FocusProposalForm,
    FocusRevisitForm,
    kind_prefill,
    signals_with_kind_defaults,
)
from apps.focus import services
from apps.focus.catalog import metric_label, signal_text
from apps.focus.evaluation import Evaluation, MetricChange
from apps.focus.evaluations import focus_evaluations_of
from apps.focus.models import FocusEvent, FocusKind, FocusPeriod
from apps.focus.selectors import (
    Waiting,
    focus_current_of,
    focus_last_sent_back,
    focus_period_get,
    focus_periods_of_team,
    focus_waiting,
)
from apps.teams.models import Team
from apps.teams.permissions import can_manage, is_org_admin, team_for_user

Status = FocusPeriod.Status
VERDICTS = {
    "improved": "improved",
    "no_clear_change": "no clear change",
    "worse": "worse",
    "not_enough_data": "not enough data",
}
FIELD_LABELS = {
    "kind": "focus",
    "starts_on": "starts on",
    "ends_on": "ends on",
    "rationale": "why",
    "success_signals": "success signals",
    "tradeoff_metrics": "may get worse",
    "tradeoff": "why the trade-off",
    "revisit_on": "revisit on",
    "status": "status",
}


# --- who may do what -------------------------------------------------------------------


@dataclass(frozen=True)
class Rights:
    manage: bool  # propose, edit, revisit
    align: bool  # align or send back


def _rights(request: HttpRequest, team: Team) -> Rights:
    return Rights(manage=can_manage(request.user, team), align=is_org_admin(request.user))


def _require(allowed: bool, why: str) -> None:
    if not allowed:
        raise PermissionDenied(why)


def _period(team: Team, pk: int) -> FocusPeriod:
    try:
        return focus_period_get(team=team, pk=pk)
    except FocusPeriod.DoesNotExist:
        raise Http404("No such focus period") from None


# --- what the pages show ---------------------------------------------------------------


@dataclass
class PeriodView:
    """A period as the pages show it: its words computed here, not in the template."""

    period: FocusPeriod
    signals: list[str]
    tradeoff: list[str]
    waiting: Waiting | None
    sent_back: FocusEvent | None
    can_edit: bool
    can_align: bool
    can_revisit: bool
    verdict: str = ""
    url: str = ""


def _view_of(period: FocusPeriod, rights: Rights, today: Any) -> PeriodView:
    status = period.status
    return PeriodView(
        period=period,
        signals=[signal_text(s) for s in period.success_signals if isinstance(s, dict)],
        tradeoff=[metric_label(m) for m in period.tradeoff_metrics],
        waiting=focus_waiting(period, today=today),
        sent_back=focus_last_sent_back(period) if status == Status.SENT_BACK else None,
        can_edit=rights.manage and status in (Status.PROPOSED, Status.SENT_BACK),
        can_align=rights.align and status == Status.PROPOSED,
        can_revisit=rights.manage and status == Status.ALIGNED,
        url=reverse("focus:period", args=[period.team.slug, period.pk]),
    )


def _value(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric in ("time_to_restore", "lead_time"):
        return format_duration(value)
    if metric == "change_failure_rate":
        return format_rate(value)
    if metric == "deployment_frequency":
        return f"{format_per_week(value)} per week"
    return format_count(value)


def _change(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    sign = "+" if value > 0 else ("\u2212" if value < 0 else "±")
    text = _value(metric, abs(value))
    if metric == "change_failure_rate":
        text = text.replace(" %", " points")
    return f"{sign}{text}"


@dataclass(frozen=True)
class EvaluationView:
    verdict: str
    note: str
    before: str
    during: str
    rows: list[dict[str, str]] = field(default_factory=list)


def _evaluation_view(evaluation: Evaluation) -> EvaluationView:
    def window(bounds: Any) -> str:
        if bounds is None:
            return ""
        last = bounds[1] - dt.timedelta(days=1)
        return f"{bounds[0]:%d %b %Y} – {last:%d %b %Y}"

    rows = []
    for change in evaluation.metrics:
        assert isinstance(change, MetricChange)
        interval = ""
        if change.interval:
            low, high = change.interval
            interval = f"{_change(change.metric, low)} to {_change(change.metric, high)}"
        rows.append(
            {
                "metric": metric_label(change.metric),
                "before": _value(change.metric, change.before),
                "during": _value(change.metric, change.during),
                "change": _change(change.metric, change.change),
                "interval": interval,
                "verdict": VERDICTS.get(change.verdict, change.verdict),
                "n": f"n = {change.n_before} before, {change.n_during} during",
            }
        )
    return EvaluationView(
        verdict=VERDICTS.get(evaluation.verdict, evaluation.verdict),
        note=evaluation.note,
        before=window(evaluation.before),
        during=window(evaluation.during),
        rows=rows,
    )


def _words(name: str, value: Any) -> str:
    if value in (None, "", []):
        return "—"
    if name == "success_signals" and isinstance(value, list):
        return "; ".join(signal_text(s) if isinstance(s, dict) else str(s) for s in value)
    if name == "tradeoff_metrics" and isinstance(value, list):
        return ", ".join(metric_label(str(m)) for m in value)
    if name == "status":
        return dict(Status.choices).get(str(value), str(value)).lower()
    return str(value)


def _event_lines(event: FocusEvent) -> list[str]:
    """What an event changed, in words ("revisit on: 2026-03-30 → 2026-04-13")."""
    lines = []
    for name, pair in (event.changes or {}).items():
        before, after = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
        label = FIELD_LABELS.get(name, name)
        if event.kind == FocusEvent.Kind.PROPOSED and before is None:
            lines.append(f"{label}: {_words(name, after)}")
        else:
            lines.append(f"{label}: {_words(name, before)} → {_words(name, after)}")
    return lines


# --- the pages -------------------------------------------------------------------------


def _verdicts(evaluations: dict[int, Evaluation]) -> dict[int, str]:
    """The verdict word of each period (the "did it work" cards show the numbers)."""
    return {pk: VERDICTS.get(e.verdict, e.verdict) for pk, e in evaluations.items()}


@require_GET
def focus_team(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for_user(request.user, slug)
    rights = _rights(request, team)
    today = timezone.localdate()
    periods = list(focus_periods_of_team(team=team))
    current = focus_current_of(periods, today)
    upcoming = [
        p for p in periods if p is not current and p.starts_on > today and p.status != Status.CLOSED
    ]
    past = [p for p in periods if p is not current and p not in upcoming]
    # The stored evaluations (apps.focus.evaluations), for the verdicts and the cards.
    evaluations = focus_evaluations_of(periods, today=today)
    verdicts = _verdicts(evaluations)
    past_views = []
    for period in past:
        view = _view_of(period, rights, today)
        view.verdict = verdicts.get(period.pk, "")
        past_views.append(view)
    context = {
        "team": team,
        "rights": rights,
        "current": _view_of(current, rights, today) if current else None,
        "upcoming": [
            _view_of(p, rights, today) for p in sorted(upcoming, key=lambda p: p.starts_on)
        ],
        "past": past_views,
        "focus_cards": period_cards(periods, evaluations, today=today),
    }
    return render_page(request, "dashboard/focus/team.html", context, partial="content")


def _render_period(
    request: HttpRequest,
    team: Team,
    period: FocusPeriod,
    *,
    align_form: FocusAlignForm | None = None,
    partial: str = "content",
    status: int = 200,
) -> HttpResponse:
    rights = _rights(request, team)
    today = timezone.localdate()
    events = [(event, _event_lines(event)) for event in period.events.all()]
    context = {
        "team": team,
        "rights": rights,
        "card": _view_of(period, rights, today),
        "events": events,
        "align_form": align_form or FocusAlignForm(),
    }
    return render_page(
        request, "dashboard/focus/period.html", context, partial=partial, status=status
    )


@require_GET
def focus_period_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_for_user(request.user, slug)
    return _render_period(request, team, _period(team, pk))


@require_POST
def focus_period_align(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Align (sign off) or send back, with a comment: admins only."""
    team = team_for_user(request.user, slug)
    _require(is_org_admin(request.user), "Only an admin aligns or sends back a focus.")
    period = _period(team, pk)
    form = FocusAlignForm(request.POST)
    if form.is_valid():
        decision, note = form.cleaned_data["decision"], form.cleaned_data["note"]
        try:
            if decision == "align":
                services.focus_period_align(period=period, aligned_by=request.user, note=note)
                done = "Focus aligned: the sign-off is recorded."
            else:
                services.focus_period_send_back(period=period, actor=request.user, note=note)
                done = "Sent back to the team's managers with your comment."
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, done)
            return redirect_after_post(request, reverse("focus:period", args=[slug, pk]))
    period = _period(team, pk)
    return _render_period(request, team, period, align_form=form, partial="align")


# --- propose and edit ------------------------------------------------------------------


def _forget_empty_field_errors(form: FocusProposalForm) -> None:
    """While the form is being filled in, an empty field is not an error yet."""
    data: Any = form.data  # a QueryDict: a field may carry several values
    for name in list(form.errors):
        if name in form.fields and not any(v.strip() for v in data.getlist(name)):
            del form.errors[name]
    if not any(form.data.get(f"signal_{row}_metric") for row in range(1, SIGNAL_ROWS + 1)):
        form.signal_errors.clear()


def _check(
    form: FocusProposalForm,
    team: Team,
    *,
    save: bool,
    user: Any,
    period: FocusPeriod | None,
) -> tuple[FocusPeriod | None, FocusPeriod | None]:
    """Validate (and with `save`, propose or edit) through the focus services, putting their
    errors next to the fields. Returns (the saved period, the period it overlaps)."""
    parsed = form.is_valid()
    fields = form.service_kwargs()
    note = (getattr(form, "cleaned_data", {}).get("note") or "").strip()
    try:
        if parsed and save and period is None:
            saved = services.focus_period_propose(team=team, proposed_by=user, note=note, **fields)
            return saved, None
        if parsed and save and period is not None:
            saved = services.focus_period_edit(period=period, actor=user, note=note, **fields)
            return saved, None
        services.focus_period_validate(
            team=team, data=fields, exclude_id=period.pk if period else None
        )
    except services.FocusOverlapError as exc:
        form.apply_service_errors(exc, skip=set(form.errors))
        return None, exc.other
    except ValidationError as exc:
        form.apply_service_errors(exc, skip=set(form.errors))
    return None, None


def _render_form(
    request: HttpRequest,
    team: Team,
    form: FocusProposalForm,
    *,
    period: FocusPeriod | None,
    overlap: FocusPeriod | None,
    validating: bool = False,
) -> HttpResponse:
    action = (
        reverse("focus:edit", args=[team.slug, period.pk])
        if period
        else reverse("focus:propose", args=[team.slug])
    )
    context = {
        "team": team,
        "form": form,
        "period": period,
        "sent_back": focus_last_sent_back(period) if period else None,
        "overlap": overlap,
        "overlap_url": reverse("focus:period", args=[team.slug, overlap.pk]) if overlap else "",
        "default_revisit": form.default_revisit(),
        "validating": validating,
        "action": action,
    }
    return render_page(request, "dashboard/focus/form.html", context, partial="form")


def _proposal_form_view(
    request: HttpRequest, team: Team, period: FocusPeriod | None
) -> HttpResponse:
    if request.method == "GET":
        if period is not None:
            initial = FocusProposalForm.initial_from(
                {name: getattr(period, name) for name in services.PROPOSAL_FIELDS}
            )
        else:
            initial = _prefill(request, team)
        form = FocusProposalForm(initial=initial)
        return _render_form(request, team, form, period=period, overlap=None)
    if request.POST.get("_signals") == "1":
        # The kind was picked by hand: its default signals, in rows that are still empty.
        # Nothing to fill is a 204, which htmx does not swap: rows typed meanwhile stay.
        filled = signals_with_kind_defaults(request.POST)
        if filled is request.POST:
            return HttpResponse(status=204)
        form = FocusProposalForm(filled)
        return render(request, "dashboard/focus/form.html#signals", {"form": form})
    form = FocusProposalForm(request.POST)
    validating = request.POST.get("_validate") == "1"
    saved, overlap = _check(form, team, save=not validating, user=request.user, period=period)
    if validating:
        _forget_empty_field_errors(form)
        return _render_form(request, team, form, period=period, overlap=overlap, validating=True)
    if saved is None:
        return _render_form(request, team, form, period=period, overlap=overlap)
    if period is None:
        messages.success(request, "Focus proposed. An admin will align it or send it back.")
    else:
        messages.success(request, "Focus updated and proposed again for sign-off.")
    return redirect_after_post(request, reverse("focus:period", args=[team.slug, saved.pk]))


def _prefill(request: HttpRequest, team: Team) -> dict[str, Any]:
    """A new proposal: from the period just changed (`?from=<id>`), else starting today, of
    the kind asked for (`?kind=<slug>`, with that kind's default success signal)."""
    today = timezone.localdate()
    source = bounds.row_id(request.GET.get("from", ""))
    if source is not None:
        try:
            period = focus_period_get(team=team, pk=source)
        except FocusPeriod.DoesNotExist:
            pass
        else:
            starts_on = max(today, (period.ends_on or today)) + dt.timedelta(days=1)
            return FocusProposalForm.initial_from(
                services.focus_proposal_from(period, starts_on=starts_on)
            )
    kind = FocusKind.objects.filter(slug=request.GET.get("kind") or "").first()
    return {"starts_on": today, **(kind_prefill(kind) if kind else {})}


@require_http_methods(["GET", "POST"])
def focus_propose(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for_user(request.user, slug)
    _require(can_manage(request.user, team), "Only the team's managers and admins propose a focus.")
    return _proposal_form_view(request, team, None)


@require_http_methods(["GET", "POST"])
def focus_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Edit a proposal before its sign-off; a sent-back one is proposed again."""
    team = team_for_user(request.user, slug)
    _require(can_manage(request.user, team), "Only the team's managers and admins edit a focus.")
    period = _period(team, pk)
    if period.status not in (Status.PROPOSED, Status.SENT_BACK):
        messages.info(
            request,
            f"This focus is {period.get_status_display().lower()}; it is not edited any more.",
        )
        return redirect_after_post(request, reverse("focus:period", args=[slug, pk]))
    return _proposal_form_view(request, team, period)


# --- revisit ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def focus_revisit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Keep (new revisit date), change (ends today, a new proposal prefilled) or close,
    with the evaluation so far in front of the manager."""
    team = team_for_user(request.user, slug)
    _require(can_manage(request.user, team), "Only the team's managers and admins revisit a focus.")
    period = _period(team, pk)
    if period.status != Status.ALIGNED:
        messages.info(
            request,
            f"This focus is {period.get_status_display().lower()}; "
            "only an aligned focus is revisited.",
        )
        return redirect_after_post(request, reverse("focus:period", args=[slug, pk]))
    today = timezone.localdate()
    if request.method == "POST":
        form = FocusRevisitForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = services.focus_period_revisit(
                    period=period,
                    actor=request.user,
                    decision=data["decision"],
                    note=data["note"],
                    revisit_on=data.get("revisit_on"),
                    today=today,
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                if result.proposal is not None:
                    messages.success(
                        request, "The focus ends today. Propose the next one; it is prefilled."
                    )
                    url = reverse("focus:propose", args=[slug]) + f"?from={period.pk}"
                    return redirect_after_post(request, url)
                word = "kept" if data["decision"] == "keep" else "closed"
                messages.success(request, f"Focus {word}. The decision is in its history.")
                return redirect_after_post(request, reverse("focus:period", args=[slug, pk]))
    else:
        suggested = (period.revisit_on or today) + dt.timedelta(weeks=4)
        form = FocusRevisitForm(
            initial={"revisit_on": max(suggested, today + dt.timedelta(days=1))}
        )
    context = {
        "team": team,
        "card": _view_of(period, _rights(request, team), today),
        "form": form,
        "evaluation": _evaluation_view(focus_evaluations_of([period], today=today)[period.pk]),
    }
    return render_page(request, "dashboard/focus/revisit.html", context, partial="form")
