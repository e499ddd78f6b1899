"""A member reports an incident in a real browser: a mistake first, then the fix with the
suggested release, and sees it listed; then resolves it and sees the team's time to restore
change once the worker has recomputed.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.incidents.models import Incident
from tests.browser.conftest import assert_clean, screenshot
from tests.factories import IncidentFactory, MembershipFactory, ReleaseFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCAL = "%Y-%m-%dT%H:%M"


def test_member_reports_an_incident(page, live_server, login) -> None:
    team = TeamFactory(name="Payments", slug="payments")
    member = MembershipFactory(team=team).user
    release = ReleaseFactory(
        team=team,
        service="checkout",
        version="2.4.0",
        deployed_at=timezone.now() - dt.timedelta(hours=5),
    )
    # One incident already restored in 30 minutes earlier today: the team's median.
    earlier = timezone.now() - dt.timedelta(hours=4)
    IncidentFactory(
        team=team,
        title="Earlier blip",
        started_at=earlier,
        resolved_at=earlier + dt.timedelta(minutes=30),
    )
    now = timezone.localtime()
    started = (now - dt.timedelta(hours=2)).strftime(LOCAL)
    too_early = (now - dt.timedelta(hours=3)).strftime(LOCAL)

    login(page, live_server, member)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("Teams", exact=True).click()
    nav.get_by_role("link", name="Payments").click()
    page.wait_for_url(f"{live_server.url}/teams/payments/")
    time_to_restore = page.locator('.big-number[data-metric="time_to_restore"]')
    assert "30 min" in time_to_restore.inner_text()

    page.goto(f"{live_server.url}/teams/payments/incidents/")
    page.get_by_role("button", name="Report an incident").first.click()
    page.wait_for_url(re.compile(r"/incidents/new/$"))

    # A mistake: resolved before it began. The error sits next to the field, typing is kept.
    page.get_by_label("Title").fill("Checkout returns 502")
    page.get_by_label("Severity").select_option("SEV2")
    page.get_by_label("Service").fill("checkout")
    page.get_by_label("Impact began").fill(started)
    page.get_by_label("Resolved at").fill(too_early)
    page.get_by_role("button", name="Save incident").last.click()
    error = page.locator("#err-resolved_at")
    error.get_by_text("It cannot be resolved before it started.").wait_for()
    expect(page.locator(".error-summary")).to_be_focused()
    assert page.get_by_label("Title").input_value() == "Checkout returns 502"
    assert page.get_by_label("Impact began").input_value() == started
    screenshot(page, "incident-form-error")

    # The fix; then the suggested release, confirmed with a click.
    page.get_by_label("Resolved at").fill("")
    suggestion = page.locator("#cause-suggestion")
    suggestion.get_by_text("checkout 2.4.0").wait_for()
    # Inline validation clears the error once the field is fixed.
    expect(page.locator("#err-resolved_at li")).to_have_count(0)
    assert not Incident.objects.filter(title="Checkout returns 502").exists()
    suggestion.get_by_role("button", name="Use it").click()
    expect(page.locator("#id_cause_0")).to_be_checked()
    expect(page.locator("#id_caused_by")).to_have_value(str(release.pk))
    page.get_by_role("button", name="Save incident").last.click()
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    page.get_by_text("recorded").first.wait_for()
    incident = Incident.objects.get(title="Checkout returns 502")
    assert incident.caused_by == release
    assert incident.title == "Checkout returns 502"

    # Resolve it from its page.
    page.get_by_role("button", name="Resolve now").click()
    page.get_by_text("Incident resolved").wait_for()
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert incident.resolved_by == member.username
    screenshot(page, "incident-page")

    page.goto(f"{live_server.url}/teams/payments/incidents/")
    row = page.get_by_role("row").filter(has_text="Checkout returns 502")
    assert row.count() == 1
    assert "resolved" in row.inner_text()
    screenshot(page, "incident-list")

    # The team's numbers: the median of 30 min and about 2 h is now about 1 h 15 min.
    page.goto(f"{live_server.url}/teams/payments/")
    time_to_restore = page.locator('.big-number[data-metric="time_to_restore"]')
    expect(time_to_restore).not_to_contain_text("30 min")
    expect(time_to_restore).to_contain_text("1 h 1")
    screenshot(page, "team-after-resolve")

    # The team page's own incidents list filters in place; the page keeps its URL.
    rows = page.locator("#incident-rows")
    expect(rows).to_contain_text("Checkout returns 502")
    page.locator("#incidents-severity").select_option("SEV3")
    expect(rows).not_to_contain_text("Checkout returns 502")
    expect(rows).to_contain_text("Earlier blip")
    assert page.url == f"{live_server.url}/teams/payments/"

    assert_clean(page)


def test_narrow_screen_keeps_the_form_usable(page, live_server, login) -> None:
    team = TeamFactory(name="Search", slug="search")
    member = MembershipFactory(team=team).user
    page.set_viewport_size({"width": 360, "height": 740})
    login(page, live_server, member)
    page.goto(f"{live_server.url}/teams/search/incidents/new/")
    screenshot(page, "incident-form-360px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_clean(page)
