"""Rate limits: login, the API and any view that takes the decorator (webhooks); a clear 429
with Retry-After; counted in the shared cache; traffic let through when the cache is down."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from apps.api.services import api_token_create
from apps.core import ratelimit
from apps.core.ratelimit import Rate, client_ip, rate_limit, rate_limit_hit
from tests.factories import TeamFactory


class DeadCache:
    """A cache whose every call fails, as Django's Redis cache does when Redis is down."""

    def add(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    incr = get = set = add


def test_rates_are_parsed_from_settings_text() -> None:
    assert Rate.parse("30/300") == Rate(limit=30, period=300)
    assert Rate.parse("off") is None


def test_a_key_is_refused_past_its_limit_until_the_window_ends() -> None:
    rate = Rate(limit=3, period=60)
    start = 6_000_030.0  # 30 s into a window
    verdicts = [rate_limit_hit(scope="t", key="k", rate=rate, now=start) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert verdicts[-1].retry_after == 30
    # Another key has its own allowance; the next window starts afresh.
    assert rate_limit_hit(scope="t", key="other", rate=rate, now=start).allowed
    assert rate_limit_hit(scope="t", key="k", rate=rate, now=start + 30).allowed


def test_no_rate_means_no_limit() -> None:
    assert all(rate_limit_hit(scope="t", key="k", rate=None).allowed for _ in range(50))


@pytest.mark.django_db
def test_login_posts_past_the_limit_get_a_429_page(settings: Any) -> None:
    settings.RATE_LIMIT_LOGIN = "3/300"
    client = Client(REMOTE_ADDR="10.1.0.1")
    for _ in range(3):
        assert client.post(reverse("login"), {"username": "a", "password": "b"}).status_code == 200
    response = client.post(reverse("login"), {"username": "a", "password": "b"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 300
    assert response["Content-Type"].startswith("text/html")
    assert "Too many requests" in response.content.decode()
    # Reading the login page is not limited; another address is not affected.
    assert client.get(reverse("login")).status_code == 200
    other = Client(REMOTE_ADDR="10.1.0.2")
    assert other.post(reverse("login"), {"username": "a", "password": "b"}).status_code == 200


@pytest.mark.django_db
def test_the_admin_login_form_shares_the_login_limit(settings: Any) -> None:
    settings.RATE_LIMIT_LOGIN = "2/300"
    client = Client(REMOTE_ADDR="10.1.0.3")
    assert client.post(reverse("login"), {"username": "a", "password": "b"}).status_code == 200
    assert client.post("/admin/login/", {"username": "a", "password": "b"}).status_code == 200
    response = client.post("/admin/login/", {"username": "a", "password": "b"})
    assert response.status_code == 429
    assert response["Retry-After"]


@pytest.mark.django_db
def test_api_requests_past_the_limit_get_a_json_429(settings: Any) -> None:
    settings.RATE_LIMIT_API = "3/60"
    team = TeamFactory()
    _, secret = api_token_create(name="ci", team=team)
    _, other_secret = api_token_create(name="ci-2", team=team)
    client = Client()
    auth = {"Authorization": f"Bearer {secret}"}
    for _ in range(3):
        assert client.get("/api/v1/teams", headers=auth).status_code == 200
    response = client.get("/api/v1/teams", headers=auth)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert body["errors"] == {}
    assert "Too many requests" in body["detail"]
    # Each token has its own allowance.
    other = {"Authorization": f"Bearer {other_secret}"}
    assert client.get("/api/v1/teams", headers=other).status_code == 200


@pytest.mark.django_db
def test_api_requests_without_a_token_are_limited_per_address(settings: Any) -> None:
    settings.RATE_LIMIT_API = "2/60"
    client = Client(REMOTE_ADDR="10.1.1.1")
    assert [client.get("/api/v1/teams").status_code for _ in range(3)] == [401, 401, 429]


@pytest.mark.django_db
def test_a_dead_cache_lets_login_and_the_api_through(settings: Any, monkeypatch: Any) -> None:
    settings.RATE_LIMIT_LOGIN = "1/300"
    settings.RATE_LIMIT_API = "1/60"
    monkeypatch.setattr(ratelimit, "cache", DeadCache())
    team = TeamFactory()
    _, secret = api_token_create(name="ci", team=team)
    client = Client()
    for _ in range(3):
        assert (
            client.get("/api/v1/teams", headers={"Authorization": f"Bearer {secret}"}).status_code
            == 200
        )
        assert client.post(reverse("login"), {"username": "a", "password": "b"}).status_code == 200


def test_a_redis_that_refuses_connections_fails_open() -> None:
    """The real client against a closed port: the error is Redis', not a stand-in's."""
    closed = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 1}})
    original = ratelimit.cache
    ratelimit.cache = closed  # type: ignore[assignment]
    try:
        verdict = rate_limit_hit(scope="t", key="k", rate=Rate(limit=1, period=60))
    finally:
        ratelimit.cache = original
    assert verdict.allowed


def test_a_cache_that_loses_the_key_lets_the_request_through(monkeypatch: Any) -> None:
    """A cache that neither adds nor increments (a circuit breaker answering defaults) cannot
    count: the request goes through rather than being refused blindly."""

    class Forgetful:
        def add(self, *args: Any, **kwargs: Any) -> bool:
            return False

        def incr(self, *args: Any, **kwargs: Any) -> int:
            raise ValueError("Key not found")

    monkeypatch.setattr(ratelimit, "cache", Forgetful())
    assert rate_limit_hit(scope="t", key="k", rate=Rate(limit=1, period=60)).allowed


@pytest.mark.services
def test_workers_share_their_counts_through_redis(monkeypatch: Any) -> None:
    """Two cache clients on the same Redis, as two gunicorn workers have: one allowance."""
    url = os.environ["REDIS_URL"]
    worker_1, worker_2 = RedisCache(url, {}), RedisCache(url, {})
    rate = Rate(limit=2, period=60)
    now = 7_000_000.0
    monkeypatch.setattr(ratelimit, "cache", worker_1)
    assert rate_limit_hit(scope="shared", key="k", rate=rate, now=now).allowed
    assert rate_limit_hit(scope="shared", key="k", rate=rate, now=now).allowed
    monkeypatch.setattr(ratelimit, "cache", worker_2)
    assert not rate_limit_hit(scope="shared", key="k", rate=rate, now=now).allowed


# --- the decorator, as a webhook view uses it -------------------------------------------


def test_the_decorator_limits_any_view_by_the_key_it_is_given(settings: Any) -> None:
    settings.RATE_LIMIT_WEBHOOKS = "2/60"

    @rate_limit("webhooks", setting="RATE_LIMIT_WEBHOOKS", key=lambda request, source: source)
    def receive(request: HttpRequest, source: str) -> HttpResponse:
        return HttpResponse("accepted", status=202)

    factory = RequestFactory()
    statuses = [
        receive(factory.post("/webhooks/pager/"), source="pager").status_code for _ in range(3)
    ]
    assert statuses == [202, 202, 429]
    refused = receive(factory.post("/webhooks/pager/"), source="pager")
    assert refused["Retry-After"]
    assert json.loads(refused.content)["errors"] == {}
    # Another source has its own allowance.
    assert receive(factory.post("/webhooks/ci/"), source="ci").status_code == 202


def test_the_decorator_keeps_the_views_markers() -> None:
    """csrf_exempt and login_not_required survive the decorator (webhooks need both)."""
    from django.contrib.auth.decorators import login_not_required
    from django.views.decorators.csrf import csrf_exempt

    @rate_limit("webhooks", setting="RATE_LIMIT_WEBHOOKS")
    @csrf_exempt
    @login_not_required
    def receive(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert getattr(receive, "csrf_exempt", False)
    assert getattr(receive, "login_required", True) is False


# --- the client's address ---------------------------------------------------------------


def test_the_client_address_is_remote_addr_without_trusted_proxies(settings: Any) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.2.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert client_ip(request) == "10.2.0.1"


def test_behind_one_proxy_the_address_it_saw_counts_not_what_the_client_claims(
    settings: Any,
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7"
    )
    assert client_ip(request) == "203.0.113.7"


def test_an_address_that_is_not_one_is_not_trusted(settings: Any) -> None:
    """A forged X-Forwarded-For must not reach the lockout's address column."""
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="'; DROP")
    assert client_ip(request) == "10.9.9.9"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="")) is None
