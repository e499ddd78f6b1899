"""/settings/webhooks/: admins list, create (URL and secret shown once), inspect deliveries,
replace the secret, deactivate and delete webhooks. Anyone else gets a 404 (anonymous: the
login page), plain or with HX-Request."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from apps.releases.models import Release
from apps.webhooks.crypto import secret_open
from apps.webhooks.models import Webhook, WebhookDelivery
from apps.webhooks.services import webhook_create
from tests.core.personas import HTMX, Personas, client_for
from tests.webhooks.conftest import deployment, post_github

pytestmark = pytest.mark.django_db

LIST = "/settings/webhooks/"
NEW = "/settings/webhooks/new/"


@pytest.fixture
def people() -> Personas:
    return Personas.make()


@pytest.fixture
def hook(people):  # type: ignore[no-untyped-def]
    return webhook_create(team=people.team, kind="github")


def _secret_in(html: str) -> str | None:
    match = re.search(r'id="webhook-secret"[^>]*value="([^"]+)"', html)
    return match.group(1) if match else None


def _pages(webhook: Webhook) -> list[tuple[str, str]]:
    base = f"{LIST}{webhook.pk}/"
    return [
        ("get", LIST),
        ("get", f"{LIST}?team=payments"),
        ("get", NEW),
        ("post", NEW),
        ("get", base),
        ("get", f"{base}?page=2"),
        ("get", f"{base}secret/"),
        ("post", f"{base}secret/"),
        ("post", f"{base}toggle/"),
        ("get", f"{base}delete/"),
        ("post", f"{base}delete/"),
    ]


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_anonymous_visitors_are_sent_to_log_in(people, hook, headers) -> None:
    webhook, _ = hook
    for method, url in _pages(webhook):
        response = getattr(Client(), method)(url, headers=headers)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/accounts/login/")
    assert Webhook.objects.get().active


@pytest.mark.parametrize("who", ["member", "manager", "outsider"])
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_members_and_managers_get_404(people, hook, who, headers) -> None:
    webhook, secret = hook
    client = client_for(getattr(people, who))
    for method, url in _pages(webhook):
        assert getattr(client, method)(url, headers=headers).status_code == 404, (method, url)
    webhook.refresh_from_db()
    assert webhook.active
    assert secret_open(webhook.secret_sealed) == secret
    assert Webhook.objects.count() == 1


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_admins_see_every_page(people, hook, headers) -> None:
    webhook, _ = hook
    client = client_for(people.admin)
    base = f"{LIST}{webhook.pk}/"
    for url in (LIST, f"{LIST}?team=payments", NEW, base, f"{base}secret/", f"{base}delete/"):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert response["Cache-Control"].startswith("max-age=0")
    assert client.get(f"{LIST}999/").status_code == 404


def test_the_list_and_the_navigation(people, hook) -> None:
    webhook_create(team=people.other_team, kind="pagerduty", severity_high="SEV1")
    client = client_for(people.admin)
    html = client.get(LIST).content.decode()
    assert "Payments" in html
    assert "Search" in html
    assert "high → SEV1" in html
    assert 'href="/settings/webhooks/"' in html  # in the navigation
    only = client.get(f"{LIST}?team=search").content.decode()
    assert "high → SEV1" in only
    assert "Deployments to" not in only
    fragment = client.get(f"{LIST}?team=search", headers=HTMX).content.decode()
    assert fragment.lstrip().startswith('<div id="webhook-rows">')
    # Only admins see the navigation link.
    assert 'href="/settings/webhooks/"' not in client_for(people.manager).get("/").content.decode()


def test_an_admin_creates_a_webhook_and_sees_the_secret_once(people) -> None:
    client = client_for(people.admin)
    response = client.post(
        NEW,
        {
            "team": "payments",
            "kind": "github",
            "environment": "production",
            "severity_high": "SEV2",
            "severity_low": "SEV4",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    secret = _secret_in(html)
    webhook = Webhook.objects.get()
    assert secret
    assert secret_open(webhook.secret_sealed) == secret
    assert f'value="http://testserver/webhooks/{webhook.public_id}/"' in html
    assert "shown only this once" in html
    assert webhook.created_by == people.admin
    # Never again.
    for url in (LIST, f"{LIST}{webhook.pk}/", NEW):
        assert secret not in client.get(url).content.decode()
    # And it works.
    assert post_github(Client(), webhook, secret, deployment()).status_code == 201


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"kind": "github", "environment": "production"}, "Choose the team"),
        ({"team": "payments", "environment": "production"}, "Choose GitHub or PagerDuty"),
        ({"team": "payments", "kind": "github", "environment": "  "}, "Name the environment"),
        ({"team": "nope", "kind": "github", "environment": "x"}, "Select a valid choice"),
        ({"team": "payments", "kind": "slack", "environment": "x"}, "Select a valid choice"),
    ],
)
def test_form_errors_create_nothing_and_keep_the_input(people, data, field_error) -> None:
    data = {"severity_high": "SEV2", "severity_low": "SEV4", **data}
    response = client_for(people.admin).post(NEW, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert field_error in html
    assert _secret_in(html) is None
    assert not Webhook.objects.exists()
    if data.get("environment", "").strip():
        assert f'value="{data["environment"]}"' in html


def test_the_webhook_page_lists_deliveries_newest_first_and_paged(people, hook) -> None:
    webhook, secret = hook
    post_github(Client(), webhook, secret, deployment(), delivery="first-guid")
    post_github(Client(), webhook, secret, deployment(), signature="sha256=bad")
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            webhook=webhook,
            received_at=now - dt.timedelta(days=1, minutes=i),
            event_type="ping",
            event_id=f"old-{i}",
            outcome="ignored",
            reason="Ping",
            http_status=200,
        )
        for i in range(30)
    )
    client = client_for(people.admin)
    html = client.get(f"{LIST}{webhook.pk}/").content.decode()
    assert html.index("does not match") < html.index("first-guid") < html.index("old-0")
    assert "Refused" in html
    assert "Accepted" in html
    release = Release.objects.get()
    assert f"/teams/payments/releases/{release.pk}/" in html
    assert "old-29" not in html
    assert "Page 1 of 2" in html
    second = client.get(f"{LIST}{webhook.pk}/?page=2", headers=HTMX).content.decode()
    assert second.lstrip().startswith('<div id="deliveries">')
    assert "old-29" in second
    assert secret not in html + second


def test_a_new_secret_is_shown_once_and_the_old_one_stops_working(people, hook) -> None:
    webhook, old = hook
    client = client_for(people.admin)
    response = client.post(f"{LIST}{webhook.pk}/secret/", {"secret": ""})
    new = _secret_in(response.content.decode())
    assert new
    assert new != old
    assert post_github(Client(), webhook, old, deployment()).status_code == 401
    assert post_github(Client(), webhook, new, deployment()).status_code == 201
    assert new not in client.get(f"{LIST}{webhook.pk}/").content.decode()


def test_the_providers_secret_can_be_pasted(people) -> None:
    webhook, _ = webhook_create(team=people.team, kind="pagerduty")
    client = client_for(people.admin)
    pasted = "pd-made-this-signing-secret-0123456789"
    client.post(f"{LIST}{webhook.pk}/secret/", {"secret": pasted})
    webhook.refresh_from_db()
    assert secret_open(webhook.secret_sealed) == pasted
    short = client.post(f"{LIST}{webhook.pk}/secret/", {"secret": "short"})
    assert "at least 16 characters" in short.content.decode()
    webhook.refresh_from_db()
    assert secret_open(webhook.secret_sealed) == pasted


def test_deactivate_and_activate_again(people, hook) -> None:
    webhook, secret = hook
    client = client_for(people.admin)
    response = client.post(f"{LIST}{webhook.pk}/toggle/")
    assert response.status_code == 302
    assert post_github(Client(), webhook, secret, deployment()).status_code == 404
    assert "deactivated" in client.get(response["Location"]).content.decode()
    client.post(f"{LIST}{webhook.pk}/toggle/")
    assert post_github(Client(), webhook, secret, deployment()).status_code == 201
    assert client.get(f"{LIST}{webhook.pk}/toggle/").status_code == 405


def test_delete_after_confirming_keeps_the_records(people, hook) -> None:
    webhook, secret = hook
    post_github(Client(), webhook, secret, deployment())
    client = client_for(people.admin)
    assert client.get(f"{LIST}{webhook.pk}/delete/").status_code == 200
    assert Webhook.objects.exists()
    response = client.post(f"{LIST}{webhook.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == LIST
    assert not Webhook.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert Release.objects.count() == 1
    assert post_github(Client(), webhook, secret, deployment()).status_code == 404


def test_behind_a_tls_proxy_the_url_is_the_https_origin(people, hook, settings) -> None:
    webhook, _ = hook
    settings.ALLOWED_HOSTS = ["execdash.example.com", "testserver"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://execdash.example.com"]
    html = (
        client_for(people.admin)
        .get(f"{LIST}{webhook.pk}/", HTTP_HOST="execdash.example.com")
        .content.decode()
    )
    assert f'value="https://execdash.example.com/webhooks/{webhook.public_id}/"' in html
