"""`seed_demo`: realistic, deterministic, idempotent demo data; `ensure_demo_admin`."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Q
from django.utils import timezone

from apps.focus.models import FocusEvent, FocusKind, FocusPeriod
from apps.incidents.models import Incident
from apps.metrics.models import WeeklyRollup
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.releases.models import Release
from apps.teams.models import Membership, Team
from apps.teams.permissions import is_org_admin

pytestmark = pytest.mark.django_db

MODELS = (
    Team,
    get_user_model(),
    Membership,
    FocusPeriod,
    FocusEvent,
    Release,
    Incident,
    Outcome,
    OutcomeMeasurement,
    WeeklyRollup,
)


def seed(**options: int) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def snapshot() -> set[tuple]:  # type: ignore[type-arg]
    releases = Release.objects.values_list(
        "team__slug",
        "external_id",
        "service",
        "version",
        "deployed_at",
        "status",
        "first_commit_at",
        "change_count",
        "deployed_by",
    )
    incidents = Incident.objects.values_list(
        "team__slug",
        "external_id",
        "title",
        "severity",
        "started_at",
        "resolved_at",
        "cause",
        "caused_by__external_id",
    )
    return set(releases) | set(incidents)


def test_running_twice_changes_nothing() -> None:
    first_out = seed(teams=3, weeks=6, seed=3)
    first, rows = counts(), snapshot()
    assert first["Team"] == 3
    assert first["Release"] > 50
    second_out = seed(teams=3, weeks=6, seed=3)
    assert counts() == first
    assert snapshot() == rows
    assert "Demo data:" in first_out
    assert "already present" in second_out


DEMO_MODELS = (
    Team,
    get_user_model(),
    Membership,
    FocusKind,
    FocusPeriod,
    FocusEvent,
    Release,
    Incident,
    Outcome,
    OutcomeMeasurement,
)


def every_row() -> dict[str, list[dict]]:  # type: ignore[type-arg]
    """Every column of every demo row, `updated_at` included: a row rewritten shows."""
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in DEMO_MODELS}


def test_a_second_run_rewrites_no_row() -> None:
    seed(teams=6, weeks=3, seed=5)
    rows = every_row()
    assert all(rows.values())
    seed(teams=6, weeks=3, seed=5)
    assert every_row() == rows


def test_the_same_seed_and_day_give_the_same_data() -> None:
    seed(teams=2, weeks=4, seed=11)
    rows = snapshot()
    for model in (Incident, Release, FocusPeriod, OutcomeMeasurement, Outcome, Membership, Team):
        model.objects.all().delete()
    seed(teams=2, weeks=4, seed=11)
    assert snapshot() == rows
    Incident.objects.all().delete()
    Release.objects.all().delete()
    seed(teams=2, weeks=4, seed=12)
    assert snapshot() != rows


def test_the_data_is_realistic() -> None:
    seed(teams=5, weeks=12, seed=7)
    assert set(Team.objects.values_list("slug", flat=True)) == {
        "payments",
        "search",
        "mobile",
        "platform",
        "growth",
    }
    for team in Team.objects.all():
        roles = set(team.memberships.values_list("role", flat=True))
        assert roles == {Membership.Role.MANAGER, Membership.Role.MEMBER}
        current = FocusPeriod.objects.filter(team=team, ends_on__isnull=True)
        assert current.count() == 1
        assert team.releases.count() > 0
    incidents = Incident.objects.all()
    assert set(incidents.values_list("severity", flat=True)) == set(Incident.Severity.values)
    assert set(incidents.values_list("cause", flat=True)) == set(Incident.Cause.values)
    assert incidents.filter(caused_by__isnull=False).exists()
    assert 1 <= incidents.filter(resolved_at__isnull=True).count() <= 4
    resolved = incidents.filter(resolved_at__isnull=False)
    hours = sorted((i.resolved_at - i.started_at).total_seconds() / 3600 for i in resolved)
    assert hours[0] < 1 < hours[-1]  # a long tail: minutes to many hours
    releases = Release.objects.all()
    assert releases.filter(status=Release.Status.FAILED).exists()
    assert releases.filter(status=Release.Status.ROLLED_BACK).exists()
    assert releases.filter(fixes_incident__isnull=False).exists()
    assert not releases.filter(first_commit_at__isnull=True).exists()
    assert not releases.filter(first_commit_at__gt=F("deployed_at")).exists()
    now = timezone.now()
    assert not releases.filter(deployed_at__gt=now).exists()
    assert not incidents.filter(started_at__gt=now).exists()
    assert not incidents.filter(caused_by__deployed_at__gt=F("started_at")).exists()
    # Several deploys a week per team on average.
    per_team = releases.values("team").annotate(n=Count("id"))
    assert all(row["n"] / 12 >= 1 for row in per_team)
    # Focus periods tell stories: one overdue revisit, one awaiting sign-off, and a
    # throughput focus on the team whose stability is poor.
    today = timezone.localdate()
    periods = FocusPeriod.objects.filter(ends_on__isnull=True)
    assert periods.filter(revisit_on__lt=today).exists()
    assert periods.filter(status=FocusPeriod.Status.PROPOSED).exists()
    growth = periods.get(team__slug="growth")
    assert growth.kind.slug == FocusKind.THROUGHPUT
    failed = (
        Release.objects.filter(team__slug="growth")
        .filter(Q(status__in=["failed", "rolled_back"]) | Q(caused_incidents__isnull=False))
        .distinct()
        .count()
    )
    assert failed / Release.objects.filter(team__slug="growth").count() > 0.15
    # Outcomes with weekly measurements, one organization-wide.
    assert Outcome.objects.filter(team__isnull=True).exists()
    assert OutcomeMeasurement.objects.count() >= Outcome.objects.count() * 11
    # Rollups were recomputed at the end.
    assert WeeklyRollup.objects.filter(team__slug="payments").count() >= 12


def test_demo_users_can_log_in(client) -> None:  # type: ignore[no-untyped-def]
    seed(teams=1, weeks=1, seed=1)
    # Through the login form: django-axes checks every login against a request.
    response = client.post(
        "/accounts/login/", {"username": "maya.payments", "password": "execdash-demo"}
    )
    assert response.status_code == 302, response.content


def test_seeding_keeps_a_teams_own_focus_history() -> None:
    seed(teams=1, weeks=2, seed=1)
    before = list(FocusPeriod.objects.values_list("id", "starts_on", "ends_on"))
    seed(teams=1, weeks=8, seed=1)  # another span would place periods elsewhere
    assert list(FocusPeriod.objects.values_list("id", "starts_on", "ends_on")) == before


def test_ensure_demo_admin_is_idempotent_and_prints_credentials(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = True
    for _ in range(2):
        out = io.StringIO()
        call_command("ensure_demo_admin", stdout=out)
        assert "username admin, password execdash-demo" in out.getvalue()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.check_password("execdash-demo")
    admin.set_password("something-else-entirely")
    admin.save()
    out = io.StringIO()
    call_command("ensure_demo_admin", stdout=out)
    assert "password was changed" in out.getvalue()
    admin.refresh_from_db()
    assert admin.check_password("something-else-entirely")


def test_ensure_demo_admin_refuses_in_production(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("ensure_demo_admin", stdout=io.StringIO())
    assert not get_user_model().objects.filter(username="admin").exists()
    call_command("ensure_demo_admin", "--force", stdout=io.StringIO())
    assert get_user_model().objects.filter(username="admin").exists()


def test_make_run_sequence_ends_on_the_team_list(client, settings) -> None:  # type: ignore[no-untyped-def]
    """What `make run` does after migrating: seed, print credentials, log in, see the teams."""
    import re

    settings.DEBUG = True
    seed(teams=5, weeks=2, seed=7)
    out = io.StringIO()
    call_command("ensure_demo_admin", stdout=out)
    username, password = re.search(r"username (\S+), password (\S+)", out.getvalue()).groups()  # type: ignore[union-attr]
    assert client.get("/").status_code == 302  # everything else requires login
    assert client.get("/accounts/login/").status_code == 200
    response = client.post(
        "/accounts/login/", {"username": username, "password": password}, follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("Payments", "Search", "Mobile", "Platform", "Growth"):
        assert name in page


def test_the_default_demo_has_a_stability_focus_that_worked() -> None:
    """Growth's stability focus: improved, with its expected cost (fewer deployments)
    visible, stored by the seed for the pages to read."""
    from apps.focus.evaluations import evaluation_from_stored
    from apps.focus.models import FocusEvaluation

    seed()
    period = FocusPeriod.objects.get(team__slug="growth", kind__slug=FocusKind.STABILITY)
    evaluation = evaluation_from_stored(FocusEvaluation.objects.get(period=period).payload)
    assert evaluation.verdict == "improved", evaluation
    ttr = next(m for m in evaluation.metrics if m.metric == "time_to_restore")
    assert ttr.verdict == "improved"
    costs = {m.metric: m for m in evaluation.costs}
    assert set(costs) == {"deployment_frequency", "lead_time"}
    frequency = costs["deployment_frequency"]
    assert frequency.during is not None
    assert frequency.before is not None
    assert frequency.during < frequency.before


# --- the focus periods' histories ------------------------------------------------------

Kind = FocusEvent.Kind
ST = FocusPeriod.Status


def test_every_demo_period_has_a_history_that_follows_its_status(client) -> None:  # type: ignore[no-untyped-def]
    seed(teams=5, weeks=26, seed=7)
    now = timezone.now()
    periods = FocusPeriod.objects.select_related("team").prefetch_related("events__actor")
    statuses = set()
    for period in periods:
        events = list(period.events.all())
        kinds = [e.kind for e in events]
        what = (period.team.slug, period.status, kinds)
        statuses.add(period.status)
        assert events, what
        assert kinds[0] == Kind.PROPOSED, what
        manager = period.team.memberships.get(role=Membership.Role.MANAGER).user
        assert events[0].actor == manager == period.proposed_by, what
        assert events[0].at < timezone.make_aware(
            dt.datetime.combine(period.starts_on, dt.time.min)
        ), what
        # In order, nothing after now, and the period's own "when" fields agree.
        times = [e.at for e in events]
        assert times == sorted(times), what
        assert times[-1] <= now, what
        assert period.proposed_at == [e.at for e in events if e.kind == Kind.PROPOSED][-1]
        if period.status in (ST.ALIGNED, ST.CLOSED):
            aligned = [e for e in events if e.kind == Kind.ALIGNED]
            assert len(aligned) == 1, what
            assert is_org_admin(aligned[0].actor), what
            assert (period.aligned_by, period.aligned_at) == (aligned[0].actor, aligned[0].at)
        else:
            assert Kind.ALIGNED not in kinds, what
        if period.status == ST.CLOSED:
            assert kinds == [Kind.PROPOSED, Kind.ALIGNED, Kind.REVISITED_KEEP, Kind.CLOSED], what
            closed = events[-1]
            assert closed.note, what
            assert closed.at.date() == period.ends_on, what
            assert closed.changes["ends_on"] == [None, period.ends_on.isoformat()]
            kept = events[2].changes["revisit_on"]
            assert kept[1] == period.revisit_on.isoformat(), what
            assert kept[0] < kept[1], what
        if period.status == ST.PROPOSED:
            # Sent back once with a comment, edited and proposed again.
            assert kinds == [Kind.PROPOSED, Kind.SENT_BACK, Kind.EDITED, Kind.PROPOSED], what
            assert is_org_admin(events[1].actor), what
            assert events[1].note, what
            assert events[2].changes["success_signals"] == [[], period.success_signals]
            assert (timezone.localdate() - period.proposed_at.date()).days <= 3
        if period.status == ST.ALIGNED and period.revisit_on < timezone.localdate():
            assert Kind.CLOSED not in kinds  # the overdue revisit is still to be done
        # The latest revisit date the history gives is the period's.
        dated = [e.changes["revisit_on"][1] for e in events if "revisit_on" in e.changes]
        assert dated[-1] == period.revisit_on.isoformat(), what
    assert statuses == {ST.CLOSED, ST.ALIGNED, ST.PROPOSED}

    # The period's page shows it.
    client.force_login(get_user_model().objects.get(username="dana.director"))
    waiting = FocusPeriod.objects.get(status=ST.PROPOSED)
    page = client.get(f"/teams/{waiting.team.slug}/focus/{waiting.pk}/").content.decode()
    for words in ("Proposed", "Sent back", "Edited", "Add a success signal"):
        assert words in page, words


def test_histories_are_written_once_and_added_to_periods_without_one() -> None:
    seed(teams=3, weeks=8, seed=2)
    events = list(FocusEvent.objects.order_by("pk").values())
    assert events
    seed(teams=3, weeks=8, seed=2)
    assert list(FocusEvent.objects.order_by("pk").values()) == events
    # Periods written before the demo had histories (no events) get theirs on the next run;
    # a period with a history of its own keeps it as it is.
    kept = FocusPeriod.objects.filter(team__slug="payments").first()
    FocusEvent.objects.exclude(period=kept).delete()
    own = list(kept.events.order_by("pk").values())
    out = seed(teams=3, weeks=8, seed=2)
    assert "steps of their histories" in out
    assert list(kept.events.order_by("pk").values()) == own
    assert not FocusPeriod.objects.filter(events__isnull=True).exists()
    assert FocusEvent.objects.count() == len(events)


@pytest.mark.parametrize("weeks", [1, 3])
def test_short_spans_give_histories_in_order_and_in_the_past(weeks: int) -> None:
    seed(teams=8, weeks=weeks, seed=1)
    now = timezone.now()
    for period in FocusPeriod.objects.prefetch_related("events"):
        events = list(period.events.all())
        assert events[0].kind == Kind.PROPOSED
        times = [e.at for e in events]
        assert times == sorted(times), (period, events)
        assert times[-1] <= now, (period, events)
        if period.status != ST.PROPOSED:
            assert Kind.ALIGNED in [e.kind for e in events]
