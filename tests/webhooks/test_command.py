"""`manage.py create_webhook`: prints the URL path and the secret for a script."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from apps.webhooks.crypto import secret_open
from apps.webhooks.models import Webhook
from tests.webhooks.conftest import hexmac

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_webhook", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_the_path_and_the_secret_which_work(team) -> None:
    out, err = _run("--team", "payments", "--kind", "github", "--environment", "prod")
    path, secret = out.strip().splitlines()
    webhook = Webhook.objects.get()
    assert path == f"/webhooks/{webhook.public_id}/"
    assert secret_open(webhook.secret_sealed) == secret
    assert (webhook.kind, webhook.environment, webhook.team) == ("github", "prod", team)
    assert "shown once" in err
    body = b'{"zen": "hi"}'
    response = Client().post(
        path,
        body,
        content_type="application/json",
        headers={"X-GitHub-Event": "ping", "X-Hub-Signature-256": f"sha256={hexmac(secret, body)}"},
    )
    assert response.status_code == 200


def test_a_pagerduty_webhook_has_no_environment(team) -> None:
    _run("--team", "payments", "--kind", "PagerDuty")
    webhook = Webhook.objects.get()
    assert (webhook.kind, webhook.environment) == ("pagerduty", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "nope", "--kind", "github"], "No team with slug 'nope'"),
        (["--team", "payments", "--kind", "jira"], "Unknown kind 'jira'"),
        (["--team", "payments", "--kind", "github", "--environment", " "], "environment"),
    ],
)
def test_errors_are_command_errors(team, args, message) -> None:
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert not Webhook.objects.exists()
