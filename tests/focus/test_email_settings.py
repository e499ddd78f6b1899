"""Email settings from the environment: EMAIL_URL or the usual EMAIL_HOST… variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from execdash.settings import email_from_url

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
try:
    print(json.dumps({"mailer": settings.MAILERS["default"], "base": settings.EXECDASH_BASE_URL,
                      "from": settings.DEFAULT_FROM_EMAIL}))
except ImproperlyConfigured as exc:
    print(json.dumps({"error": str(exc)}))
"""


def load(**env: str) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMAIL_", "EXECDASH_BASE_URL", "DEFAULT_FROM_EMAIL", "DATABASE_URL"))
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="execdash.settings")
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://mailer:s%40cret@mail.example.com",
            {
                "host": "mail.example.com",
                "port": 25,
                "username": "mailer",
                "password": "s@cret",
                "use_tls": False,
                "use_ssl": False,
            },
        ),
        (
            "smtp+tls://u:p@mail.example.com:2525",
            {
                "host": "mail.example.com",
                "port": 2525,
                "username": "u",
                "password": "p",
                "use_tls": True,
                "use_ssl": False,
            },
        ),
        (
            "smtp+ssl://mail.example.com",
            {
                "host": "mail.example.com",
                "port": 465,
                "username": "",
                "password": "",
                "use_tls": False,
                "use_ssl": True,
            },
        ),
    ],
)
def test_email_url(url, expected) -> None:
    assert email_from_url(url) == expected


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "smtp://h:notaport"])
def test_a_bad_email_url_is_improperly_configured(url) -> None:
    with pytest.raises(ImproperlyConfigured):
        email_from_url(url)


def test_console_by_default_and_smtp_from_the_variables() -> None:
    default = load()
    assert default["mailer"] == {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    assert default["base"] == "http://localhost:8000"
    smtp = load(
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="587",
        EMAIL_HOST_USER="me",
        EMAIL_HOST_PASSWORD="pw",
        EMAIL_USE_TLS="true",
        DEFAULT_FROM_EMAIL="ops@example.com",
        EXECDASH_BASE_URL="https://execdash.example.com/",
    )
    assert smtp["mailer"]["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert smtp["mailer"]["OPTIONS"] == {
        "host": "smtp.example.com",
        "port": 587,
        "username": "me",
        "password": "pw",
        "use_tls": True,
        "use_ssl": False,
        "timeout": 10,
    }
    assert (smtp["from"], smtp["base"]) == ("ops@example.com", "https://execdash.example.com")
    url = load(EMAIL_URL="smtp+ssl://a:b@relay:465", EMAIL_HOST="ignored")
    assert url["mailer"]["OPTIONS"]["host"] == "relay"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"EMAIL_HOST": "h", "EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"}, "cannot both"),
        ({"EMAIL_HOST": "h", "EMAIL_USE_TLS": "maybe"}, "true or false"),
        ({"EMAIL_URL": "mailto:me"}, "EMAIL_URL"),
        ({"EXECDASH_BASE_URL": "execdash.example.com"}, "EXECDASH_BASE_URL"),
    ],
)
def test_bad_email_settings_stop_the_start(env, words) -> None:
    assert words in load(**env)["error"]
