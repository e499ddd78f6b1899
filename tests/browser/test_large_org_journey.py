"""An admin of a large organization reads the overview: the cards most in need of attention
first, every team one click away, kept while the range changes."""

from __future__ import annotations

import re

import pytest

from apps.dashboard.views.overview import OVERVIEW_FIRST_CARDS
from apps.teams.context_processors import NAV_TEAMS
from tests.browser.conftest import assert_clean, screenshot
from tests.dashboard.conftest import large_org
from tests.factories import AdminFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEAMS = OVERVIEW_FIRST_CARDS + 4


def test_an_admin_opens_every_team_of_a_large_organization(page, live_server, login):
    large_org(TEAMS)
    admin = AdminFactory(username="dana.director")

    login(page, live_server, admin)
    cards = page.locator("ol.team-cards > li")
    assert cards.count() == OVERVIEW_FIRST_CARDS
    assert cards.first.locator("[data-team]").get_attribute("data-team") == "zulu"
    page.locator("summary", has_text="Teams").click()
    assert page.locator(".nav-teams li a[href^='/teams/']").count() == NAV_TEAMS
    page.locator("summary", has_text="Teams").click()

    page.get_by_role("button", name=f"Show all {TEAMS} teams").click()
    page.wait_for_url(f"{live_server.url}/?range=13w&teams=all")
    page.locator(f"ol.team-cards > li >> nth={TEAMS - 1}").wait_for()
    assert cards.count() == TEAMS
    assert page.get_by_role("button", name=re.compile(r"^Show all")).count() == 0

    # Another range keeps every team on the page.
    page.get_by_role("link", name="Last 4 weeks").click()
    page.wait_for_url(f"{live_server.url}/?range=4w&teams=all")
    page.locator(".range-presets a.active", has_text="Last 4 weeks").wait_for()
    assert cards.count() == TEAMS
    screenshot(page, "dashboard-all-teams")

    # Back: the first cards again.
    page.go_back()
    page.wait_for_url(f"{live_server.url}/?range=13w&teams=all")
    page.go_back()
    page.wait_for_url(f"{live_server.url}/")
    page.locator(".more-teams").wait_for()
    assert cards.count() == OVERVIEW_FIRST_CARDS
    assert_clean(page)
