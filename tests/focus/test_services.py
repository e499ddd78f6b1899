"""The focus lifecycle: each transition, allowed and refused, and the history it writes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.focus.catalog import signal_parse, signal_text
from apps.focus.models import FocusEvent, FocusPeriod
from apps.focus.selectors import (
    focus_periods_of_team,
    focus_waiting,
    periods_revisit_due,
)
from apps.focus.services import (
    FocusOverlapError,
    focus_period_align,
    focus_period_close,
    focus_period_edit,
    focus_period_propose,
    focus_period_revisit,
    focus_period_send_back,
)
from apps.teams.models import Membership
from tests.factories import AdminFactory, MembershipFactory, TeamFactory, focus_kind

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)
Status = FocusPeriod.Status
Kind = FocusEvent.Kind


@pytest.fixture
def team():
    return TeamFactory(slug="payments", name="Payments")


@pytest.fixture
def manager(team):
    return MembershipFactory(team=team, role=Membership.Role.MANAGER).user


@pytest.fixture
def admin():
    return AdminFactory()


def propose(team, manager, **overrides):
    fields = {
        "team": team,
        "kind": focus_kind("stability"),
        "starts_on": DAY,
        "rationale": "Three SEV1s last month.",
        "proposed_by": manager,
        "success_signals": [
            {"metric": "time_to_restore", "comparator": "<", "target": "4"},
            {"metric": "change_failure_rate", "target": "<= 10 %"},
        ],
        "tradeoff_metrics": ["deployment_frequency"],
        "tradeoff": "Fewer, safer deploys while we add canaries.",
        "note": "First draft.",
    }
    fields.update(overrides)
    return focus_period_propose(**fields)


def kinds(period):
    return list(period.events.order_by("at", "id").values_list("kind", flat=True))


def test_propose_stores_signals_tradeoff_and_default_revisit(team, manager):
    period = propose(team, manager)
    assert period.status == Status.PROPOSED
    assert period.revisit_on == DAY + dt.timedelta(weeks=4)
    assert period.success_signals == [
        {"metric": "time_to_restore", "comparator": "<", "target": 4.0},
        {"metric": "change_failure_rate", "comparator": "<=", "target": 10.0},
    ]
    assert period.tradeoff_metrics == ["deployment_frequency"]
    assert period.proposed_at is not None
    event = period.events.get()
    assert (event.kind, event.actor, event.note) == (Kind.PROPOSED, manager, "First draft.")
    assert event.changes["starts_on"] == [None, "2026-03-02"]
    assert event.changes["tradeoff_metrics"] == [None, ["deployment_frequency"]]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"rationale": "  "}, "rationale", "why"),
        ({"ends_on": DAY - dt.timedelta(days=1)}, "ends_on", "before it starts"),
        ({"revisit_on": DAY - dt.timedelta(days=1)}, "revisit_on", "on or after"),
        ({"kind": None}, "kind", "Choose"),
        (
            {"success_signals": [{"metric": "happiness", "target": "3"}]},
            "success_signals",
            "not one of",
        ),
        (
            {"success_signals": [{"metric": "lead_time", "target": "fast"}]},
            "success_signals",
            "not a number",
        ),
        (
            {"success_signals": [{"metric": "lead_time", "target": "4"}]},
            "success_signals",
            "comparator",
        ),
        (
            {"success_signals": [{"metric": "change_failure_rate", "target": "< 4 h"}]},
            "success_signals",
            "unit",
        ),
        ({"tradeoff_metrics": ["speed"]}, "tradeoff_metrics", "not one of"),
        ({"tradeoff_metrics": ["time_to_restore"]}, "tradeoff_metrics", "success signal"),
        ({"tradeoff": ""}, "tradeoff", "why"),
    ],
)
def test_propose_refuses_bad_fields_by_name(team, manager, overrides, field, words):
    with pytest.raises(ValidationError) as caught:
        propose(team, manager, **overrides)
    assert words in " ".join(caught.value.message_dict[field])
    assert not FocusPeriod.objects.exists()
    assert not FocusEvent.objects.exists()


def test_every_problem_is_reported_at_once(team, manager):
    with pytest.raises(ValidationError) as caught:
        propose(team, manager, rationale="", tradeoff="", success_signals=[{"metric": "x"}])
    assert {"rationale", "tradeoff", "success_signals"} <= set(caught.value.message_dict)


def test_overlap_names_the_period_and_keeps_other_errors(team, manager):
    first = propose(team, manager, ends_on=DAY + dt.timedelta(days=30))
    with pytest.raises(FocusOverlapError) as caught:
        propose(team, manager, starts_on=DAY + dt.timedelta(days=30), rationale="")
    assert caught.value.other == first
    assert f"(id {first.id})" in caught.value.message_dict["starts_on"][0]
    assert "rationale" in caught.value.message_dict
    assert FocusPeriod.objects.count() == 1


def test_send_back_edit_and_propose_again(team, manager, admin):
    period = propose(team, manager)
    with pytest.raises(ValidationError) as caught:
        focus_period_send_back(period=period, actor=admin, note=" ")
    assert "note" in caught.value.message_dict

    focus_period_send_back(period=period, actor=admin, note="Add a lead time signal.")
    period.refresh_from_db()
    assert period.status == Status.SENT_BACK
    assert focus_waiting(period).who == "manager"

    focus_period_edit(
        period=period,
        actor=manager,
        note="Added it.",
        success_signals=[
            *period.success_signals,
            {"metric": "lead_time", "comparator": "<", "target": "2 days"},
        ],
    )
    period.refresh_from_db()
    assert period.status == Status.PROPOSED
    assert period.success_signals[-1] == {"metric": "lead_time", "comparator": "<", "target": 48.0}
    assert kinds(period) == [Kind.PROPOSED, Kind.SENT_BACK, Kind.EDITED, Kind.PROPOSED]
    edited = period.events.get(kind=Kind.EDITED)
    assert edited.actor == manager
    assert edited.note == "Added it."
    assert list(edited.changes) == ["success_signals"]  # only what changed
    sent_back = period.events.get(kind=Kind.SENT_BACK)
    assert (sent_back.actor, sent_back.note) == (admin, "Add a lead time signal.")


def test_a_failed_edit_changes_nothing(team, manager, admin):
    period = propose(team, manager)
    focus_period_send_back(period=period, actor=admin, note="Shorter please.")
    with pytest.raises(ValidationError):
        focus_period_edit(period=period, actor=manager, rationale="")
    period.refresh_from_db()
    assert period.status == Status.SENT_BACK
    assert period.rationale == "Three SEV1s last month."
    assert kinds(period) == [Kind.PROPOSED, Kind.SENT_BACK]


def test_edit_refuses_an_overlap_but_not_itself(team, manager):
    other = propose(team, manager, starts_on=DAY + dt.timedelta(days=60))
    period = propose(team, manager, ends_on=DAY + dt.timedelta(days=30))
    focus_period_edit(period=period, actor=manager, ends_on=DAY + dt.timedelta(days=40))
    with pytest.raises(FocusOverlapError) as caught:
        focus_period_edit(period=period, actor=manager, ends_on=None)
    assert caught.value.other == other


def test_align_records_who_and_when(team, manager, admin):
    period = propose(team, manager)
    focus_period_align(period=period, aligned_by=admin, note="Agreed in the 1:1.")
    period.refresh_from_db()
    assert period.status == Status.ALIGNED
    assert period.aligned_by == admin
    assert period.aligned_at is not None
    event = period.events.get(kind=Kind.ALIGNED)
    assert (event.actor, event.note) == (admin, "Agreed in the 1:1.")


@pytest.mark.parametrize("status", [Status.SENT_BACK, Status.ALIGNED, Status.CLOSED])
def test_only_a_proposal_is_aligned_or_sent_back(team, manager, admin, status):
    period = propose(team, manager)
    FocusPeriod.objects.filter(pk=period.pk).update(status=status)
    for action in (
        lambda: focus_period_align(period=period, aligned_by=admin),
        lambda: focus_period_send_back(period=period, actor=admin, note="no"),
    ):
        with pytest.raises(ValidationError) as caught:
            action()
        assert "status" in caught.value.message_dict
    assert kinds(period) == [Kind.PROPOSED]


@pytest.mark.parametrize("status", [Status.ALIGNED, Status.CLOSED])
def test_aligned_and_closed_periods_are_not_edited(team, manager, status):
    period = propose(team, manager)
    FocusPeriod.objects.filter(pk=period.pk).update(status=status)
    with pytest.raises(ValidationError) as caught:
        focus_period_edit(period=period, actor=manager, rationale="changed")
    assert "status" in caught.value.message_dict


def aligned(team, manager, admin, **overrides):
    period = propose(team, manager, **overrides)
    focus_period_align(period=period, aligned_by=admin)
    period.refresh_from_db()
    return period


def test_revisit_keep_sets_a_new_date(team, manager, admin):
    period = aligned(team, manager, admin)
    today = DAY + dt.timedelta(weeks=4)
    with pytest.raises(ValidationError) as caught:
        focus_period_revisit(
            period=period, actor=manager, decision="keep", note="ok", revisit_on=today, today=today
        )
    assert "revisit_on" in caught.value.message_dict
    later = today + dt.timedelta(weeks=2)
    result = focus_period_revisit(
        period=period,
        actor=manager,
        decision="keep",
        note="Working.",
        revisit_on=later,
        today=today,
    )
    assert result.proposal is None
    assert result.period.revisit_on == later
    assert result.period.status == Status.ALIGNED
    event = period.events.get(kind=Kind.REVISITED_KEEP)
    assert event.changes == {"revisit_on": ["2026-03-30", later.isoformat()]}


def test_revisit_change_ends_today_and_prefills_a_proposal(team, manager, admin):
    period = aligned(team, manager, admin)
    today = DAY + dt.timedelta(weeks=5)
    result = focus_period_revisit(
        period=period, actor=manager, decision="change", note="Stable now.", today=today
    )
    assert (result.period.status, result.period.ends_on) == (Status.CLOSED, today)
    assert result.proposal is not None
    assert result.proposal["starts_on"] == today + dt.timedelta(days=1)
    assert result.proposal["revisit_on"] == today + dt.timedelta(days=29)
    assert result.proposal["success_signals"] == period.success_signals
    # The prefilled proposal does not overlap the ended period.
    new = propose(
        team, manager, starts_on=result.proposal["starts_on"], kind=focus_kind("throughput")
    )
    assert new.status == Status.PROPOSED
    assert kinds(period)[-1] == Kind.REVISITED_CHANGE


def test_revisit_close_ends_today(team, manager, admin):
    period = aligned(team, manager, admin)
    today = DAY + dt.timedelta(weeks=6)
    with pytest.raises(ValidationError) as caught:
        focus_period_revisit(period=period, actor=manager, decision="close", note="", today=today)
    assert "note" in caught.value.message_dict
    focus_period_revisit(period=period, actor=manager, decision="close", note="Done.", today=today)
    period.refresh_from_db()
    assert (period.status, period.ends_on) == (Status.CLOSED, today)
    event = period.events.get(kind=Kind.CLOSED)
    assert event.changes["ends_on"] == [None, today.isoformat()]
    assert kinds(period) == [Kind.PROPOSED, Kind.ALIGNED, Kind.CLOSED]


def test_revisit_is_for_aligned_periods_only(team, manager, admin):
    period = propose(team, manager)
    with pytest.raises(ValidationError) as caught:
        focus_period_revisit(period=period, actor=manager, decision="close", note="x", today=DAY)
    assert "status" in caught.value.message_dict
    period.delete()
    period = aligned(team, manager, admin, starts_on=DAY + dt.timedelta(days=60))
    with pytest.raises(ValidationError) as caught:
        # It has not started: it cannot end today.
        focus_period_revisit(period=period, actor=manager, decision="close", note="x", today=DAY)
    assert "decision" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        focus_period_revisit(period=period, actor=manager, decision="pause", note="x", today=DAY)
    assert "decision" in caught.value.message_dict


def test_a_period_that_already_ended_keeps_its_end(team, manager, admin):
    period = aligned(team, manager, admin, ends_on=DAY + dt.timedelta(days=20))
    today = DAY + dt.timedelta(days=40)
    focus_period_revisit(period=period, actor=manager, decision="close", note="late", today=today)
    period.refresh_from_db()
    assert period.ends_on == DAY + dt.timedelta(days=20)


def test_admin_close_writes_history(team, manager, admin):
    period = propose(team, manager)
    focus_period_close(period=period, ends_on=DAY + dt.timedelta(days=3), actor=admin)
    assert kinds(period) == [Kind.PROPOSED, Kind.CLOSED]


def test_waiting_for_whom(team, manager, admin):
    period = propose(team, manager)
    period.refresh_from_db()
    today = period.proposed_at.date() + dt.timedelta(days=3)
    waiting = focus_waiting(period, today=today)
    assert waiting.who == "admin"
    assert waiting.text == "Waiting for sign-off by an admin for 3 days"
    focus_period_align(period=period, aligned_by=admin)
    period.refresh_from_db()
    assert focus_waiting(period, today=period.revisit_on - dt.timedelta(days=1)) is None
    waiting = focus_waiting(period, today=period.revisit_on + dt.timedelta(days=3))
    assert waiting.who == "manager"
    assert waiting.text.startswith("Revisit due since 3 days")
    assert list(periods_revisit_due(today=period.revisit_on)) == [period]
    assert not periods_revisit_due(today=period.revisit_on - dt.timedelta(days=1)).exists()


def test_team_periods_prefetch_their_history(team, manager, admin, django_assert_num_queries):
    for n in range(4):
        period = propose(
            team,
            manager,
            starts_on=DAY + dt.timedelta(days=40 * n),
            ends_on=DAY + dt.timedelta(days=40 * n + 30),
        )
        focus_period_align(period=period, aligned_by=admin)
    with django_assert_num_queries(2):
        periods = list(focus_periods_of_team(team=team))
        assert sum(len(p.events.all()) for p in periods) == 8
        assert all(p.kind.name and p.aligned_by for p in periods)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ({"metric": "time_to_restore", "target": "< 30 min"}, ("<", 0.5)),
        ({"metric": "Time to restore", "target": "≤ 1 day"}, ("<=", 24.0)),
        ({"metric": "deployment_frequency", "comparator": ">=", "target": "5"}, (">=", 5.0)),
        ({"metric": "change_failure_rate", "target": "< 7.5 %"}, ("<", 7.5)),
        ({"metric": "bus_factor", "comparator": ">", "target": 1}, (">", 1.0)),
    ],
)
def test_signals_parse_what_people_type(raw, stored):
    signal, errors = signal_parse(raw)
    assert errors == []
    assert (signal["comparator"], signal["target"]) == stored


def test_signal_reads_in_words():
    assert signal_text({"metric": "time_to_restore", "comparator": "<", "target": 4.0}) == (
        "Time to restore (median) < 4 h"
    )
    assert signal_text({"metric": "legacy", "target": "< 1 h"}) == "legacy < 1 h"
