"""A large organization: the overview shows the cards most in need of attention first and the
rest one click away; the navigation lists a few teams and links the overview of all."""

from __future__ import annotations

import re

import pytest

from apps.dashboard.views.overview import OVERVIEW_FIRST_CARDS
from apps.incidents.models import Incident
from apps.teams.context_processors import NAV_TEAMS
from tests.dashboard.conftest import large_org, open_incident
from tests.factories import MembershipFactory, TeamFactory

pytestmark = pytest.mark.django_db

HX_CONTENT = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "content"}
MORE = OVERVIEW_FIRST_CARDS + 6


@pytest.fixture
def many_teams(db):
    return large_org(MORE)


def _cards(html: str) -> list[str]:
    return re.findall(r'<article class="team-card[^"]*" data-team="([^"]+)"', html)


def test_the_overview_shows_the_first_cards_and_offers_the_rest(client, admin, many_teams):
    client.force_login(admin)
    html = client.get("/").content.decode()
    shown = _cards(html)
    assert len(shown) == OVERVIEW_FIRST_CARDS
    assert shown[0] == "zulu"  # the open SEV1 first, though last by name
    assert f"Show all {MORE} teams" in html
    assert 'href="?range=13w&amp;teams=all"' in html
    assert "The 6 other teams have no open SEV1/SEV2 incident" in html


def test_show_all_lists_every_team_and_keeps_it_across_ranges(client, admin, many_teams):
    client.force_login(admin)
    html = client.get("/?range=13w&teams=all").content.decode()
    assert len(_cards(html)) == MORE
    assert "Show all" not in html
    # The presets and the custom dates keep every team shown.
    assert 'href="?range=4w&amp;teams=all"' in html
    assert '<input type="hidden" name="teams" value="all">' in html

    fragment = client.get("/?range=4w&teams=all", **HX_CONTENT).content.decode()
    assert len(_cards(fragment)) == MORE
    assert fragment.lstrip().startswith('<div id="content"')


def test_the_hidden_teams_that_need_attention_are_counted(client, admin, many_teams):
    # Every team but one has an open SEV2: the cards cut at the limit still need attention.
    for team in many_teams[:-1]:
        open_incident(team, Incident.Severity.SEV2, hours_ago=24)
    client.force_login(admin)
    html = client.get("/").content.decode()
    assert len(_cards(html)) == OVERVIEW_FIRST_CARDS
    assert "6 more teams, 6 of them with an open SEV1/SEV2 incident" in html


def test_a_few_teams_are_all_shown_without_the_offer(client, admin):
    for i in range(3):
        TeamFactory(name=f"Team {i}", slug=f"team-{i}")
    client.force_login(admin)
    html = client.get("/").content.decode()
    assert len(_cards(html)) == 3
    assert "Show all" not in html
    assert "All teams →" not in html


def test_the_navigation_lists_a_few_teams_and_links_all(client, admin, many_teams):
    client.force_login(admin)
    for url in ("/", "/teams/team-000/", "/incidents/new/"):
        response = client.get(url)
        html = response.content.decode()
        nav = html.split('<details class="dropdown nav-teams">', 1)[1].split("</details>", 1)[0]
        assert nav.count('href="/teams/') == NAV_TEAMS, url
        assert 'href="/?teams=all">All teams →</a>' in nav, url


def test_a_member_of_many_teams_sees_the_same_limits(client, many_teams):
    member = MembershipFactory(team=many_teams[0]).user
    for team in many_teams[1:]:
        MembershipFactory(team=team, user=member)
    client.force_login(member)
    html = client.get("/").content.decode()
    assert len(_cards(html)) == OVERVIEW_FIRST_CARDS
    assert len(_cards(client.get("/?teams=all").content.decode())) == MORE
