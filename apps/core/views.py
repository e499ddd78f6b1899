from __future__ import annotations

import sys
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache, caches
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_GET

from apps.core.cache import ExecdashRedisCache
from execdash.celery import BEAT_HEARTBEAT_KEY, HEARTBEAT_KEY


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability (the first health URL; kept for existing probes)."""
    database = _check_database()
    if database["status"] != "ok":
        return JsonResponse({"status": "error", "detail": database["detail"]}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


@login_not_required
@require_GET
def health_live(request: HttpRequest) -> JsonResponse:
    """The process is up and answers: no database, no Redis (a liveness probe restarts a
    process that fails it, which a dead database would not cure)."""
    return JsonResponse({"status": "ok"})


@login_not_required
@require_GET
def health_ready(request: HttpRequest) -> JsonResponse:
    """Whether this instance can do its work: the database, Redis when configured, and a
    worker heartbeat younger than heartbeat_max_age() (when tasks run in-process, without
    REDIS_URL, there is no worker to check). Beat is reported too, by its own heartbeat,
    but does not make the instance unready: without it the pages, the API and the
    recomputes after each write still work; only the sweep, the nightly re-check and the
    reminders wait for it. Each check is reported by name (`checks`, and in one line each,
    `summary`); 503 when a check that readiness needs is down."""
    checks = {
        "database": _check_database(),
        "redis": _check_redis(),
        "worker": _check_worker(),
        "beat": _check_beat(),
    }
    ready = all(checks[name]["status"] != "down" for name in READY_NEEDS)
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "summary": {name: _summary(check) for name, check in checks.items()},
            "checks": checks,
        },
        status=200 if ready else 503,
    )


# The checks whose failure makes the instance unready; the others are reported only.
READY_NEEDS = ("database", "redis", "worker")
# A heartbeat is written every EXECDASH_HEARTBEAT_SECONDS: missing four in a row is down.
HEARTBEAT_MISSED = 4
Check = dict[str, Any]


def heartbeat_max_age() -> float:
    return HEARTBEAT_MISSED * float(settings.EXECDASH_HEARTBEAT_SECONDS)


def _summary(check: Check) -> str:
    """ "ok", or the status and what is wrong: "down: last worker heartbeat 95 s ago"."""
    detail = check.get("detail")
    return f"{check['status']}: {detail}" if detail else str(check["status"])


def _check_database() -> Check:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        connection.close_if_unusable_or_obsolete()
        return {"status": "down", "detail": f"{type(exc).__name__}: {exc}".strip()}
    return {"status": "ok", "vendor": connection.vendor, "ms": _ms(started)}


def _check_redis() -> Check:
    if not settings.REDIS_URL:
        return {"status": "not configured"}
    backend = caches["default"]
    if not isinstance(backend, ExecdashRedisCache):
        return {"status": "not configured"}
    started = time.monotonic()
    if not backend.ping():
        return {"status": "down", "detail": "Redis does not answer"}
    return {"status": "ok", "ms": _ms(started)}


def _check_worker() -> Check:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "not applicable", "detail": "in-process: tasks run in the web process"}
    return _check_heartbeat(HEARTBEAT_KEY, "worker")


def _check_beat() -> Check:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {
            "status": "not applicable",
            "detail": "in-process: no beat (run send_focus_reminders from cron)",
        }
    return _check_heartbeat(BEAT_HEARTBEAT_KEY, "beat")


def _check_heartbeat(key: str, name: str) -> Check:
    """The heartbeat `name` writes under `key` (execdash.celery), and how old it is."""
    written = cache.get(key)
    if written is None:
        return {"status": "down", "detail": f"no {name} heartbeat"}
    age = max(0.0, time.time() - float(written))
    if age > heartbeat_max_age():
        return {"status": "down", "detail": f"last {name} heartbeat {age:.0f} s ago"}
    return {"status": "ok", "heartbeat_age_s": round(age, 1)}


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


@require_GET
def me(request: HttpRequest) -> HttpResponse:
    """Who is logged in, as plain text: the lightest page behind the login (the session and
    the user, nothing else). The pages benchmark measures the dashboard against it."""
    return HttpResponse(request.user.get_username(), content_type="text/plain; charset=utf-8")


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 page in the product's look, with the navigation of whoever is logged in."""
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page. Rendered without a request context: the database, the session or a
    context processor may be what failed, so the template needs nothing but static files.

    Django calls it while handling the exception, so the exception is at hand: a database
    that cannot be reached (or a query it cancelled) is a 503 with Retry-After, "try again
    shortly", not a 500. Under /api/ the answer is the API's JSON error shape.
    """
    unavailable = isinstance(sys.exc_info()[1], (OperationalError, InterfaceError))
    status = 503 if unavailable else 500
    if getattr(request, "path", "").startswith("/api/"):
        detail = (
            "The service is temporarily unavailable; try again shortly."
            if unavailable
            else "Internal server error."
        )
        response: HttpResponse = JsonResponse({"detail": detail, "errors": {}}, status=status)
    else:
        template = "503.html" if unavailable else "500.html"
        response = HttpResponse(loader.get_template(template).render(), status=status)
    if unavailable:
        response["Retry-After"] = "5"
    return response
