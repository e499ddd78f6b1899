"""Rate limits: a fixed-window counter in the Django cache, shared by every gunicorn worker.

Why not django-ratelimit: it lets traffic through only when the cache host cannot be
resolved (`socket.gaierror`); a Redis that refuses connections or times out raises through
to a 500, which is the outage this must survive. It also rejects (a system check error) the
per-process cache `make run` uses, and does not say when its window ends, which
`Retry-After` needs. What is here is `cache.add` + `cache.incr` on a key per window:

- windows are aligned to the epoch (`now // period`), so every worker counts into the same
  key and agrees on when it ends (`Retry-After`); a burst straddling two windows may get up
  to twice the limit, which is the usual fixed-window trade for one key and one round trip;
- any cache failure lets the request through (fail open) and is logged at most once a
  minute per process: a limit protects the service, it must never be what takes it down.

Use it on any view (webhooks included) with the decorator:

    @rate_limit("webhooks", setting="RATE_LIMIT_WEBHOOKS", key=lambda request, **kw: kw["source"])
    def receive(request, source): ...

or call `rate_limit_hit(...)` and answer `too_many_requests_json(...)` yourself.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)

# Tests give each test its own prefix, so counts never leak between tests on a shared Redis.
KEY_PREFIX = "ratelimit"
_EXPIRY_SLACK = 5  # seconds a window's key outlives the window (clock skew between workers)
_last_failure_log = 0.0


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """`"30/300"` → 30 per 300 s; `"off"` → None (no limit)."""
        text = text.strip().lower()
        if text == "off":
            return None
        count, _, seconds = text.partition("/")
        return cls(limit=int(count), period=int(seconds))

    @classmethod
    def from_setting(cls, name: str) -> Rate | None:
        return cls.parse(getattr(settings, name))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # whole seconds until the window ends, when refused


ALLOWED = Verdict(allowed=True)


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front, the
    address the outermost of them saw (the entries before it in X-Forwarded-For are the
    client's to invent). None when there is no valid one (a request built in code). Also
    django-axes' AXES_CLIENT_IP_CALLABLE, which stores it in an address column."""
    remote = _address(request.META.get("REMOTE_ADDR", "") or "")
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    if proxies <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part.strip() for part in forwarded if part.strip()]
    if not forwarded:
        return remote
    return _address(forwarded[-min(proxies, len(forwarded))]) or remote


def _log_failure(exc: BaseException) -> None:
    global _last_failure_log
    now = time.monotonic()
    if now - _last_failure_log >= 60:
        _last_failure_log = now
        log.warning("rate limits are not counted (cache unavailable: %s); letting traffic in", exc)


def _count(key: str, timeout: int) -> int | None:
    """The hit's number in its window, or None when the cache cannot say."""
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:
        # The key expired (or the cache dropped it) between add and incr: start again once.
        return 1 if cache.add(key, 1, timeout=timeout) else None


def rate_limit_hit(*, scope: str, key: str, rate: Rate | None, now: float | None = None) -> Verdict:
    """Count one request of `key` in `scope`; refuse it when over `rate`."""
    if rate is None:
        return ALLOWED
    now = time.time() if now is None else now
    window = int(now // rate.period)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # keys may hold credentials
    cache_key = f"{KEY_PREFIX}:{scope}:{rate.period}:{window}:{digest}"
    try:
        count = _count(cache_key, rate.period + _EXPIRY_SLACK)
    except Exception as exc:  # any cache failure: fail open
        _log_failure(exc)
        return ALLOWED
    if count is None or count <= rate.limit:
        return ALLOWED
    retry_after = max(1, math.ceil((window + 1) * rate.period - now))
    return Verdict(allowed=False, retry_after=retry_after)


def too_many_requests_json(verdict: Verdict) -> HttpResponse:
    """The API's error shape: `{"detail": ..., "errors": {}}`, 429 with Retry-After."""
    response = JsonResponse(
        {
            "detail": f"Too many requests; try again in {verdict.retry_after} s.",
            "errors": {},
        },
        status=429,
    )
    response["Retry-After"] = str(verdict.retry_after)
    return response


def too_many_requests_html(request: HttpRequest, verdict: Verdict) -> HttpResponse:
    """A page for people (the login form): what happened and when to try again."""
    body = render_to_string("429.html", {"retry_after": verdict.retry_after}, request=request)
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(verdict.retry_after)
    return response


def rate_limit(
    scope: str,
    *,
    setting: str,
    key: Callable[..., str] | None = None,
    methods: frozenset[str] | None = None,
    html: bool = False,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Limit a view to the rate named by `setting` (read per request, "COUNT/SECONDS").

    `key(request, *args, **kwargs)` says whose requests count together (default: the
    client's address); `methods` limits only those methods (default: all); the refusal is
    the API's JSON 429, or with `html` a page.
    """
    key_of = key or (lambda request, *args, **kwargs: client_ip(request) or "unknown")

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if methods is None or request.method in methods:
                verdict = rate_limit_hit(
                    scope=scope,
                    key=key_of(request, *args, **kwargs),
                    rate=Rate.from_setting(setting),
                )
                if not verdict.allowed:
                    log.info("rate limit %s refused a request to %s", scope, request.path)
                    if html:
                        return too_many_requests_html(request, verdict)
                    return too_many_requests_json(verdict)
            return view(request, *args, **kwargs)

        return limited

    return decorate
