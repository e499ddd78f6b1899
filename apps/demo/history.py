"""The demo focus periods' histories: who proposed, sent back, edited, aligned, revisited and
closed each one, when, and with which note.

The focus services stamp each step with the present, so the demo writes the `FocusEvent`
rows itself, at the past times the steps would have happened, in the shape the services give
them (`changes` as `{field: [before, after]}`, a proposal as `{field: [null, value]}`). The
history follows the period's status:

- every period was proposed by the team's manager a week before it started;
- one waiting for sign-off was sent back once by the director (no success signal yet), then
  edited and proposed again a few days ago;
- an aligned or closed one was aligned by the director a few days before it started; kept
  once at its first revisit when it ran past it (the revisit moved to the date it has now,
  or for a closed one to the day it was closed), and a closed one closed with a note on its
  last day.

The period's own "when" fields (`proposed_at`, `aligned_at`, a closed period's last
`revisit_on`) are set to match. Only periods without any history get one, so a second run
adds nothing, and a period someone worked on in the browser keeps its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from apps.core.timezones import local_midnight
from apps.focus.models import FocusEvent, FocusPeriod
from apps.focus.services import default_revisit_on, focus_period_snapshot

Kind = FocusEvent.Kind
ST = FocusPeriod.Status

# Why a finished focus was closed, by `team/kind`; others get CLOSE_NOTE.
CLOSE_NOTES = {
    "payments/stability": "Restores are under an hour again; on to the payout redesign.",
    "search/throughput": "Releases are quicker; the indexer's single expert comes first now.",
    "platform/knowledge_sharing": "Three people now take the gateway's on-call; next, the "
    "deploy pipeline.",
    "growth/stability": "Sign-up has held for weeks and restores take about an hour; the "
    "quarter's experiments are next.",
}
CLOSE_NOTE = "Done for now: the next focus starts tomorrow."
KEEP_NOTE = "Keep it: too early to judge; the team stays on it until the next revisit."
SEND_BACK_NOTE = "What will show it worked? Add a success signal with a target."
EDIT_NOTE = "Added the success signals."


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return local_midnight(day) + dt.timedelta(hours=hour, minutes=minute)


def _proposal(period: FocusPeriod, **as_proposed: Any) -> dict[str, list[Any]]:
    """The whole proposal as the `proposed` step records it (empty fields left out)."""
    fields = {k: v for k, v in focus_period_snapshot(period).items() if k != "status"}
    fields.update(as_proposed)
    return {name: [None, value] for name, value in fields.items() if value is not None}


def _steps(
    period: FocusPeriod, *, manager: Any, director: Any, today: dt.date
) -> list[dict[str, Any]]:
    """The period's history as event fields, oldest first (times may lie past `now`; the
    caller brings them back)."""
    starts, status = period.starts_on, period.status
    proposer = period.proposed_by or manager
    first_revisit = default_revisit_on(starts)
    if status == ST.CLOSED:
        last_day = period.ends_on or today
        later = last_day if first_revisit < last_day else None
    else:
        later = period.revisit_on
        if later is not None and not (first_revisit < today and first_revisit < later):
            later = None  # no revisit passed: proposed with the date it has now
    kept = status in (ST.ALIGNED, ST.CLOSED) and later is not None
    revisit = first_revisit if kept else (period.revisit_on or first_revisit)
    reworked = status == ST.PROPOSED and bool(period.success_signals)
    proposed = _proposal(
        period,
        ends_on=None,
        revisit_on=revisit.isoformat(),
        **({"success_signals": []} if reworked else {}),
    )
    steps: list[dict[str, Any]] = [
        {
            "kind": Kind.PROPOSED,
            "actor": proposer,
            "at": _at(starts - dt.timedelta(7), 10),
            "changes": proposed,
        }
    ]
    if status in (ST.SENT_BACK, ST.PROPOSED) and (reworked or status == ST.SENT_BACK):
        steps.append(
            {
                "kind": Kind.SENT_BACK,
                "actor": director,
                "at": _at(starts - dt.timedelta(6), 15),
                "note": SEND_BACK_NOTE,
                "changes": {"status": [ST.PROPOSED, ST.SENT_BACK]},
            }
        )
    if reworked:
        again = _at(max(starts - dt.timedelta(4), today - dt.timedelta(2)), 9, 30)
        signals = focus_period_snapshot(period)["success_signals"]
        steps += [
            {
                "kind": Kind.EDITED,
                "actor": proposer,
                "at": again,
                "note": EDIT_NOTE,
                "changes": {"success_signals": [[], signals]},
            },
            {
                "kind": Kind.PROPOSED,
                "actor": proposer,
                "at": again,
                "changes": {"status": [ST.SENT_BACK, ST.PROPOSED]},
            },
        ]
    if status in (ST.ALIGNED, ST.CLOSED):
        steps.append(
            {
                "kind": Kind.ALIGNED,
                "actor": period.aligned_by or director,
                "at": _at(starts - dt.timedelta(3), 16),
                "note": "Agreed; the trade-off is worth it." if period.tradeoff else "Agreed.",
                "changes": {"status": [ST.PROPOSED, ST.ALIGNED]},
            }
        )
    if kept and later is not None:  # kept once, at its first revisit
        steps.append(
            {
                "kind": Kind.REVISITED_KEEP,
                "actor": proposer,
                "at": _at(first_revisit, 11),
                "note": KEEP_NOTE,
                "changes": {"revisit_on": [first_revisit.isoformat(), later.isoformat()]},
            }
        )
    if status == ST.CLOSED:
        last_day = period.ends_on or today
        steps.append(
            {
                "kind": Kind.CLOSED,
                "actor": proposer,
                "at": _at(last_day, 16),
                "note": CLOSE_NOTES.get(f"{period.team.slug}/{period.kind.slug}", CLOSE_NOTE),
                "changes": {
                    "ends_on": [None, last_day.isoformat()],
                    "status": [ST.ALIGNED, ST.CLOSED],
                },
            }
        )
    return steps


def focus_histories_seed(*, team: Any, manager: Any, director: Any, today: dt.date) -> int:
    """Write the history of each of the team's focus periods that has none; returns how
    many events were added."""
    periods = list(
        FocusPeriod.objects.filter(team=team, events__isnull=True)
        .select_related("kind", "team", "proposed_by", "aligned_by")
        .order_by("starts_on")
    )
    now = timezone.now()
    events: list[FocusEvent] = []
    for period in periods:
        steps = _steps(period, manager=manager, director=director, today=today)
        for step in steps:
            step["at"] = min(step["at"], now)  # nothing after this instant; the order holds
            events.append(FocusEvent(period=period, **step))
        proposals = [s["at"] for s in steps if s["kind"] == Kind.PROPOSED]
        period.proposed_at = proposals[-1]
        aligned = [s for s in steps if s["kind"] == Kind.ALIGNED]
        if aligned:
            period.aligned_at, period.aligned_by = aligned[0]["at"], aligned[0]["actor"]
        if period.status == ST.CLOSED:  # the last revisit date it was given
            dated = [s for s in steps if "revisit_on" in s["changes"]]
            period.revisit_on = dt.date.fromisoformat(dated[-1]["changes"]["revisit_on"][1])
    FocusEvent.objects.bulk_create(events)
    FocusPeriod.objects.bulk_update(
        periods, ["proposed_at", "aligned_at", "aligned_by", "revisit_on"]
    )
    return len(events)
