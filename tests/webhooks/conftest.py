"""Helpers for the webhook tests: fixtures in the providers' documented formats, signed
the way GitHub and PagerDuty sign them."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from apps.webhooks.models import Webhook
from apps.webhooks.services import webhook_create
from tests.factories import TeamFactory

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))


def hexmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: dict[str, Any] | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def post_github(
    client: Client,
    webhook: Webhook,
    secret: str,
    payload: dict[str, Any] | bytes,
    *,
    event: str = "deployment_status",
    delivery: str | None = None,
    signature: str | None = None,
    content_type: str = "application/json",
) -> Any:
    body = encode(payload)
    headers = {"X-GitHub-Event": event}
    if delivery:
        headers["X-GitHub-Delivery"] = delivery
    sig = f"sha256={hexmac(secret, body)}" if signature is None else signature
    if sig:
        headers["X-Hub-Signature-256"] = sig
    return client.post(webhook.receiver_path, body, content_type=content_type, headers=headers)


def form_encoded(payload: dict[str, Any]) -> bytes:
    """The body GitHub sends with its default content type, application/x-www-form-urlencoded:
    the JSON, urlencoded, as the form's one field `payload`."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


def post_pagerduty(
    client: Client,
    webhook: Webhook,
    secret: str,
    payload: dict[str, Any] | bytes,
    *,
    signature: str | None = None,
) -> Any:
    body = encode(payload)
    sig = f"v1={hexmac(secret, body)}" if signature is None else signature
    headers = {"X-PagerDuty-Signature": sig} if sig else {}
    return client.post(
        webhook.receiver_path, body, content_type="application/json", headers=headers
    )


def deployment(
    *,
    state: str = "success",
    deployment_id: int = 880011,
    status_id: int = 5500001,
    created_at: str = "2026-01-14T10:05:00Z",
    environment: str = "production",
    payload: Any = None,
) -> dict[str, Any]:
    data = load("github_deployment_status")
    data["deployment_status"].update(
        state=state, id=status_id, created_at=created_at, environment=environment
    )
    data["deployment"].update(id=deployment_id, environment=environment)
    if payload is not None:
        data["deployment"]["payload"] = payload
    return data


@pytest.fixture
def team():  # type: ignore[no-untyped-def]
    return TeamFactory(name="Payments", slug="payments")


@pytest.fixture
def github(team):  # type: ignore[no-untyped-def]
    return webhook_create(team=team, kind="github")


@pytest.fixture
def pagerduty(team):  # type: ignore[no-untyped-def]
    return webhook_create(team=team, kind="pagerduty")


@pytest.fixture
def api() -> Client:
    """A client as GitHub or PagerDuty: anonymous, and CSRF checks on."""
    return Client(enforce_csrf_checks=True)
