"""A manager reads the dashboard in a real browser: the overview with every team, another
date range, a team's charts with its focus bands; a member of one team cannot open another.

Runs on the demo data (`manage.py seed_demo`), so its screenshots are the README's.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from apps.demo.seeding import seed_demo
from apps.metrics.rollups import rollups_recompute_all
from apps.teams.models import Membership, Team
from tests.browser.conftest import assert_clean, screenshot
from tests.factories import MembershipFactory, UserFactory

# seed_demo re-creates the built-in focus kinds that a transactional test's flush removes.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
CHARTS = ("time-to-restore", "change-failure-rate", "deployment-frequency", "lead-time")


@pytest.fixture
def demo():
    seed_demo(teams=5, weeks=60)
    rollups_recompute_all()
    return list(Team.objects.order_by("name"))


def _total(page, name: str) -> str:
    return page.locator(f'[data-total="{name}"]').inner_text()


def test_manager_reads_the_overview_and_a_team(page, live_server, login, demo):
    manager = UserFactory(username="erin.manager", first_name="Erin")
    for team in demo:
        MembershipFactory(user=manager, team=team, role=Membership.Role.MANAGER)

    login(page, live_server, manager)
    for team in demo:
        page.locator(f'[data-team="{team.slug}"]').wait_for()
    assert page.locator("ol.team-cards > li").count() == len(demo)
    assert page.locator(".range-presets a.active").inner_text() == "Last 13 weeks"
    frequency_13w = _total(page, "deployment-frequency")
    failure_13w = _total(page, "change-failure-rate")

    # Another range: htmx swaps the content, the URL follows, the numbers change.
    page.get_by_role("link", name="Last 4 weeks").click()
    page.wait_for_url(f"{live_server.url}/?range=4w")
    page.locator(".range-presets a.active", has_text="Last 4 weeks").wait_for()
    assert page.locator(".range-label").inner_text().startswith("Last 4 weeks")
    assert (_total(page, "deployment-frequency"), _total(page, "change-failure-rate")) != (
        frequency_13w,
        failure_13w,
    )

    page.get_by_role("link", name="Last 13 weeks").click()
    page.wait_for_url(f"{live_server.url}/?range=13w")
    page.locator(".range-presets a.active", has_text="Last 13 weeks").wait_for()
    assert _total(page, "deployment-frequency") == frequency_13w
    page.wait_for_timeout(400)  # htmx settles attributes with a CSS transition
    screenshot(page, "dashboard-overview")

    # The back button returns to the previous range.
    page.go_back()
    page.wait_for_url(f"{live_server.url}/?range=4w")
    page.locator(".range-presets a.active", has_text="Last 4 weeks").wait_for()
    page.go_forward()
    page.wait_for_url(f"{live_server.url}/?range=13w")

    # A team's page: four charts drawn by plotly.js, focus periods as bands behind the data.
    page.locator('[data-team="payments"] h2 a').click()
    page.wait_for_url(re.compile(r"/teams/payments/\?range=13w$"))
    for slug in CHARTS:
        page.locator(f'[data-plotly="figure-{slug}"][data-drawn="true"] svg').first.wait_for()
    assert page.locator(".js-plotly-plot").count() == len(CHARTS)
    for slug in CHARTS:
        chart = page.locator(f"#chart-{slug}")
        assert chart.locator(".layer-below .shapelayer path").count() >= 1  # a focus band
        assert chart.locator(".annotation-text", has_text="Throughput").count() >= 1
    assert page.locator(".timeline-band", has_text="Throughput").count() == 1
    assert "Current focus" in page.content()

    # The range on the team page swaps the charts too, and they are drawn again.
    page.get_by_role("link", name="Last 52 weeks").click()
    page.wait_for_url(re.compile(r"/teams/payments/\?range=52w$"))
    page.locator(".range-presets a.active", has_text="Last 52 weeks").wait_for()
    for slug in CHARTS:
        page.locator(f'[data-plotly="figure-{slug}"][data-drawn="true"] svg').first.wait_for()
    assert page.locator(".timeline-band").count() == 2  # stability, then throughput
    page.wait_for_timeout(300)  # let plotly finish its transitions before the picture
    screenshot(page, "dashboard-team")

    assert_clean(page)
    _copy_for_readme()


def test_a_member_cannot_open_another_teams_page(page, live_server, login, demo):
    mobile = Team.objects.get(slug="mobile")
    member = MembershipFactory(team=mobile).user

    login(page, live_server, member)
    assert page.locator("ol.team-cards > li").count() == 1
    page.goto(f"{live_server.url}/teams/payments/")
    page.get_by_role("heading", name="This page is not here").wait_for()
    assert "Payments" not in page.locator("main").inner_text()
    screenshot(page, "dashboard-404")
    # The 404 itself is expected (Chromium logs it to the console too, without the URL);
    # any other failed request is still named by URL in failed_requests and fails the test.
    assert_clean(
        page,
        allow=(f"404 {live_server.url}/teams/payments/", "status of 404 (Not Found)"),
    )


def _copy_for_readme() -> None:
    """The README shows these two screenshots; refresh them when the journey passes."""
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    DOCS.mkdir(exist_ok=True)
    shutil.copyfile(artifacts / "dashboard-overview.png", DOCS / "overview.png")
    shutil.copyfile(artifacts / "dashboard-team.png", DOCS / "team.png")


def test_the_team_page_fits_a_phone(page, live_server, login, demo):
    manager = UserFactory(username="erin.manager", first_name="Erin")
    MembershipFactory(user=manager, team=demo[0], role=Membership.Role.MANAGER)
    payments = Team.objects.get(slug="payments")
    MembershipFactory(user=manager, team=payments, role=Membership.Role.MANAGER)

    page.set_viewport_size({"width": 360, "height": 740})
    login(page, live_server, manager)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.goto(f"{live_server.url}/teams/payments/")
    for slug in CHARTS:
        page.locator(f'[data-plotly="figure-{slug}"][data-drawn="true"] svg').first.wait_for()
    page.locator('[data-embed="incidents"]').wait_for(state="detached")  # the panels loaded
    page.locator("#incident-rows").wait_for()
    # Nothing is wider than the screen: the tables scroll inside their panels.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for slug in CHARTS:
        chart = page.locator(f"#chart-{slug}")
        legend = chart.locator(".legend").first.bounding_box()
        x_axis = chart.locator(".xaxislayer-above").first.bounding_box()
        assert legend["y"] >= x_axis["y"] + x_axis["height"] - 1, slug  # under the plot
        assert chart.locator(".annotation-text").count() == 0  # labels: the timeline's
    assert page.locator(".timeline-band", has_text="Throughput").count() == 1
    screenshot(page, "dashboard-team-phone")
    assert_clean(page)
