"""The pages the other journeys do not open, in a real browser: a member records a release
(a mistake first), marks it failed and links the incident it caused; the definitions page
behind "how is this computed"; an admin issues an API token (shown once) and revokes it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.api.models import ApiToken
from apps.releases.models import Release
from tests.browser.conftest import assert_clean, screenshot
from tests.factories import AdminFactory, IncidentFactory, MembershipFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCAL = "%Y-%m-%dT%H:%M"


def test_member_records_a_release_and_links_the_incident_it_caused(page, live_server, login):
    team = TeamFactory(name="Payments", slug="payments")
    member = MembershipFactory(team=team).user
    began = timezone.now() - dt.timedelta(hours=1)
    incident = IncidentFactory(
        team=team,
        title="Checkout errors after deploy",
        service="checkout",
        started_at=began,
        detected_at=began,
        resolved_at=None,
    )
    login(page, live_server, member)

    page.goto(f"{live_server.url}/teams/payments/releases/new/")
    form = page.locator("#release-form")
    form.get_by_label("Service").fill("checkout")
    deployed = (timezone.localtime() - dt.timedelta(hours=2)).strftime(LOCAL)
    # A mistake: no version. The error is next to the field and what was typed stays.
    form.get_by_label("Deployed at").fill(deployed)
    form.get_by_role("button", name="Save release").click()
    page.get_by_text("Give the version (a tag, a number or a commit).").first.wait_for()
    assert page.locator("#release-form").get_by_label("Service").input_value() == "checkout"

    form = page.locator("#release-form")
    form.get_by_label("Version").fill("3.1.0")
    form.get_by_role("button", name="Save release").click()
    page.get_by_role("heading", name="checkout 3.1.0").wait_for()
    release = Release.objects.get(team=team, version="3.1.0")
    assert release.status == Release.Status.SUCCEEDED

    page.get_by_role("button", name="Mark failed").click()
    page.get_by_role("heading", name="checkout 3.1.0").wait_for()
    page.get_by_role("button", name="Mark succeeded").wait_for()
    release.refresh_from_db()
    assert release.status == Release.Status.FAILED

    page.get_by_label("Incident it caused").select_option(str(incident.pk))
    page.get_by_role("button", name="Link an incident to this release").click()
    page.locator("#caused-title + ul a", has_text="Checkout errors after deploy").wait_for()
    incident.refresh_from_db()
    assert incident.caused_by_id == release.pk
    screenshot(page, "release-page")

    # "How is this computed?" on the team page leads to the definitions.
    page.goto(f"{live_server.url}/teams/payments/")
    page.locator('#team-numbers a[href$="#change-failure-rate"]').first.click()
    page.wait_for_url("**/definitions/#change-failure-rate")
    page.locator("#change-failure-rate").wait_for()
    assert_clean(page)


def test_admin_issues_and_revokes_an_api_token(page, live_server, login):
    TeamFactory(name="Payments", slug="payments")
    admin = AdminFactory(username="dana.director")
    login(page, live_server, admin)

    page.get_by_role("link", name="API tokens").click()
    page.get_by_role("button", name="Issue token").click()  # nothing filled in: errors
    page.locator(".field-errors").first.wait_for()
    page.get_by_label("Name").fill("Deploy pipeline")
    page.get_by_label("Acts for").select_option("payments")
    page.get_by_role("button", name="Issue token").click()
    shown = page.locator("#new-token")
    shown.wait_for()
    secret = shown.input_value()
    token = ApiToken.objects.get(name="Deploy pipeline")
    assert secret.startswith(token.hint)
    assert len(secret) > len(token.hint) + 20
    screenshot(page, "api-token-issued")

    # Shown once: the list names it by its first characters only.
    page.goto(f"{live_server.url}/settings/tokens/")
    assert secret not in page.content()
    page.get_by_role("link", name="Revoke…").click()
    page.get_by_role("button", name="Revoke the token").click()
    page.get_by_text("Revoked").first.wait_for()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert_clean(page)
