"""An admin adds a GitHub webhook and sees its secret once; a signed deployment status sent
to the live server shows up in the webhook's deliveries and as a release of the team."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.request

import pytest
from django.utils import timezone

from apps.releases.models import Release
from apps.webhooks.models import Webhook
from tests.browser.conftest import assert_clean, screenshot
from tests.factories import AdminFactory, TeamFactory
from tests.webhooks.conftest import deployment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_github_webhook_and_a_signed_delivery_lands(page, live_server, login):
    TeamFactory(name="Payments", slug="payments")
    login(page, live_server, AdminFactory(username="dana.director"))

    page.get_by_role("link", name="Webhooks").click()
    page.get_by_role("button", name="Add a webhook").click()
    page.get_by_role("button", name="Create webhook").click()  # nothing chosen: errors
    page.get_by_text("Choose the team the deliveries belong to.").first.wait_for()
    screenshot(page, "webhook-form-errors")
    page.get_by_label("Team").select_option("payments")
    page.get_by_label("Sender").select_option("github")
    assert page.get_by_label("Environment").input_value() == "production"
    page.get_by_role("button", name="Create webhook").click()

    shown = page.locator("#webhook-secret")
    shown.wait_for()
    secret = shown.input_value()
    url = page.locator("#receiver-url").input_value()
    webhook = Webhook.objects.get()
    assert url == f"{live_server.url}/webhooks/{webhook.public_id}/"
    assert len(secret) >= 32
    screenshot(page, "webhook-created")

    # Shown once: opening the page again shows the empty form, and no page shows it.
    page.goto(page.url)
    page.get_by_role("button", name="Create webhook").wait_for()
    assert secret not in page.content()

    # GitHub delivers a successful deployment, signed with the secret.
    created = (timezone.now() - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps(deployment(created_at=created)).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "deployment_status",
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "X-Hub-Signature-256": f"sha256={signature}",
        },
    )
    with urllib.request.urlopen(request, timeout=15) as answer:
        assert answer.status == 201
        assert json.loads(answer.read())["outcome"] == "accepted"

    page.goto(f"{live_server.url}/settings/webhooks/")
    screenshot(page, "webhooks-list")
    page.get_by_role("link", name="GitHub (deployment statuses)").click()
    page.get_by_text("72d3162e-cc78-11e3-81ab-4c9367dc0958").wait_for()
    page.get_by_text("Accepted").first.wait_for()
    assert secret not in page.content()
    screenshot(page, "webhook-deliveries")

    release = Release.objects.get()
    page.get_by_role("link", name="The release").click()
    page.get_by_role("heading", name="checkout main@abc1234").wait_for()
    page.goto(f"{live_server.url}/teams/payments/releases/")
    page.get_by_role("link", name="checkout main@abc1234").wait_for()
    assert release.deployed_by == "mia"
    assert_clean(page)
