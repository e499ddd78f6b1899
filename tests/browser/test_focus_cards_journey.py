"""A manager opens a team's page in a real browser and reads whether its focus worked:
the focus band on the timeline and charts, and the "did the focus work?" cards with their
interval bars, success signals and the accepted trade-off as an expected cost.

Runs on the default demo data (`manage.py seed_demo`), where Growth's stability focus worked.
"""

from __future__ import annotations

import re

import pytest

from apps.demo.seeding import seed_demo
from apps.metrics.rollups import rollups_recompute_all
from apps.teams.models import Membership, Team
from tests.browser.conftest import assert_clean, screenshot
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_team_page_shows_the_band_and_the_cards(page, live_server, login):
    seed_demo()
    rollups_recompute_all()
    growth = Team.objects.get(slug="growth")
    manager = UserFactory(username="ines.manager", first_name="Ines")
    MembershipFactory(user=manager, team=growth, role=Membership.Role.MANAGER)

    login(page, live_server, manager)
    page.goto(f"{live_server.url}/teams/growth/?range=26w")
    page.locator('[data-plotly="figure-time-to-restore"][data-drawn="true"] svg').first.wait_for()
    assert page.locator(".timeline-band", has_text="Stability").count() == 1

    cards = page.locator("article.focus-card")
    assert cards.count() == 2  # the running throughput focus, then the stability one
    running, stability = cards.nth(0), cards.nth(1)
    assert "evaluated so far" in running.inner_text()
    assert stability.locator(".verdict-chip").inner_text() == "improved"
    restore = stability.locator('.metric-change[data-metric="time_to_restore"]')
    sentence = r"Time to restore improved: median .+ → .+, 95 % interval"
    assert re.match(sentence, restore.inner_text())
    assert restore.locator("svg.change-bar rect.interval").count() == 1
    cost = stability.locator('.focus-costs .metric-change[data-metric="deployment_frequency"]')
    assert "tone-cost" in (cost.get_attribute("class") or "")
    assert "Expected cost" in stability.inner_text()
    assert stability.locator(".focus-signals li").count() >= 1

    stability.scroll_into_view_if_needed()
    screenshot(page, "team-focus-cards")
    stability.screenshot(path="test-artifacts/team-focus-card.png")
    assert_clean(page)
