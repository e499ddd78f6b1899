"""Production settings: `check --deploy` passes with the environment of .env.example, the
HTTPS settings come from the environment with safe defaults, and responses carry the
security headers."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.foundation.compose_env import compose_dotenv

ROOT = Path(__file__).resolve().parents[2]


def example_environment() -> dict[str, str]:
    """The variables .env.example sets (uncommented lines), with the generated secret key its
    comment asks for in place of `change-me`."""
    env = compose_dotenv((ROOT / ".env.example").read_text())
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A clean process: only what finds Python and its files, then the variables given (the
    # test run's own, such as DJANGO_ALLOW_ASYNC_UNSAFE, have no place in production).
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    base.update(env, DJANGO_SETTINGS_MODULE="execdash.settings")
    return subprocess.run(
        args, cwd=ROOT, env=base, capture_output=True, text=True, timeout=120, check=False
    )


PROBE = """
import json
from django.conf import settings
print(json.dumps({name: getattr(settings, name) for name in (
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER",
    "TRUSTED_PROXY_COUNT", "RATE_LIMIT_LOGIN", "RATE_LIMIT_API", "RATE_LIMIT_WEBHOOKS",
    "AXES_FAILURE_LIMIT",
)}))
"""


def probe(env: dict[str, str]) -> dict[str, Any]:
    done = _run([sys.executable, "-c", PROBE], env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_check_deploy_passes_with_the_example_environment() -> None:
    done = _run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        example_environment(),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues (0 silenced)" in done.stdout


def test_nothing_is_silenced() -> None:
    assert "SILENCED_SYSTEM_CHECKS" not in (ROOT / "execdash" / "settings.py").read_text()


def test_the_example_environment_is_https_all_the_way() -> None:
    values = probe(example_environment())
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["TRUSTED_PROXY_COUNT"] == 1


def test_defaults_without_debug_do_not_lock_out_a_plain_http_install() -> None:
    """HSTS on (sent over HTTPS only), but no redirect to an HTTPS that may not exist yet,
    no trusted proxy header, nothing beyond this host."""
    values = probe({"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50)})
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert values["SECURE_HSTS_PRELOAD"] is False
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["TRUSTED_PROXY_COUNT"] == 0
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["RATE_LIMIT_LOGIN"] == "30/300"
    assert values["AXES_FAILURE_LIMIT"] == 5


def test_the_proxy_header_may_be_written_either_way() -> None:
    for written in ("X-Forwarded-Proto", "HTTP_X_FORWARDED_PROTO", "x-forwarded-proto"):
        values = probe({"SECURE_PROXY_SSL_HEADER": written})
        assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_with_debug_there_is_no_hsts() -> None:
    assert probe({"DEBUG": "true"})["SECURE_HSTS_SECONDS"] == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [("RATE_LIMIT_API", "lots"), ("RATE_LIMIT_LOGIN", "0/60"), ("LOGIN_FAILURE_LIMIT", "0")],
)
def test_bad_security_values_stop_the_start(name: str, value: str) -> None:
    done = _run([sys.executable, "-c", PROBE], {name: value})
    assert done.returncode != 0
    assert name in done.stderr
    assert "ImproperlyConfigured" in done.stderr


# --- the headers -------------------------------------------------------------------------


@pytest.fixture
def production_headers(settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.django_db
@pytest.mark.usefixtures("production_headers")
@pytest.mark.parametrize("path", ["/accounts/login/", "/health/", "/api/v1/teams"])
def test_security_headers_on_tls(path: str) -> None:
    response = Client().get(path, headers={"X-Forwarded-Proto": "https"})
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
@pytest.mark.usefixtures("production_headers")
def test_no_hsts_over_plain_http() -> None:
    response = Client().get("/accounts/login/")
    assert "Strict-Transport-Security" not in response
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_session_cookie_is_httponly_and_lax(settings: Any) -> None:
    from tests.factories import PASSWORD, UserFactory

    settings.SESSION_COOKIE_SECURE = True
    UserFactory(username="maya")
    response = Client().post("/accounts/login/", {"username": "maya", "password": PASSWORD})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"
