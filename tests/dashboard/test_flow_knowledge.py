"""The team page's "Flow" and "Knowledge sharing" sections: their data against hand-worked
values, who sees names, the fragments plain, with htmx and for another team, and their
query budget."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.core.timezones import org_tz, week_start_of
from apps.dashboard.charts.knowledge import anonymised, knowledge_of
from apps.dashboard.views import team_sections
from apps.dashboard.views.team_sections import names_visible
from apps.focus.models import FocusKind
from apps.incidents.models import Incident
from apps.metrics.rollups import rollups_recompute_all
from apps.metrics.selectors import PersonWork, service_work, window_metrics
from apps.releases.models import Release
from tests.dashboard.conftest import days_ago
from tests.factories import (
    FocusPeriodFactory,
    IncidentFactory,
    MembershipFactory,
    ReleaseFactory,
    TeamFactory,
    focus_kind,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
EVIL = "<img src=x onerror=alert(1)>"
DAY = dt.timedelta(days=1)


def hx(target: str) -> dict[str, str]:
    return {**HX, "HTTP_HX_TARGET": target}


def team_url(team, query: str = "") -> str:
    return reverse("teams:detail", kwargs={"slug": team.slug}) + (f"?{query}" if query else "")


def figure(content: bytes, slug: str) -> dict:
    match = re.search(
        rf'<script id="figure-{slug}" type="application/json">(.*?)</script>',
        content.decode(),
        re.S,
    )
    assert match, f"no figure {slug}"
    return json.loads(match.group(1))


def a_monday(weeks_ago: int) -> dt.datetime:
    """Midnight (org time) of the Monday `weeks_ago` weeks back."""
    monday = week_start_of(timezone.now(), org_tz()) - dt.timedelta(weeks=weeks_ago)
    return dt.datetime.combine(monday, dt.time(), tzinfo=org_tz())


def work(team, service: str, who: dict[str, tuple[int, int]]) -> None:
    """`who` maps a person to (releases deployed, incidents resolved) on `service`."""
    for person, (releases, resolutions) in who.items():
        for i in range(releases):
            ReleaseFactory(
                team=team, service=service, deployed_by=person, deployed_at=days_ago(5 + i)
            )
        for i in range(resolutions):
            IncidentFactory(
                team=team,
                service=service,
                resolved_by=person,
                started_at=days_ago(6 + i),
                resolved_at=days_ago(6 + i, hours=-1),
            )


@pytest.fixture
def shared(payments):
    """checkout: alice 3 releases + 1 resolution, bob 2 releases, carol 1 resolution (7
    items: alice alone did at least half, bus factor 1). api: bob, carol and dave one
    release each (bus factor 2: bob 1 < 1.5, bob + carol 2 ≥ 1.5)."""
    work(payments, "checkout", {"alice": (3, 1), "bob": (2, 0), "carol": (0, 1)})
    work(payments, "api", {"bob": (1, 0), "carol": (1, 0), "dave": (1, 0)})
    # Not work of anybody: an open incident, a resolution without a name.
    IncidentFactory(team=payments, service="checkout", started_at=days_ago(3), resolved_by="x")
    IncidentFactory(
        team=payments, service="checkout", started_at=days_ago(3), resolved_at=days_ago(2)
    )
    rollups_recompute_all()
    return payments


# --- knowledge sharing: the data ------------------------------------------------------------


def test_bus_factor_chart_data_by_hand(shared):
    today = timezone.localdate()
    by_service = service_work(team=shared, start=today - 90 * DAY, end=today + DAY)
    assert by_service == {
        "api": [PersonWork("bob", 1, 1), PersonWork("carol", 1, 1), PersonWork("dave", 1, 1)],
        "checkout": [
            PersonWork("alice", 4, 3),
            PersonWork("bob", 2, 2),
            PersonWork("carol", 1, 0),
        ],
    }
    knowledge = knowledge_of(by_service, show_names=True)
    # Riskiest service first.
    assert [(s.service, s.bus_factor, s.items) for s in knowledge.services] == [
        ("checkout", 1, 7),
        ("api", 2, 3),
    ]
    assert knowledge.bus_factor == 1
    assert knowledge.warnings == [
        "Only alice did at least half of checkout's releases and incident resolutions."
    ]
    chart = knowledge.chart
    assert chart is not None
    traces = {t["name"]: t for t in chart.figure["data"]}
    assert list(traces) == ["alice", "bob", "carol", "dave"]
    assert all(t["orientation"] == "h" for t in traces.values())
    assert chart.figure["layout"]["barmode"] == "stack"
    for trace in traces.values():
        assert list(trace["y"]) == ["checkout", "api"]
    # Shares of each service's work, in %.
    assert list(traces["alice"]["x"]) == [pytest.approx(57.14, abs=0.01), None]
    assert list(traces["bob"]["x"]) == [
        pytest.approx(28.57, abs=0.01),
        pytest.approx(33.33, abs=0.01),
    ]
    assert list(traces["carol"]["x"]) == [
        pytest.approx(14.29, abs=0.01),
        pytest.approx(33.33, abs=0.01),
    ]
    assert list(traces["dave"]["x"]) == [None, pytest.approx(33.33, abs=0.01)]
    assert "3 releases, 1 incident resolution" in traces["alice"]["text"][0]
    assert "checkout: bus factor 1, 7 items; alice 57.1 %" in chart.summary


def test_the_team_bus_factor_is_the_metrics_engines(shared):
    today = timezone.localdate()
    start, end = today - 90 * DAY, today + DAY
    knowledge = knowledge_of(service_work(team=shared, start=start, end=end), show_names=True)
    assert knowledge.bus_factor == window_metrics(team=shared, start=start, end=end).bus_factor


def test_anonymised_people_are_numbered_by_work_before_anything_is_built():
    work_ = {
        "checkout": [PersonWork("alice", 4, 3), PersonWork("bob", 2, 2)],
        "api": [PersonWork("bob", 3, 3), PersonWork("carol", 1, 0)],
    }
    # bob 5, alice 4, carol 1
    assert anonymised(work_) == {
        "checkout": [PersonWork("person 2", 4, 3), PersonWork("person 1", 2, 2)],
        "api": [PersonWork("person 1", 3, 3), PersonWork("person 3", 1, 0)],
    }
    knowledge = knowledge_of(work_, show_names=False)
    text = json.dumps(knowledge.chart.figure) + knowledge.chart.summary + str(knowledge.warnings)
    assert not {"alice", "bob", "carol"} & set(re.findall(r"[a-z]+", text))
    assert not knowledge.names_shown


def test_no_work_no_chart():
    knowledge = knowledge_of({}, show_names=True)
    assert knowledge.chart is None
    assert knowledge.bus_factor is None
    assert not knowledge.warnings


# --- knowledge sharing: the page ------------------------------------------------------------


@pytest.mark.parametrize("user_fixture", ["member", "manager", "admin"])
def test_names_are_shown_to_members_managers_and_admins(client, request, shared, user_fixture):
    user = request.getfixturevalue(user_fixture)
    assert names_visible(user, shared)
    client.force_login(user)
    response = client.get(team_url(shared), **hx("team-knowledge"))
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section id="team-knowledge"')
    assert "Only alice did at least half of checkout&#x27;s releases" in content
    assert "person 1" not in content
    assert figure(response.content, "knowledge")["data"][0]["name"] == "alice"


def test_names_are_not_shown_to_anyone_else(outsider, loner, shared):
    assert not names_visible(outsider, shared)
    assert not names_visible(loner, shared)


def test_without_the_right_to_names_the_section_numbers_people(client, member, shared, monkeypatch):
    client.force_login(member)
    # Named first (and cached): the anonymised answer is never the cached named one.
    assert "alice" in client.get(team_url(shared), **hx("team-knowledge")).content.decode()
    monkeypatch.setattr(team_sections, "names_visible", lambda user, team: False)
    response = client.get(team_url(shared), **hx("team-knowledge"))
    content = response.content.decode()
    assert "Only person 1 did at least half of checkout" in content
    assert "People are numbered, not named" in content
    for name in ("alice", "bob", "carol", "dave"):
        assert name not in content


def test_people_and_services_are_data_not_html(client, member, payments):
    work(payments, EVIL, {EVIL: (2, 0)})
    rollups_recompute_all()
    client.force_login(member)
    response = client.get(team_url(payments), **hx("team-knowledge"))
    content = response.content.decode()
    assert EVIL not in content
    assert "&lt;img src=x onerror=alert(1)&gt;" in content
    data = figure(response.content, "knowledge")["data"][0]
    assert data["name"] == "&lt;img src=x onerror=alert(1)&gt;"
    assert data["y"] == ["&lt;img src=x onerror=alert(1)&gt;"]


def test_knowledge_sharing_focus_highlights_the_section_with_its_signals(client, member, shared):
    FocusPeriodFactory(
        team=shared,
        kind=focus_kind(FocusKind.KNOWLEDGE_SHARING),
        starts_on=timezone.localdate() - 20 * DAY,
        success_signals=[
            {"metric": "bus_factor", "target": "≥ 2 on every service"},
            {"metric": "lead_time", "target": "median < 1 day"},
        ],
    )
    client.force_login(member)
    content = client.get(team_url(shared), **hx("team-knowledge")).content.decode()
    assert "section-focus" in content
    assert "Focus: Knowledge sharing" in content  # a label, not only a colour
    assert "The bus factors below are this period's success signals" in content
    assert "(target: ≥ 2 on every service)" in content
    assert "median &lt; 1 day" not in content


def test_without_a_knowledge_sharing_focus_no_highlight(client, member, shared):
    FocusPeriodFactory(team=shared, starts_on=timezone.localdate() - 20 * DAY)  # stability
    client.force_login(member)
    content = client.get(team_url(shared), **hx("team-knowledge")).content.decode()
    assert "section-focus" not in content
    assert "success signals" not in content


# --- flow ---------------------------------------------------------------------------------


def test_little_law_wip_per_week_on_the_page(client, member, payments):
    monday = a_monday(3)
    # Three releases with lead times of 1, 2 and 3 days (mean 2 days), one without: 4
    # deployments, WIP = 4 / 7 x 2 = 1.143 changes under way.
    for lead_days, hour in ((1, 10), (2, 11), (3, 12)):
        deployed = monday + dt.timedelta(days=1, hours=hour)
        ReleaseFactory(
            team=payments, deployed_at=deployed, first_commit_at=deployed - lead_days * DAY
        )
    ReleaseFactory(team=payments, deployed_at=monday + dt.timedelta(days=2), first_commit_at=None)
    # The week after: 7 deployments of 12 h each → 7 / 7 x 0.5 = 0.5.
    for i in range(7):
        deployed = monday + dt.timedelta(weeks=1, hours=12 + i)
        ReleaseFactory(
            team=payments, deployed_at=deployed, first_commit_at=deployed - dt.timedelta(hours=12)
        )
    rollups_recompute_all()
    client.force_login(member)
    response = client.get(team_url(payments), **hx("team-flow"))
    assert response.status_code == 200
    traces = {t["name"]: t for t in figure(response.content, "flow")["data"]}
    wip = dict(zip(traces["work in progress"]["x"], traces["work in progress"]["y"], strict=True))
    first, second = monday.date().isoformat(), (monday + dt.timedelta(weeks=1)).date().isoformat()
    assert wip[first] == pytest.approx(1.143, abs=0.001)
    assert wip[second] == pytest.approx(0.5)
    assert {week: value for week, value in wip.items() if week not in (first, second)} == {
        week: None for week in wip if week not in (first, second)
    }
    deployments = dict(zip(traces["deployments"]["x"], traces["deployments"]["y"], strict=True))
    assert (deployments[first], deployments[second]) == (4, 7)
    lead = dict(zip(traces["mean lead time"]["x"], traces["mean lead time"]["y"], strict=True))
    assert (lead[first], lead[second]) == (pytest.approx(2.0), pytest.approx(0.5))
    # The three share the range with the other charts: the same x axis.
    layout = figure(response.content, "flow")["layout"]
    assert {"yaxis2", "yaxis3"} <= set(layout)
    charts = client.get(team_url(payments), **hx("team-charts"))
    lead_time = figure(charts.content, "lead-time")
    assert layout["xaxis"]["range"] == lead_time["layout"]["xaxis"]["range"]


def test_kingman_with_few_samples_says_c_is_one(client, member, payments):
    for i in range(5):
        ReleaseFactory(
            team=payments, deployed_at=days_ago(3 + i), first_commit_at=days_ago(4 + 3 * i)
        )
    rollups_recompute_all()
    client.force_login(member)
    response = client.get(team_url(payments), **hx("team-flow"))
    content = response.content.decode()
    assert "Fewer than 20 times between deployments in this range (4)" in content
    assert "Fewer than 20 lead times in this range (5)" in content
    assert "so their variability is taken as c = 1" in content
    kingman = figure(response.content, "kingman")["data"][0]
    assert list(kingman["x"]) == [50, 55, 60, 65, 70, 75, 80, 85, 90, 95]
    # c = 1 both: W = rho/(1-rho) · s; s = mean lead time = mean of 1, 3, 5, 7, 9 days = 5 days.
    assert kingman["y"][0] == pytest.approx(5.0)  # days, at 50 %
    assert kingman["y"][-1] == pytest.approx(95.0)  # 19 x 5 days, at 95 %
    assert "nineteen times as long as at 50 % (5 days)" in content


def test_kingman_with_enough_samples_uses_the_teams_variability(client, member, payments):
    # 22 deployments a day apart (21 equal gaps: c = 0) and 22 lead times, half of 1 day and
    # half of 3 days (mean 2 days, standard deviation 1 day: c = 0.5).
    for i in range(22):
        lead = 1 if i % 2 else 3
        ReleaseFactory(
            team=payments, deployed_at=days_ago(2 + i), first_commit_at=days_ago(2 + i + lead)
        )
    rollups_recompute_all()
    client.force_login(member)
    content = client.get(team_url(payments), **hx("team-flow")).content.decode()
    assert "Variability of the times between deployments: c = 0.00, from 21 samples." in content
    assert "Variability of the lead times: c = 0.50, from 22 samples." in content
    assert "taken as c = 1" not in content


def test_sections_follow_a_recompute(client, member, shared):
    client.force_login(member)
    before = client.get(team_url(shared), **hx("team-knowledge")).content.decode()
    assert 'Team bus factor: <strong class="number-value">1</strong>' in before
    flow_before = figure(client.get(team_url(shared), **hx("team-flow")).content, "flow")
    work(shared, "checkout", {"bob": (3, 0), "carol": (2, 0)})  # now 12 items, alice 4
    rollups_recompute_all()
    after = client.get(team_url(shared), **hx("team-knowledge")).content.decode()
    assert "Only alice did at least half of checkout" not in after
    assert 'Team bus factor: <strong class="number-value">2</strong>' in after
    flow_after = figure(client.get(team_url(shared), **hx("team-flow")).content, "flow")
    assert flow_after["data"][1]["y"] != flow_before["data"][1]["y"]  # deployments


def test_flow_without_lead_times_says_so(client, member, payments):
    ReleaseFactory(team=payments, deployed_at=days_ago(3))
    client.force_login(member)
    content = client.get(team_url(payments), **hx("team-flow")).content.decode()
    assert "no work in progress can be estimated" in content
    assert "no service time to draw the curve from" in content
    assert 'id="figure-kingman"' not in content


# --- the fragments: plain, htmx, another team ---------------------------------------------


def test_the_page_carries_both_sections_as_lazy_placeholders(client, member, shared):
    client.force_login(member)
    content = client.get(team_url(shared, "range=26w")).content.decode()
    for target in ("team-flow", "team-knowledge"):
        section = re.search(rf'<section id="{target}".*?</section>', content, re.S)
        assert section, target
        assert 'hx-trigger="revealed, execdash:fresh from:body"' in section.group(0)
        assert 'hx-get="/teams/payments/?range=26w"' in section.group(0)
        assert "figure-" not in section.group(0)
        assert "alice" not in section.group(0)


@pytest.mark.parametrize("target", ["team-flow", "team-knowledge"])
def test_each_fragment_with_htmx_is_the_section_alone(client, member, shared, target):
    client.force_login(member)
    response = client.get(team_url(shared), **hx(target))
    assert response.status_code == 200
    assert response.content.lstrip().startswith(f'<section id="{target}"'.encode())
    assert b"<html" not in response.content
    # Loaded: it no longer asks for itself when revealed, only when the numbers are fresh.
    assert b'hx-trigger="execdash:fresh from:body"' in response.content
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    "headers", [{}, hx("team-flow"), hx("team-knowledge")], ids=["page", "flow", "knowledge"]
)
def test_sections_404_for_another_teams_member(client, outsider, shared, headers):
    client.force_login(outsider)
    assert client.get(team_url(shared), **headers).status_code == 404


@pytest.mark.parametrize("target", ["team-flow", "team-knowledge"])
def test_sections_send_anonymous_viewers_to_log_in(client, shared, target):
    response = client.get(team_url(shared), **hx(target))
    assert response.status_code in (302, 401) or "HX-Redirect" in response


# --- query budget -------------------------------------------------------------------------


def _queries(client, url: str, **headers) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(queries)


def _org(n_teams: int, n_services: int, n_people: int):
    teams = [TeamFactory(name=f"Team {i:03d}", slug=f"team-{i:03d}") for i in range(n_teams)]
    team = teams[0]
    user = MembershipFactory(team=team).user
    releases, incidents = [], []
    for s in range(n_services):
        for p in range(n_people):
            deployed = days_ago(3 + s + p)
            releases.append(
                Release(
                    team=team,
                    service=f"svc-{s}",
                    version=f"{s}.{p}",
                    deployed_at=deployed,
                    first_commit_at=deployed - DAY,
                    deployed_by=f"dev{p}",
                )
            )
            incidents.append(
                Incident(
                    team=team,
                    title=f"i {s} {p}",
                    service=f"svc-{s}",
                    started_at=deployed,
                    resolved_at=deployed + dt.timedelta(hours=1),
                    resolved_by=f"dev{p}",
                )
            )
    Release.objects.bulk_create(releases)
    Incident.objects.bulk_create(incidents)
    FocusPeriodFactory(team=team, kind=focus_kind(FocusKind.KNOWLEDGE_SHARING))
    rollups_recompute_all()
    return team, user


@pytest.mark.parametrize("target", ["team-flow", "team-knowledge"])
def test_fragment_queries_are_constant_in_teams_services_and_people(client, target):
    counts = []
    for n_teams, n_services, n_people in ((2, 1, 2), (40, 6, 8)):
        from apps.teams.models import Team

        Team.objects.all().delete()
        team, user = _org(n_teams, n_services, n_people)
        client.force_login(user)
        counts.append(_queries(client, team_url(team, "range=26w"), **hx(target)))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 12, counts


# --- a knowledge-sharing focus from the section -------------------------------------------


def test_managers_are_offered_a_knowledge_sharing_focus_with_the_bus_factor_signal(
    client, manager, member, shared
):
    client.force_login(member)
    assert (
        b"?kind=knowledge_sharing"
        not in client.get(team_url(shared), **hx("team-knowledge")).content
    )
    client.force_login(manager)
    content = client.get(team_url(shared), **hx("team-knowledge")).content.decode()
    link = "/teams/payments/focus/propose/?kind=knowledge_sharing"
    assert f'href="{link}"' in content
    form = client.get(link).content.decode()
    kind = focus_kind(FocusKind.KNOWLEDGE_SHARING)
    assert re.search(rf'<option value="{kind.pk}"[^>]*selected', form)
    assert re.search(r'<option value="bus_factor"[^>]*selected', form)
    assert re.search(r'<option value="&gt;="[^>]*selected', form)
    assert re.search(r'name="signal_1_target"[^>]*value="2"', form)
    # Without a kind, or of another kind, no signal is preset.
    plain = client.get("/teams/payments/focus/propose/?kind=stability").content.decode()
    assert not re.search(r'<option value="bus_factor"[^>]*selected', plain)
