"""A manager scrolls down a team's page to its "Flow" and "Knowledge sharing" sections: both
load when they come into view and are drawn by plotly.js; the demo's Mobile team shows a
service whose bus factor is 1.

Runs on the demo data (`manage.py seed_demo`, default teams), so the screenshots show what a
new installation shows.
"""

from __future__ import annotations

import re

import pytest

from apps.demo.seeding import seed_demo
from apps.metrics.rollups import rollups_recompute_all
from apps.teams.models import Membership, Team
from tests.browser.conftest import ARTIFACTS, assert_clean, screenshot
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    seed_demo(teams=5, weeks=26)
    rollups_recompute_all()
    return Team.objects.get(slug="mobile")


def test_manager_sees_flow_and_knowledge_sharing_drawn(page, live_server, login, demo):
    manager = UserFactory(username="aisha.manager", first_name="Aisha")
    MembershipFactory(user=manager, team=demo, role=Membership.Role.MANAGER)
    login(page, live_server, manager)
    page.goto(f"{live_server.url}/teams/mobile/")
    page.locator('[data-plotly="figure-lead-time"][data-drawn="true"] svg').first.wait_for()

    # Flow: a placeholder until it is scrolled into view, then two charts.
    flow = page.locator("#team-flow")
    flow.scroll_into_view_if_needed()
    for slug in ("flow", "kingman"):
        page.locator(f'[data-plotly="figure-{slug}"][data-drawn="true"] svg').first.wait_for()
    flow = page.locator("#team-flow")
    assert flow.locator(".section-loading").count() == 0
    assert "nineteen times as long as at 50 %" in flow.inner_text()
    assert flow.locator("#chart-flow .legendtext", has_text="work in progress").count() == 1
    # Every chart carries its text summary for screen readers.
    label = flow.locator('[data-plotly="figure-kingman"]').get_attribute("aria-label")
    assert re.search(r"at 95 % about .+, 19 times as long", label or "")
    page.wait_for_timeout(300)  # plotly's transitions
    flow.screenshot(path=str(ARTIFACTS / "team-flow.png"))

    # Knowledge sharing: who did the work per service, Ben alone on both apps.
    knowledge = page.locator("#team-knowledge")
    knowledge.scroll_into_view_if_needed()
    page.locator('[data-plotly="figure-knowledge"][data-drawn="true"] svg').first.wait_for()
    knowledge = page.locator("#team-knowledge")
    text = knowledge.inner_text()
    assert "Team bus factor: 1" in text
    assert re.search(r"Only \S+ did at least half of ios-app's releases", text)
    assert knowledge.locator("#chart-knowledge g.trace.bars").count() >= 2  # people stacked
    page.wait_for_timeout(300)
    knowledge.screenshot(path=str(ARTIFACTS / "team-knowledge.png"))

    screenshot(page, "team-flow-knowledge")

    assert_clean(page)
