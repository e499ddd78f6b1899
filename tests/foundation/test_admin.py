"""The Django admin: every model's list and change pages load, with a bounded query count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from apps.api.models import ApiToken, hash_token
from apps.focus.models import FocusPeriod, SentReminder
from apps.incidents.models import Incident
from apps.metrics.models import DirtyBucket, RecomputeRun, WeeklyRollup
from apps.releases.models import Release
from tests.factories import (
    AdminFactory,
    FocusPeriodFactory,
    IncidentFactory,
    MembershipFactory,
    OutcomeMeasurementFactory,
    ReleaseFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

OUR_APPS = {"teams", "focus", "incidents", "releases", "outcomes", "metrics", "api"}
MAX_QUERIES = 12  # a list page runs 5-9 today; an N+1 over its rows would pass this


def our_models() -> list[type]:
    return sorted(
        (m for m in admin.site._registry if m._meta.app_label in OUR_APPS),
        key=lambda m: m._meta.label,
    )


@pytest.fixture
def data():  # type: ignore[no-untyped-def]
    now = timezone.now()
    for _ in range(3):
        team = TeamFactory()
        MembershipFactory(team=team)
        MembershipFactory(team=team)
        period = FocusPeriodFactory(team=team)
        SentReminder.objects.create(
            period=period,
            recipient=period.team.memberships.first().user,
            day=now.date(),
            kind=SentReminder.Kind.REVISIT_DUE,
        )
        for n in range(4):
            release = ReleaseFactory(team=team, deployed_at=now - dt.timedelta(days=n + 1))
            IncidentFactory(
                team=team,
                started_at=now - dt.timedelta(days=n),
                cause=Incident.Cause.RELEASE,
                caused_by=release,
            )
        OutcomeMeasurementFactory(outcome__team=team)
        WeeklyRollup.objects.create(
            scope=team.id, team=team, week_start=dt.date(2026, 1, 5), computed_at=now
        )
        DirtyBucket.objects.create(team=team, week_start=dt.date(2026, 1, 5), marked_at=now)
        ApiToken.objects.create(
            name=f"ci {team.slug}", team=team, token_hash=hash_token(team.slug), hint="exd_abc"
        )
    RecomputeRun.objects.create(trigger="worker", started_at=now, finished_at=now, buckets=3)


@pytest.fixture
def admin_client_(client):  # type: ignore[no-untyped-def]
    client.force_login(AdminFactory())
    return client


def test_every_model_of_the_product_is_registered() -> None:
    labels = {m._meta.label for m in our_models()}
    assert {
        "teams.Team",
        "teams.Membership",
        "focus.FocusKind",
        "focus.FocusPeriod",
        "incidents.Incident",
        "releases.Release",
        "outcomes.Outcome",
        "api.ApiToken",
        "metrics.WeeklyRollup",
        "metrics.RecomputeRun",
    } <= labels


@pytest.mark.usefixtures("data")
def test_changelists_and_change_pages_load(admin_client_, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for model in our_models():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        with django_assert_max_num_queries(MAX_QUERIES):
            response = admin_client_.get(url)
        assert response.status_code == 200, url
        obj = model.objects.first()
        assert obj is not None, opts.label
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        response = admin_client_.get(url)
        assert response.status_code == 200, url
        search = admin_client_.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": "x"}
        )
        assert search.status_code == 200


@pytest.mark.usefixtures("data")
def test_changelist_queries_do_not_grow_with_rows(
    admin_client_, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    url = reverse("admin:incidents_incident_changelist")
    with django_assert_max_num_queries(MAX_QUERIES):
        admin_client_.get(url)
    team = TeamFactory()
    for n in range(30):
        IncidentFactory(team=team, started_at=timezone.now() - dt.timedelta(hours=n))
    with django_assert_max_num_queries(MAX_QUERIES):
        assert admin_client_.get(url).status_code == 200


def test_worker_tables_and_tokens_are_read_only(admin_client_) -> None:  # type: ignore[no-untyped-def]
    for name in ("metrics_weeklyrollup", "metrics_recomputerun", "api_apitoken"):
        assert admin_client_.get(reverse(f"admin:{name}_add")).status_code == 403


def test_revoke_tokens_from_the_admin(admin_client_) -> None:  # type: ignore[no-untyped-def]
    token = ApiToken.objects.create(name="ci", token_hash=hash_token("t"), hint="exd_t")
    response = admin_client_.post(
        reverse("admin:api_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_focus_actions_align_and_close(admin_client_) -> None:  # type: ignore[no-untyped-def]
    period = FocusPeriodFactory(status=FocusPeriod.Status.PROPOSED)
    url = reverse("admin:focus_focusperiod_changelist")
    admin_client_.post(url, {"action": "align", "_selected_action": [period.pk]})
    period.refresh_from_db()
    assert period.status == FocusPeriod.Status.ALIGNED
    assert period.aligned_by is not None
    admin_client_.post(url, {"action": "close_today", "_selected_action": [period.pk]})
    period.refresh_from_db()
    assert period.status == FocusPeriod.Status.CLOSED
    assert period.ends_on == timezone.localdate()


def test_an_overlapping_focus_is_a_field_error_in_the_admin(admin_client_) -> None:  # type: ignore[no-untyped-def]
    existing = FocusPeriodFactory(starts_on=dt.date(2026, 1, 5), ends_on=None)
    response = admin_client_.post(
        reverse("admin:focus_focusperiod_add"),
        {
            "team": existing.team.pk,
            "kind": existing.kind.pk,
            "starts_on": "2026-03-02",
            "status": "proposed",
            "rationale": "again",
            "success_signals": "[]",
        },
    )
    assert response.status_code == 200
    assert "Overlaps the" in response.content.decode()
    assert FocusPeriod.objects.filter(team=existing.team).count() == 1


def test_admin_edits_mark_the_weeks_dirty(admin_client_) -> None:  # type: ignore[no-untyped-def]
    from apps.core.timezones import week_start_of

    release = ReleaseFactory(deployed_at=timezone.now() - dt.timedelta(days=20))
    DirtyBucket.objects.all().delete()
    url = reverse("admin:releases_release_change", args=[release.pk])
    page = admin_client_.get(url)
    assert page.status_code == 200
    moved = timezone.localtime(timezone.now() - dt.timedelta(days=1))
    response = admin_client_.post(
        url,
        {
            "team": release.team.pk,
            "service": "api",
            "version": release.version,
            "deployed_at_0": moved.strftime("%Y-%m-%d"),
            "deployed_at_1": moved.strftime("%H:%M:%S"),
            "status": Release.Status.ROLLED_BACK,
            "change_count": 3,
            "deployed_by": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    weeks = set(DirtyBucket.objects.filter(team=release.team).values_list("week_start", flat=True))
    assert weeks == {week_start_of(release.deployed_at), week_start_of(moved)}
