"""A manager adds an outcome (a mistake first), pastes measurements (a bad line first, marked
in the preview, nothing imported until it is fixed) and sees the outcome-vs-output chart:
no console errors, no failed requests, no Content Security Policy violation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.metrics.rollups import rollups_recompute_all
from apps.outcomes.models import Outcome
from apps.teams.models import Membership
from tests.browser.conftest import assert_clean, screenshot
from tests.factories import FocusPeriodFactory, MembershipFactory, ReleaseFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records every CSP violation the page reports, from before its first script runs.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def _csp_violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def test_manager_adds_an_outcome_pastes_measurements_and_sees_the_chart(page, live_server, login):
    team = TeamFactory(name="Payments", slug="payments")
    manager = MembershipFactory(team=team, role=Membership.Role.MANAGER).user
    today = timezone.localdate()
    FocusPeriodFactory(team=team, starts_on=today - dt.timedelta(days=45))
    for d in range(12):
        ReleaseFactory(
            team=team,
            deployed_at=timezone.now() - dt.timedelta(days=1 + d * 5),
            change_count=4,
        )
    rollups_recompute_all()
    page.add_init_script(WATCH_CSP)
    login(page, live_server, manager)

    page.get_by_role("link", name="Outcomes").first.click()
    page.get_by_role("heading", name="Outcomes vs output").wait_for()
    page.get_by_text("Payments has no outcome yet.").wait_for()
    page.get_by_role("link", name="Add an outcome for Payments").click()

    form = page.locator("#outcome-form")
    form.get_by_label("Name", exact=True).fill("Checkout conversion")
    form.get_by_label("Baseline", exact=True).fill("2.5")
    form.get_by_label("Target", exact=True).fill(
        "2.0"
    )  # a mistake: up is better, so above the baseline
    form.get_by_label("Unit (optional)").fill("%")
    form.get_by_role("button", name="Add outcome").click()
    page.get_by_text("the target must be above the baseline").first.wait_for()
    assert page.locator("#outcome-form").get_by_label("Name").input_value() == (
        "Checkout conversion"
    )
    page.locator("#outcome-form").get_by_label("Baseline", exact=True).fill("2.0")
    page.locator("#outcome-form").get_by_label("Target", exact=True).fill("3.0")
    page.locator("#outcome-form").get_by_role("button", name="Add outcome").click()
    page.get_by_role("heading", name="Checkout conversion").wait_for()
    page.get_by_text("Created “Checkout conversion”.").wait_for()
    outcome = Outcome.objects.get(name="Checkout conversion")
    assert outcome.team == team

    days = [today - dt.timedelta(weeks=w) for w in (9, 6, 3, 1)]
    good = [f"{days[0]},2.1", f"{days[1]},2.3", f"{days[2]},2.45", f"{days[3]},2.6"]
    paste = page.locator("#paste-panel")
    paste.get_by_label("Measurements").fill(
        "date,value\n" + "\n".join([*good[:3], "last week,2.6"])
    )
    paste.get_by_role("button", name="Preview").click()
    page.locator("#paste-problem").wait_for()
    bad_row = page.locator("tr.bad")
    assert bad_row.count() == 1
    assert "is not a date" in bad_row.inner_text()
    assert outcome.measurements.count() == 0  # nothing imported while a line is bad
    screenshot(page, "outcome-paste-preview")

    page.locator("#paste-panel").get_by_label("Measurements").fill("date,value\n" + "\n".join(good))
    page.locator("#paste-panel").get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Import 4 measurements").click()
    page.get_by_text("Imported 4 measurements (4 new, 0 updated).").wait_for()
    assert outcome.measurements.count() == 4
    page.locator('[data-plotly][data-drawn="true"]').first.wait_for()
    assert page.locator("[data-progress]").first.inner_text() == "60 % of the way"

    page.get_by_role("link", name="Outcomes").first.click()
    chart = page.locator(f'#chart-outcome-{outcome.pk} [data-plotly][data-drawn="true"]')
    chart.wait_for()
    assert "4 measurements" in chart.get_attribute("aria-label")
    page.locator(f"#chart-outcome-{outcome.pk} .js-plotly-plot .bars").first.wait_for(
        state="attached"
    )
    screenshot(page, "outcomes-vs-output")

    page.get_by_role("link", name="Last 4 weeks").click()
    page.wait_for_url("**/outcomes/?range=4w")
    page.locator(f'#chart-outcome-{outcome.pk} [data-plotly][data-drawn="true"]').wait_for()
    assert _csp_violations(page) == []
    assert_clean(page)
