"""The env-driven settings module: each case imports it in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARS = (
    "DEBUG",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "DATABASE_URL",
    "REDIS_URL",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "EXECDASH_TIME_ZONE",
    "EXECDASH_DORA_YEAR",
    "SECURE_COOKIES",
    "EXECDASH_RECOMPUTE_DELAY_SECONDS",
    "EXECDASH_SQLITE_PATH",
    "EXECDASH_TESTING",
    "LOG_LEVEL",
)
PROBE = """
import json
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
try:
    db = settings.DATABASES["default"]
    print(json.dumps({
        "DEBUG": settings.DEBUG,
        "SECRET_KEY": settings.SECRET_KEY,
        "ENGINE": db["ENGINE"],
        "DB_NAME": str(db["NAME"]),
        "DB_HOST": db.get("HOST", ""),
        "EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
        "BROKER": settings.CELERY_BROKER_URL,
        "CACHE": settings.CACHES["default"]["BACKEND"],
        "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
        "CSRF_TRUSTED_ORIGINS": settings.CSRF_TRUSTED_ORIGINS,
        "TIME_ZONE": settings.TIME_ZONE,
        "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
        "DELAY": settings.EXECDASH_RECOMPUTE_DELAY_SECONDS,
    }))
except ImproperlyConfigured as exc:
    print(json.dumps({"error": str(exc)}))
"""


def load(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    clean.update(env, DJANGO_SETTINGS_MODULE="execdash.settings")
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_defaults_are_the_laptop_mode() -> None:
    s = load()
    assert s["DEBUG"] is True
    assert s["ENGINE"] == "django.db.backends.sqlite3"
    assert s["DB_NAME"].endswith("var/execdash.sqlite3")
    assert s["EAGER"] is True
    assert "127.0.0.1" in s["ALLOWED_HOSTS"]
    assert s["TIME_ZONE"] == "UTC"
    assert s["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize("value", ["maybe", "2", "tru"])
def test_a_bad_boolean_is_improperly_configured(value: str) -> None:
    s = load(DEBUG=value)
    assert "DEBUG must be true or false" in s["error"]


@pytest.mark.parametrize(("value", "expected"), [("no", False), ("0", False), ("ON", True)])
def test_booleans_accept_the_usual_spellings(value: str, expected: bool) -> None:
    assert load(DEBUG=value, SECRET_KEY="k" * 50)["DEBUG"] is expected


def test_secret_key_is_required_when_debug_is_off() -> None:
    s = load(DEBUG="false")
    assert "SECRET_KEY must be set" in s["error"]


def test_secret_key_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file-" + "x" * 40 + "\n")
    s = load(DEBUG="false", SECRET_KEY_FILE=str(secret), ALLOWED_HOSTS="example.com")
    assert s["SECRET_KEY"] == "from-a-file-" + "x" * 40
    assert s["ALLOWED_HOSTS"] == ["example.com"]
    assert s["SESSION_COOKIE_SECURE"] is True


def test_an_unreadable_secret_file_is_named(tmp_path: Path) -> None:
    s = load(DEBUG="false", SECRET_KEY_FILE=str(tmp_path / "missing"))
    assert "SECRET_KEY_FILE" in s["error"]


def test_database_url_switches_to_postgresql() -> None:
    s = load(DATABASE_URL="postgres://someone@db.internal:5433/execdash_prod")
    assert s["ENGINE"] == "django.db.backends.postgresql"
    assert s["DB_NAME"] == "execdash_prod"
    assert s["DB_HOST"] == "db.internal"


def test_only_postgres_urls_are_accepted() -> None:
    assert "postgres://" in load(DATABASE_URL="mysql://root@localhost/execdash")["error"]


def test_sqlite_path_is_configurable(tmp_path: Path) -> None:
    assert load(EXECDASH_SQLITE_PATH=str(tmp_path / "x.db"))["DB_NAME"] == str(tmp_path / "x.db")


def test_redis_url_switches_celery_to_the_broker() -> None:
    s = load(REDIS_URL="redis://127.0.0.1:6379/3")
    assert s["EAGER"] is False
    assert s["BROKER"] == "redis://127.0.0.1:6379/3"
    assert s["CACHE"].endswith("RedisCache")


def test_lists_and_time_zone() -> None:
    s = load(
        ALLOWED_HOSTS="a.example.com, b.example.com ,",
        CSRF_TRUSTED_ORIGINS="https://a.example.com",
        EXECDASH_TIME_ZONE="Europe/Berlin",
        EXECDASH_RECOMPUTE_DELAY_SECONDS="0.25",
    )
    assert s["ALLOWED_HOSTS"] == ["a.example.com", "b.example.com"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://a.example.com"]
    assert s["TIME_ZONE"] == "Europe/Berlin"
    assert s["DELAY"] == 0.25


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EXECDASH_TIME_ZONE", "Mars/Olympus_Mons", "is not a time zone"),
        ("EXECDASH_DORA_YEAR", "2020", "2021, 2023 or 2024"),
        ("EXECDASH_DORA_YEAR", "soon", "whole number"),
        ("SECURE_COOKIES", "sometimes", "SECURE_COOKIES must be true or false"),
    ],
)
def test_bad_values_are_improperly_configured(name: str, value: str, message: str) -> None:
    assert message in load(**{name: value})["error"]


def test_migrate_creates_the_sqlite_files_directory(tmp_path: Path) -> None:
    """A fresh clone has no var/: the first `manage.py migrate` makes the directory."""
    path = tmp_path / "fresh" / "var" / "execdash.sqlite3"
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    clean.update(EXECDASH_SQLITE_PATH=str(path), DJANGO_SETTINGS_MODULE="execdash.settings")
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert path.is_file()
