"""execdash settings: one module, driven by environment variables.

With nothing set, `make run` works: a SQLite file under var/, Celery tasks executed
in-process, DEBUG on. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY,
ALLOWED_HOSTS and DEBUG=false (see .env.example and the README).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """A variable's value, or the contents of the file named by NAME_FILE (for secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = env(name, "true" if default else "false").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc


def env_rate(name: str, default: str) -> str:
    """A rate limit: "COUNT/SECONDS" (e.g. "30/300"), or "off"."""
    raw = env(name, default).strip().lower()
    if raw != "off" and not re.fullmatch(r"[1-9][0-9]*/[1-9][0-9]*", raw):
        raise ImproperlyConfigured(f'{name} must be "COUNT/SECONDS" (e.g. "30/300") or "off"')
    return raw


DEBUG = env_bool("DEBUG", True)
TESTING = env_bool("EXECDASH_TESTING", False)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (or point SECRET_KEY_FILE at a file)."
        )
    SECRET_KEY = "execdash-insecure-development-key-do-not-use-in-production"  # noqa: S105

# Webhook signing secrets are stored encrypted with a key derived from this value when it
# is set, otherwise from SECRET_KEY (apps/webhooks/crypto.py). Changing it (or SECRET_KEY
# when it is unset) makes the stored secrets unreadable: rotate each webhook's secret.
EXECDASH_SECRETS_KEY = env("EXECDASH_SECRETS_KEY")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "axes",  # login lockout (apps.core.auth_views)
    "ninja",  # serves the API docs (Swagger UI) from local static files, not a CDN
    "apps.core",
    "apps.teams",
    "apps.focus",
    "apps.releases",
    "apps.incidents",
    "apps.outcomes",
    "apps.metrics",
    "apps.api",
    "apps.webhooks",
    "apps.imports",
    "apps.demo",
    "apps.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Before any view reads the query string: text with U+0000 is refused, naming it.
    "apps.core.middleware.RefuseNulQueryMiddleware",
    # Last, as django-axes asks: it turns a lockout found during login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "execdash.urls"
WSGI_APPLICATION = "execdash.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.teams.context_processors.execdash",
            ],
        },
    },
]

# Database: a SQLite file by default; DATABASE_URL=postgres://… switches to PostgreSQL.
DATABASE_URL = env("DATABASE_URL")
SQLITE_PATH = Path(env("EXECDASH_SQLITE_PATH", str(BASE_DIR / "var" / "execdash.sqlite3")))
if DATABASE_URL:
    if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL (or unset for SQLite).")
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
    # A persistent connection is checked before each request reuses it, so a restarted
    # database is reconnected to without restarting the app; a database that does not
    # answer fails a request after connect_timeout (a 503 page), not after minutes.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
else:
    # SQLite creates the file but not its directory: a fresh clone has no var/ yet, and
    # `migrate` would fail with "unable to open database file". (Unwritable: the connection
    # says so then.)
    with contextlib.suppress(OSError):
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                # WAL lets the web process read while the worker writes.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# At least 12 characters, not one of the 20,000 most common passwords, not the username;
# long passphrases welcome (Django's hashers take any length; 64 characters is tested).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes checks every login first: after LOGIN_FAILURE_LIMIT failures for one username
# (from anywhere) or from one address (for any username), logging in is refused for
# LOGIN_LOCKOUT_MINUTES, with the same answer whether the username exists or not. Failures
# are rows in the database (AccessAttempt), so every gunicorn worker sees them and a Redis
# outage does not lift the lockout; an admin unlocks by deleting them in the admin.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.core.auth_views.lockout_response"
AXES_CLIENT_IP_CALLABLE = "apps.core.ratelimit.client_ip"
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME.total_seconds() <= 0:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_LOCKOUT_MINUTES must be at least 1")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "teams:overview"  # the overview is the home page
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
USE_I18N = False
USE_TZ = True
# The organization's time zone: weekly buckets and date windows are in it.
EXECDASH_TIME_ZONE = env("EXECDASH_TIME_ZONE", "UTC")
try:
    ZoneInfo(EXECDASH_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(
        f"EXECDASH_TIME_ZONE={EXECDASH_TIME_ZONE!r} is not a time zone"
    ) from exc
TIME_ZONE = EXECDASH_TIME_ZONE

# DORA benchmark year used for level badges (2021, 2023 or 2024).
EXECDASH_DORA_YEAR = env_int("EXECDASH_DORA_YEAR", 2023)
if EXECDASH_DORA_YEAR not in (2021, 2023, 2024):
    raise ImproperlyConfigured("EXECDASH_DORA_YEAR must be 2021, 2023 or 2024")

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
# Uploaded files (CSV imports), kept on disk and read streamed.
MEDIA_ROOT = Path(env("EXECDASH_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# A CSV import through the page: at most this many bytes.
EXECDASH_IMPORT_MAX_BYTES = env_int("EXECDASH_IMPORT_MAX_BYTES", 200 * 1024 * 1024)
# A CSV import whose worker has shown no progress for this long has lost its worker and is
# marked failed (a batch of 2,000 rows takes about a second).
EXECDASH_IMPORT_STALE_SECONDS = env_int("EXECDASH_IMPORT_STALE_SECONDS", 10 * 60)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- Transport and headers (README: "Running behind a TLS proxy") -----------------------
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# HSTS is sent on HTTPS responses only, so a plain-HTTP first install is not affected; with
# DEBUG off it defaults to one year. Subdomains and preload reach beyond this host (and the
# preload list is slow to leave), so they are off unless set.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Off unless set: redirecting plain HTTP to HTTPS needs TLS in front (or a redirect loop).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# The header a TLS-terminating proxy sets to "https", e.g. X-Forwarded-Proto. Unset: the
# request's own scheme (trusting a header no proxy overwrites would let clients fake HTTPS).
# Written as the header ("X-Forwarded-Proto") or as Django's META key ("HTTP_X_FORWARDED_PROTO").
_proxy_ssl_header = env("SECURE_PROXY_SSL_HEADER").strip().upper().replace("-", "_")
_proxy_ssl_header = _proxy_ssl_header.removeprefix("HTTP_")
SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header, "https") if _proxy_ssl_header else None
# How many proxies append to X-Forwarded-For in front of the app: the client address used by
# the login lockout and the rate limits is the one the outermost of them saw. 0: REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- Rate limits (apps/core/ratelimit.py), shared by all workers through the cache --------
# "COUNT/SECONDS" or "off". Login: POSTs per client address. API: requests per token (per
# address without one). Webhooks: deliveries per source.
RATE_LIMIT_LOGIN = env_rate("RATE_LIMIT_LOGIN", "30/300")
RATE_LIMIT_API = env_rate("RATE_LIMIT_API", "1200/60")
RATE_LIMIT_WEBHOOKS = env_rate("RATE_LIMIT_WEBHOOKS", "600/60")

# Content Security Policy (Django's CSP middleware). Pages load no inline script, nothing
# from another origin, and no eval: htmx runs with allowEval off (the htmx-config meta in
# base.html; an inline script in a swapped fragment is refused here) and plotly.js's basic
# bundle needs no eval. Chart figures travel as `<script type="application/json">` (never
# executed) read by static/js/charts.js.
# One exception, for styles: style ATTRIBUTES are allowed (`style-src-attr 'unsafe-inline'`)
# because plotly.js writes them on its SVG (rich text such as <b> in hover labels) and the
# focus timeline places its bands by percentage. Style ELEMENTS stay refused
# (`style-src-elem 'self'`): htmx's indicator styles are off and live in execdash.css, and
# plotly.js adds its rules through the CSSOM to static/css/plotly-rules.css. An injected
# style attribute needs an HTML injection first, which autoescaping prevents.
# tests/browser/test_every_page.py opens every page and fails on any violation.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "style-src-elem": ["'self'"],
    "style-src-attr": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
MIDDLEWARE.insert(1, "django.middleware.csp.ContentSecurityPolicyMiddleware")


# Email (focus reminders), as Django 6.1's MAILERS. Nothing set: mails are printed to the
# console. EMAIL_URL (smtp://, smtp+tls:// for STARTTLS, smtp+ssl:// for implicit TLS) or the
# usual EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS and
# EMAIL_USE_SSL variables switch to SMTP. (They are read from the environment only; Django
# refuses the old EMAIL_* settings beside MAILERS.)
def email_from_url(url: str) -> dict[str, object]:
    """EMAIL_URL as the SMTP mailer's OPTIONS; ImproperlyConfigured when it is not one."""
    parts = urlsplit(url)
    schemes = {
        "smtp": (False, False, 25),
        "smtp+tls": (True, False, 587),
        "smtp+ssl": (False, True, 465),
    }
    if parts.scheme not in schemes or not parts.hostname:
        raise ImproperlyConfigured(
            "EMAIL_URL must look like smtp://user:password@host:port (or smtp+tls://, smtp+ssl://)"
        )
    use_tls, use_ssl, default_port = schemes[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise ImproperlyConfigured(f"EMAIL_URL has a bad port: {exc}") from exc
    return {
        "host": parts.hostname,
        "port": port,
        "username": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "use_tls": use_tls,
        "use_ssl": use_ssl,
    }


def _smtp_options() -> dict[str, object] | None:
    url = env("EMAIL_URL")
    if url:
        options = email_from_url(url)
    elif env("EMAIL_HOST"):
        options = {
            "host": env("EMAIL_HOST"),
            "port": env_int("EMAIL_PORT", 25),
            "username": env("EMAIL_HOST_USER"),
            "password": env("EMAIL_HOST_PASSWORD"),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
        }
    else:
        return None
    if options["use_tls"] and options["use_ssl"]:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
    options["timeout"] = env_int("EMAIL_TIMEOUT", 10)
    return options


_smtp = _smtp_options()
MAILERS = {
    "default": (
        {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": _smtp}
        if _smtp
        else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "execdash <execdash@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where people reach this server: links in emails are built from it (no trailing slash).
EXECDASH_BASE_URL = env("EXECDASH_BASE_URL", "http://localhost:8000").rstrip("/")
if (
    urlsplit(EXECDASH_BASE_URL).scheme not in ("http", "https")
    or not urlsplit(EXECDASH_BASE_URL).hostname
):
    raise ImproperlyConfigured(
        f"EXECDASH_BASE_URL must be an http(s) URL such as https://execdash.example.com, "
        f"not {EXECDASH_BASE_URL!r}"
    )

# Celery: with REDIS_URL the worker runs tasks; without it they run in-process.
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
# A task is acknowledged when it ends, and requeued when its worker process dies: every task
# is idempotent (rollups are upserts, buckets are cleared only once written), so running one
# twice is harmless and losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Web requests publish after their commit: a dead broker must cost them about a second at
# most, not kombu's default retries. (Nothing is lost: the dirty buckets are the outbox and
# beat's sweep repairs them.) The visibility timeout (an unacknowledged message is delivered
# again after it) must exceed the longest task, CELERY_TASK_TIME_LIMIT, or a long recompute
# would run twice at once; a worker killed outright leaves its message for that long, which
# is harmless because the sweep redoes the work within a minute.
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1.0,
    "socket_timeout": 5.0,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# How often beat's sweep processes dirty buckets left by a lost message or a dead worker.
EXECDASH_SWEEP_SECONDS = float(env("EXECDASH_SWEEP_SECONDS", "60"))
# How often the worker and beat each write their heartbeat (read by /health/ready, which
# reports one down once its heartbeat is 4 intervals old).
EXECDASH_HEARTBEAT_SECONDS = float(env("EXECDASH_HEARTBEAT_SECONDS", "30"))
CELERY_TIMEZONE = EXECDASH_TIME_ZONE
# Debounce: how long the worker waits after a write before recomputing, so a burst of
# writes becomes one recompute of the buckets it touched.
EXECDASH_RECOMPUTE_DELAY_SECONDS = float(env("EXECDASH_RECOMPUTE_DELAY_SECONDS", "1.0"))
# How many database connections the full recompute reads with at once.
EXECDASH_RECOMPUTE_CONNECTIONS = env_int("EXECDASH_RECOMPUTE_CONNECTIONS", 3)
# After a recompute the worker pre-warms the preset windows of the team and, at most every
# EXECDASH_ORG_PREWARM_SECONDS, of the organization.
EXECDASH_PREWARM_WINDOWS = env_bool("EXECDASH_PREWARM_WINDOWS", True)
EXECDASH_ORG_PREWARM_SECONDS = env_int("EXECDASH_ORG_PREWARM_SECONDS", 300)
# The metric queries' SQL compiled once per shape and reused with each call's values
# (apps/metrics/compute.py; BENCHMARKS.md says what it buys).
EXECDASH_COMPILED_QUERIES = env_bool("EXECDASH_COMPILED_QUERIES", True)


def _release_cache_version() -> str:
    """The package version and a digest of the templates, computed once at start: cached
    dashboard parts of another release (or other templates) are never served."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("execdash")
    except PackageNotFoundError:
        release = "0"
    digest = hashlib.sha256()
    for template in sorted((BASE_DIR / "templates").rglob("*.html")):
        digest.update(template.read_bytes())
    return f"{release}-{digest.hexdigest()[:12]}"


# Part of every key of the dashboard's page cache (apps/dashboard/page_cache.py).
EXECDASH_CACHE_VERSION = env("EXECDASH_CACHE_VERSION") or _release_cache_version()
# The team page's chart JSON escaped once and cached with the charts, rather than by
# `json_script` on every render (apps/dashboard/page_cache.py).
EXECDASH_CHART_JSON_ONCE = env_bool("EXECDASH_CHART_JSON_ONCE", True)

CACHES = {
    "default": (
        {"BACKEND": "apps.core.cache.ExecdashRedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Lockouts are warnings; every login and failure at INFO would drown the log.
        "axes": {"level": "WARNING"},
    },
}
