"""The overview, the team page and its fragments: who sees what, plain and with htmx."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.metrics.models import DirtyBucket
from apps.metrics.selectors import preset_window
from tests.dashboard.conftest import days_ago
from tests.factories import PASSWORD, IncidentFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
EVIL = "<img src=x onerror=alert(1)>"


def hx(target: str) -> dict[str, str]:
    return {**HX, "HTTP_HX_TARGET": target}


def team_url(team, query: str = "") -> str:
    return reverse("teams:detail", kwargs={"slug": team.slug}) + (f"?{query}" if query else "")


# --- anonymous ----------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, HX])
def test_anonymous_viewers_are_sent_to_log_in(client, payments, headers):
    for url in (reverse("teams:overview"), team_url(payments), reverse("teams:definitions")):
        response = client.get(url, **headers)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_logging_in_lands_on_the_overview(client, manager):
    response = client.post(reverse("login"), {"username": manager.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("teams:overview") == "/"


# --- overview -----------------------------------------------------------------------------


def test_overview_shows_the_whole_page_or_the_swapped_fragment(client, manager, payments):
    client.force_login(manager)
    page = client.get("/")
    assert page.status_code == 200
    assert b"<html" in page.content
    assert b'id="content"' in page.content
    assert "HX-Request" in page["Vary"]

    fragment = client.get("/?range=4w", **hx("content"))
    assert fragment.status_code == 200
    assert b"<html" not in fragment.content
    assert fragment.content.lstrip().startswith(b'<div id="content"')
    assert b"Last 4 weeks" in fragment.content
    assert b"Payments" in fragment.content


def test_a_history_restore_gets_the_whole_page(client, manager):
    client.force_login(manager)
    response = client.get("/?range=4w", **HX, HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert b"<html" in response.content


def test_overview_lists_only_the_teams_the_viewer_may_see(client, member, payments, search):
    client.force_login(member)
    content = client.get("/").content.decode()
    assert 'data-team="payments"' in content
    assert 'data-team="search"' not in content


def test_admins_see_every_team(client, admin, payments, search):
    client.force_login(admin)
    content = client.get("/").content.decode()
    assert 'data-team="payments"' in content
    assert 'data-team="search"' in content


def test_overview_card_has_focus_numbers_badges_sparklines_and_warning(
    client, manager, payments_history
):
    client.force_login(manager)
    content = client.get("/").content.decode()
    card = content[content.index('data-team="payments"') :]
    assert "Focus: Throughput" in card
    assert "Throughput focus while change failure rate is 50 % (low)" in card
    assert card.count('class="sparkline') >= 4
    assert "level-low" in card
    assert "not enough data" in card  # one incident: too few samples for a level
    assert "1 open SEV1/SEV2" not in card  # it was resolved
    assert 'href="/teams/payments/?range=13w"' in card


def test_org_totals_compare_with_the_previous_range_in_words(client, manager, payments_history):
    client.force_login(manager)
    content = client.get("/").content.decode()
    assert "Deployments per week" in content
    days = 12 * 7 + timezone.localdate().weekday() + 1
    assert f"vs the previous {days} days" in content
    # Nothing happened the 13 weeks before: the change has nothing to compare with.
    assert "no earlier data" in content


def test_empty_state_for_a_viewer_without_teams(client, loner):
    client.force_login(loner)
    content = client.get("/").content.decode()
    assert "No teams yet" in content
    assert "ask an admin to add you" in content
    assert "Add a team" not in content


def test_empty_state_for_an_admin_links_to_the_admin(client, admin):
    client.force_login(admin)
    content = client.get("/").content.decode()
    assert "No teams yet" in content
    assert reverse("admin:teams_team_add") in content


def test_team_names_are_escaped(client, admin):
    from tests.factories import TeamFactory

    TeamFactory(name=EVIL, slug="evil")
    client.force_login(admin)
    content = client.get("/").content.decode()
    assert EVIL not in content
    assert "&lt;img src=x onerror=alert(1)&gt;" in content
    content = client.get("/teams/evil/").content.decode()
    assert EVIL not in content


# --- date ranges --------------------------------------------------------------------------


def test_default_range_is_the_last_13_weeks_up_to_today(client, manager):
    client.force_login(manager)
    response = client.get("/")
    start, end = preset_window(13)
    date_range = response.context["date_range"]
    assert (date_range.start, date_range.end) == (start, end)
    assert date_range.query == "range=13w"


@pytest.mark.parametrize(("key", "weeks"), [("4w", 4), ("13w", 13), ("26w", 26), ("52w", 52)])
def test_presets(client, manager, key, weeks):
    client.force_login(manager)
    response = client.get(f"/?range={key}")
    date_range = response.context["date_range"]
    assert (date_range.start, date_range.end) == preset_window(weeks)
    today = timezone.localdate()
    assert date_range.end == today + dt.timedelta(days=1)
    assert date_range.start == today - dt.timedelta(days=today.weekday(), weeks=weeks - 1)
    assert f'id="range-{key}" href="?range={key}"' in response.content.decode()
    assert 'aria-current="true"' in response.content.decode()


def test_custom_dates_include_the_last_day(client, manager):
    client.force_login(manager)
    response = client.get("/?start=2025-01-06&end=2025-03-30")
    date_range = response.context["date_range"]
    assert date_range.start == dt.date(2025, 1, 6)
    assert date_range.end == dt.date(2025, 3, 31)
    assert date_range.query == "start=2025-01-06&end=2025-03-30"
    assert "6 Jan 2025 to 30 Mar 2025" in response.content.decode()
    assert response.context["range_error"] == ""


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2025-02-30&end=2025-03-01", "Enter the start date as YYYY-MM-DD."),
        ("start=yesterday&end=today", "Enter the start date as YYYY-MM-DD."),
        ("start=2025-03-01&end=2025-02-01", "The end date is before the start date."),
        ("start=2025-03-01", "Give both a start and an end date"),
        ("start=2015-01-01&end=2025-01-01", "Pick at most 156 weeks at once"),
        ("range=7w", "Choose one of the ranges offered"),
    ],
)
def test_bad_dates_are_a_message_not_a_500(client, manager, payments, query, message):
    client.force_login(manager)
    for headers in ({}, hx("content")):
        response = client.get(f"/?{query}", **headers)
        assert response.status_code == 200
        content = response.content.decode()
        assert message in content
        assert 'role="alert"' in content
        assert "Showing last 13 weeks instead." in content
    response = client.get(team_url(payments, query))
    assert response.status_code == 200
    assert message in response.content.decode()


def test_a_future_end_date_is_refused(client, manager):
    client.force_login(manager)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = client.get(f"/?start=2025-01-01&end={tomorrow.isoformat()}")
    assert "The end date is in the future" in response.content.decode()


def test_numbers_change_with_the_range(client, manager, payments_history):
    client.force_login(manager)
    four = client.get("/?range=4w").context["overview"]
    fifty_two = client.get("/?range=52w").context["overview"]
    assert four.totals[0].value != fifty_two.totals[0].value


# --- team page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, hx("content"), hx("team-numbers"), hx("team-charts")],
    ids=["page", "content", "numbers", "charts"],
)
def test_team_page_and_fragments_404_for_another_teams_member(client, outsider, payments, headers):
    client.force_login(outsider)
    response = client.get(team_url(payments), **headers)
    assert response.status_code == 404


def test_team_page_404_for_a_team_that_does_not_exist(client, admin):
    client.force_login(admin)
    assert client.get("/teams/nope/").status_code == 404


@pytest.mark.parametrize("user_fixture", ["member", "manager", "admin"])
def test_team_page_for_allowed_viewers(client, request, payments_history, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    response = client.get(team_url(payments_history))
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" in content
    assert "Ship the new checkout." in content  # the focus rationale
    assert "Focus timeline" in content
    for slug in ("time-to-restore", "change-failure-rate", "deployment-frequency", "lead-time"):
        assert f'data-plotly="figure-{slug}"' in content
        assert f'id="figure-{slug}" type="application/json"' in content
        assert f'href="/definitions/#{slug}"' in content
    assert "vendor/plotly/plotly-basic.min.js" in content
    assert "Checkout down" in content  # latest incidents
    assert "Stability first: Throughput focus while change failure rate is 50 % (low)" in content


def test_team_page_fragments(client, manager, payments_history):
    client.force_login(manager)
    content = client.get(team_url(payments_history, "range=26w"), **hx("content"))
    assert content.status_code == 200
    assert content.content.lstrip().startswith(b'<div id="content"')
    assert b"Last 26 weeks" in content.content

    numbers = client.get(team_url(payments_history), **hx("team-numbers"))
    assert numbers.content.lstrip().startswith(b'<section id="team-numbers"')
    assert b"Time to restore" in numbers.content
    assert b"figure-" not in numbers.content

    charts = client.get(team_url(payments_history), **hx("team-charts"))
    assert charts.content.lstrip().startswith(b'<section id="team-charts"')
    # Four figures and, once for all of them, the markers they share.
    assert charts.content.count(b'type="application/json"') == 5
    assert charts.content.count(b'id="chart-markers" type="application/json"') == 1
    assert charts.content.count(b'data-plotly-markers="chart-markers"') == 4


def test_numbers_poll_while_a_recompute_is_pending_and_stop_when_fresh(
    client, manager, payments_history
):
    client.force_login(manager)
    DirtyBucket.objects.create(
        team=payments_history, week_start=dt.date(2025, 1, 6), marked_at=timezone.now()
    )
    page = client.get(team_url(payments_history)).content.decode()
    assert 'hx-trigger="every 2s"' in page
    polled = client.get(team_url(payments_history), **hx("team-numbers"))
    assert b'hx-trigger="every 2s"' in polled.content
    assert "HX-Trigger" not in polled

    DirtyBucket.objects.all().delete()
    fresh = client.get(team_url(payments_history), **hx("team-numbers"))
    assert b"every 2s" not in fresh.content  # no trigger: polling stops
    assert "execdash:fresh" in fresh["HX-Trigger"]  # and the charts redraw
    assert b"Computed" in fresh.content


def test_chart_markers_escape_incident_titles(client, manager, payments):
    IncidentFactory(team=payments, title=EVIL, severity="SEV1", started_at=days_ago(9))
    client.force_login(manager)
    content = client.get(team_url(payments)).content.decode()
    assert EVIL not in content
    # json_script escapes < again; decoded, the figure holds the HTML-escaped title.
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in content


def test_definitions_page(client, member):
    client.force_login(member)
    content = client.get(reverse("teams:definitions")).content.decode()
    for anchor in (
        "time-to-restore",
        "change-failure-rate",
        "deployment-frequency",
        "lead-time",
        "failed-deployment-recovery",
        "rework-rate",
        "open-incidents",
        "bus-factor",
        "dora-levels",
    ):
        assert f'id="{anchor}"' in content
    assert "DORA levels (2023 benchmarks)" in content
    assert "≤ 5 %" in content
    assert "&lt; 1 h" in content


# --- query counts -------------------------------------------------------------------------


def _count(client, url: str, **headers) -> tuple[int, int]:
    """Queries of the first view (which computes and caches the window answers) and of the
    next one (which reads them)."""
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **headers)
        assert response.status_code == 200
        counts.append(len(queries))
    return counts[0], counts[1]


def _counts(client, admin, n_teams: int) -> dict[str, tuple[int, int]]:
    from tests.dashboard.conftest import build_org

    teams = build_org(n_teams)
    client.force_login(admin)
    team = teams[0]
    return {
        "overview": _count(client, "/"),
        "overview fragment": _count(client, "/?range=4w", **hx("content")),
        "overview, every team": _count(client, "/?range=26w&teams=all"),
        "overview custom": _count(client, "/?start=2025-01-01&end=2025-06-30"),
        "team page": _count(client, team_url(team)),
        "team content": _count(client, team_url(team, "range=52w"), **hx("content")),
        "team numbers": _count(client, team_url(team, "range=26w"), **hx("team-numbers")),
        "team charts": _count(client, team_url(team), **hx("team-charts")),
    }


def test_query_counts_are_constant_and_small(client, admin):
    small = _counts(client, admin, 5)
    from apps.teams.models import Team

    Team.objects.all().delete()
    large = _counts(client, admin, 50)
    # The same at 5 and at 50 teams, computing the windows or reading them back...
    assert small == large, (small, large)
    # ...and within budget once the window answers are cached (as after the worker ran).
    assert max(warm for _cold, warm in large.values()) <= 12, large
