"""Focus reminders by email: once a day, the managers of each period whose revisit date has
come, and the admins for proposals waiting for sign-off for more than 3 days.

At most once, not at least once. For each (period, recipient, kind, day) the SentReminder
row is inserted first, under its unique constraint, in the same transaction as the decision
that the reminder is due; the mail goes out only after that transaction commits
(`transaction.on_commit`). A second beat, a retried task or two workers racing all insert the
same key and get an IntegrityError, so they send nothing. The price: when the mail server
fails, the row stays (with the error) and nothing is resent that day. That is the right way
round here, because tomorrow's run sends a new reminder while the period is still due,
whereas sending inside the transaction could send twice (a crash between the server's "250 OK"
and our COMMIT leaves no row, so the retry sends again) and a sent mail cannot be taken back.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from apps.focus.models import FocusPeriod, SentReminder
from apps.focus.selectors import (
    SIGNOFF_REMINDER_AFTER_DAYS,
    focus_waiting,
    periods_revisit_due,
    periods_waiting_for_signoff,
)
from apps.teams.models import Membership

logger = logging.getLogger(__name__)
Kind = SentReminder.Kind


@dataclass
class ReminderReport:
    decided: int = 0  # rows inserted by this run (mails handed to on_commit)
    skipped: int = 0  # already decided today by another run
    sent: int = 0
    failed: int = 0
    recipients: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def focus_page_path(period: FocusPeriod) -> str:
    """The team's focus page, where every reminder leads."""
    return reverse("focus:team", args=[period.team.slug])


def _absolute(path: str) -> str:
    return f"{settings.EXECDASH_BASE_URL}{path}"


def _admins() -> list[Any]:
    user = get_user_model()
    return list(
        user.objects.filter(Q(is_staff=True) | Q(is_superuser=True), is_active=True)
        .exclude(email="")
        .order_by("pk")
    )


def _managers_by_team(team_ids: set[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    memberships = (
        Membership.objects.filter(
            team_id__in=team_ids, role=Membership.Role.MANAGER, user__is_active=True
        )
        .exclude(user__email="")
        .select_related("user")
        .order_by("user_id")
    )
    for membership in memberships:
        out[membership.team_id].append(membership.user)
    return out


def _message(period: FocusPeriod, kind: str, recipient: Any, today: dt.date) -> Any:
    # The same words as the focus page ("Revisit due since 3 days, by a manager of the team").
    waiting = focus_waiting(period, today=today)
    headline = waiting.text if waiting else ""
    if kind == Kind.REVISIT_DUE:
        subject = f"Revisit due: {period.team.name}'s {period.kind.name.lower()} focus"
        ask = "Keep it with a new revisit date, change it, or close it, with a note."
    else:
        subject = f"Waiting for sign-off: {period.team.name}'s {period.kind.name.lower()} focus"
        ask = "Align it, or send it back with a comment the manager will see."
    context = {
        "period": period,
        "recipient": recipient,
        "headline": headline,
        "ask": ask,
        "url": _absolute(focus_page_path(period)),
    }
    mail = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("focus/email/reminder.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
    )
    mail.attach_alternative(render_to_string("focus/email/reminder.html", context), "text/html")
    return mail


def _deliver(reminder_id: int, mail: Any, report: ReminderReport) -> None:
    """After the commit: send, and note the outcome on the row (never resent the same day)."""
    try:
        mail.send()
    except Exception as exc:  # any mail failure is recorded, not retried
        logger.warning("focus reminder %s could not be sent: %s", reminder_id, exc)
        SentReminder.objects.filter(pk=reminder_id).update(error=str(exc)[:1000])
        report.failed += 1
        return
    SentReminder.objects.filter(pk=reminder_id).update(sent_at=timezone.now())
    report.sent += 1


def _decide(
    period: FocusPeriod, recipient: Any, kind: str, today: dt.date, report: ReminderReport
) -> None:
    try:
        with transaction.atomic():
            reminder = SentReminder.objects.create(
                period=period, recipient=recipient, day=today, kind=kind
            )
            mail = _message(period, kind, recipient, today)
            transaction.on_commit(lambda: _deliver(reminder.pk, mail, report))
    except IntegrityError:
        report.skipped += 1  # another run decided this one today
        return
    report.decided += 1
    report.recipients[kind].append(recipient.email)


def focus_reminders_send(*, today: dt.date | None = None) -> ReminderReport:
    """Send today's reminders; running it again the same day sends nothing new."""
    today = today or timezone.localdate()
    report = ReminderReport()
    due = list(periods_revisit_due(today=today))
    waiting = list(
        periods_waiting_for_signoff(today=today, more_than_days=SIGNOFF_REMINDER_AFTER_DAYS)
    )
    admins = _admins() if (due or waiting) else []
    managers = _managers_by_team({p.team_id for p in due})
    for period in due:
        # A team without a manager still gets its revisit: the admins are told instead.
        for recipient in managers.get(period.team_id) or admins:
            _decide(period, recipient, Kind.REVISIT_DUE, today, report)
    for period in waiting:
        for recipient in admins:
            _decide(period, recipient, Kind.SIGNOFF_WAITING, today, report)
    return report
