"""Reminders: to the right people, once a day per period and recipient, whatever runs twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from apps.focus.models import FocusPeriod, SentReminder
from apps.focus.reminders import focus_reminders_send
from apps.focus.tasks import send_focus_reminders
from apps.teams.models import Membership
from tests.factories import (
    AdminFactory,
    FocusPeriodFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 15)
Status = FocusPeriod.Status


@pytest.fixture
def org():
    team = TeamFactory(name="Payments <&> Co", slug="payments")
    managers = [
        MembershipFactory(team=team, role=Membership.Role.MANAGER, user__username=f"m{n}").user
        for n in range(2)
    ]
    MembershipFactory(team=team, user__username="member")  # members are not reminded
    gone = MembershipFactory(team=team, role=Membership.Role.MANAGER, user__username="gone").user
    gone.is_active = False
    gone.save()
    admin = AdminFactory(username="director")
    return team, managers, admin


def due(team, **overrides):
    fields = {
        "team": team,
        "starts_on": TODAY - dt.timedelta(days=40),
        "status": Status.ALIGNED,
        "revisit_on": TODAY - dt.timedelta(days=2),
        "rationale": "Fewer <b>outages</b>",
    }
    fields.update(overrides)
    return FocusPeriodFactory(**fields)


def run(django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return focus_reminders_send(today=TODAY, **kwargs)


def test_managers_of_a_due_period_get_one_mail_each(org, django_capture_on_commit_callbacks):
    team, managers, _ = org
    period = due(team)
    report = run(django_capture_on_commit_callbacks)
    assert report.decided == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in managers)
    message = mail.outbox[0]
    assert "Revisit due" in message.subject
    assert "Revisit due since 2 days, by a manager of the team" in message.body
    assert "http://localhost:8000/teams/payments/focus/" in message.body
    html = message.alternatives[0].content
    assert 'href="http://localhost:8000/teams/payments/focus/"' in html
    assert "&lt;b&gt;outages&lt;/b&gt;" in html  # user text escaped in the HTML part
    assert "Payments &lt;&amp;&gt; Co" in html
    assert "<b>outages</b>" in message.body  # and plain in the text part
    rows = SentReminder.objects.filter(period=period)
    assert rows.count() == 2
    assert all(r.sent_at is not None and r.day == TODAY for r in rows)


def test_running_twice_the_same_day_sends_nothing_more(org, django_capture_on_commit_callbacks):
    team, _, _ = org
    due(team)
    run(django_capture_on_commit_callbacks)
    again = run(django_capture_on_commit_callbacks)  # a second beat, or a retried task
    assert (again.decided, again.skipped) == (0, 2)
    assert len(mail.outbox) == 2
    # The next day the period is still due: one more each.
    with django_capture_on_commit_callbacks(execute=True):
        focus_reminders_send(today=TODAY + dt.timedelta(days=1))
    assert len(mail.outbox) == 4


def test_a_reminder_already_decided_by_another_run_is_skipped(
    org, django_capture_on_commit_callbacks
):
    """Two beats racing: the other one inserted its row first (the unique key decides)."""
    team, managers, _ = org
    period = due(team)
    SentReminder.objects.create(
        period=period, recipient=managers[0], day=TODAY, kind=SentReminder.Kind.REVISIT_DUE
    )
    report = run(django_capture_on_commit_callbacks)
    assert (report.decided, report.skipped) == (1, 1)
    assert [m.to for m in mail.outbox] == [[managers[1].email]]


def test_no_mail_is_sent_before_the_commit(org, django_capture_on_commit_callbacks):
    team, _, _ = org
    due(team)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        focus_reminders_send(today=TODAY)
    assert mail.outbox == []
    assert len(callbacks) == 2


def test_nothing_for_closed_or_not_yet_due_periods(org, django_capture_on_commit_callbacks):
    team, _, _ = org
    other = TeamFactory()
    MembershipFactory(team=other, role=Membership.Role.MANAGER)
    due(team, status=Status.CLOSED, ends_on=TODAY - dt.timedelta(days=1))
    due(
        other,
        revisit_on=TODAY + dt.timedelta(days=1),
    )  # aligned, not due yet
    report = run(django_capture_on_commit_callbacks)
    assert report.decided == 0
    assert mail.outbox == []


def test_due_today_counts(org, django_capture_on_commit_callbacks):
    team, _, _ = org
    due(team, revisit_on=TODAY)
    run(django_capture_on_commit_callbacks)
    assert "Revisit due today" in mail.outbox[0].body


def test_admins_hear_of_proposals_waiting_more_than_three_days(
    org, django_capture_on_commit_callbacks
):
    team, _, admin = org
    other = TeamFactory(slug="search")

    def proposed(t, days):
        return due(
            t,
            status=Status.PROPOSED,
            revisit_on=TODAY + dt.timedelta(days=20),
            proposed_at=timezone.make_aware(
                dt.datetime.combine(TODAY - dt.timedelta(days=days), dt.time(9))
            ),
        )

    proposed(team, 4)
    proposed(other, 3)  # exactly 3 days: not yet
    report = run(django_capture_on_commit_callbacks)
    assert report.decided == 1
    [message] = mail.outbox
    assert message.to == [admin.email]
    assert "Waiting for sign-off" in message.subject
    assert "Waiting for sign-off by an admin for 4 days" in message.body
    assert "/teams/payments/focus/" in message.body


def test_a_team_without_managers_tells_the_admins(django_capture_on_commit_callbacks):
    team = TeamFactory()
    admin = AdminFactory()
    UserFactory(email="")  # someone without an address is skipped anyway
    due(team)
    run(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[admin.email]]


def test_a_failed_send_is_recorded_and_not_retried_today(
    org, django_capture_on_commit_callbacks, monkeypatch
):
    team, _, _ = org
    due(team)

    def refuse(self, *args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    report = run(django_capture_on_commit_callbacks)
    assert report.failed == 2
    assert set(SentReminder.objects.values_list("error", flat=True)) == {"connection refused"}
    monkeypatch.undo()
    run(django_capture_on_commit_callbacks)
    assert mail.outbox == []  # at most once a day


def test_the_task_runs_the_service_and_is_scheduled(org, django_capture_on_commit_callbacks):
    from execdash.celery import app

    team, _, _ = org
    due(team, revisit_on=timezone.localdate())
    with django_capture_on_commit_callbacks(execute=True):
        assert send_focus_reminders.apply().get() == {"decided": 2, "skipped": 0}
        assert send_focus_reminders.apply().get() == {"decided": 0, "skipped": 2}
    assert len(mail.outbox) == 2
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "apps.focus.tasks.send_focus_reminders" in tasks


def test_a_proposal_loaded_without_the_services_counts_from_its_creation(
    org, django_capture_on_commit_callbacks
):
    team, _, admin = org
    period = due(team, status=Status.PROPOSED, revisit_on=TODAY + dt.timedelta(days=20))
    FocusPeriod.objects.filter(pk=period.pk).update(
        proposed_at=None,
        created_at=timezone.make_aware(
            dt.datetime.combine(TODAY - dt.timedelta(days=5), dt.time())
        ),
    )
    run(django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[admin.email]]
