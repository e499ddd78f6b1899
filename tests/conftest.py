"""Shared fixtures, and the rule for tests that need real services.

Tests marked `postgres`, `services` or `browser` need something outside the process. Outside
CI they are skipped with a loud reason when it is missing; with CI=true they must run, so a
missing service fails the run instead of hiding.
"""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.test import Client

from tests.core.personas import Personas, client_for

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("EXECDASH_CHROMIUM", "/usr/bin/chromium")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def _missing(item: pytest.Item) -> str | None:
    markers = {m.name for m in item.iter_markers()}
    if markers & {"postgres", "services"} and connection.vendor != "postgresql":
        return "needs PostgreSQL: run with DATABASE_URL=postgres://… (make test does)"
    if "services" in markers:
        redis_url = os.environ.get("REDIS_URL", "")
        if not redis_url:
            return "needs Redis and a Celery worker: run with REDIS_URL=redis://… (make test does)"
        if not _reachable(redis_url, 6379):
            return f"Redis at {redis_url} is unreachable"
    if "browser" in markers and not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        return f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing(item)
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a required service is missing: {reason}", pytrace=False)
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    """Tests create many users; the production hasher's deliberate slowness is not tested here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_local_cache():  # type: ignore[no-untyped-def]
    """Pages cache what they build under row ids and recompute counters, which a rolled-back
    SQLite test hands out again: each test starts with an empty in-process cache. (A Redis
    cache is left alone: it may be the Celery broker's database too.)"""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    cache = caches["default"]
    if isinstance(cache, LocMemCache):
        cache.clear()


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(monkeypatch):  # type: ignore[no-untyped-def]
    """Rate-limit counters live in the cache, which on Redis outlives a test: each test
    counts under its own prefix, so one test's requests never spend another's allowance."""
    import uuid

    from apps.core import ratelimit

    monkeypatch.setattr(ratelimit, "KEY_PREFIX", f"ratelimit-test-{uuid.uuid4().hex}")


# ---------- the people of the permission matrix (pages of core, incidents, releases) ----------


@pytest.fixture
def people(db) -> Personas:  # type: ignore[no-untyped-def]
    return Personas.make()


@pytest.fixture
def member_client(people: Personas) -> Client:
    return client_for(people.member)


@pytest.fixture
def outsider_client(people: Personas) -> Client:
    return client_for(people.outsider)


@pytest.fixture(autouse=True)
def _closed_breakers():  # type: ignore[no-untyped-def]
    """A breaker a test opened (a refused broker, a dead cache) must not make the next test
    skip its calls for the cool-down."""
    from apps.core.breaker import breakers_reset

    breakers_reset()
    yield
    breakers_reset()
