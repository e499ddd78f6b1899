#!/usr/bin/env bash
# The pytest part of `make test`: the suite on SQLite, the browser journeys, then the suite again on PostgreSQL.
#
# Outside CI an unreachable PostgreSQL skips the second pass with a loud warning; with
# CI=true it fails the run. Extra arguments go to both pytest runs.
set -uo pipefail
cd "$(dirname "$0")/.."

PY="${VENV:-.venv}/bin/python"
PG_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/execdash}"
REDIS="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
case "${CI:-}" in 1|true|TRUE|True|yes) in_ci=1 ;; *) in_ci=0 ;; esac

banner() { printf '\n==== %s ====\n' "$*"; }
loud() { printf '\n%s\n!!!! %s\n%s\n\n' "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" "$*" "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; }

# Each pass has a hard limit, so a hang fails the run with a message (and, from pytest's
# faulthandler_timeout, every thread's stack) instead of stalling it.
PASS_LIMIT="${TEST_PASS_LIMIT:-1200}"

# pytest exits 5 when it collected nothing: say so, and do not count it as a failure.
run_pytest() {
    timeout --signal=TERM --kill-after=30 "$PASS_LIMIT" "$PY" -m pytest "$@"
    local rc=$?
    case "$rc" in
        5) loud "pytest selected no tests for: $*"; return 0 ;;
        124) loud "pytest exceeded ${PASS_LIMIT} s and was stopped: $*" ;;
    esac
    return "$rc"
}

mkdir -p var/staticfiles test-artifacts

banner "pytest on SQLite (tasks in-process)"
(unset DATABASE_URL REDIS_URL; run_pytest -m "not postgres and not services and not browser" "$@")
sqlite_rc=$?

# The browser journeys: Debian's Chromium against the live server, on SQLite. A journey
# that fails is run once more, loudly, since a loaded machine can starve the browser; a
# journey that fails twice fails the run.
banner "pytest browser journeys (Playwright + Chromium, SQLite)"
(unset DATABASE_URL REDIS_URL; PASS_LIMIT=600 run_pytest tests/browser -m browser "$@")
browser_rc=$?
if [ "$browser_rc" -ne 0 ]; then
    loud "browser journeys failed (exit $browser_rc); running the failed ones once more"
    (unset DATABASE_URL REDIS_URL; PASS_LIMIT=600 run_pytest tests/browser -m browser --last-failed "$@")
    browser_rc=$?
fi

pg_reachable() {
    "$PY" - "$PG_URL" <<'PYEOF' >/dev/null 2>&1
import sys

import psycopg

url = sys.argv[1]
# Any database on the server will do: pytest-django creates its own test database.
with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3):
    pass
PYEOF
}

pg_rc=0
pg_ran=0
if pg_reachable; then
    pg_ran=1
    banner "pytest on PostgreSQL ($PG_URL) with Redis ($REDIS) and a real Celery worker"
    DATABASE_URL="$PG_URL" REDIS_URL="$REDIS" run_pytest -m "not browser" "$@"
    pg_rc=$?
elif [ "$in_ci" -eq 1 ]; then
    loud "CI=true and PostgreSQL at $PG_URL is unreachable: the PostgreSQL pass cannot run."
    pg_rc=1
else
    loud "SKIPPED: PostgreSQL at $PG_URL is unreachable, so the PostgreSQL pass (database
!!!! constraints, the Celery worker integration tests) did NOT run. Start PostgreSQL, or set
!!!! TEST_DATABASE_URL, and run make test again."
fi

if [ "$sqlite_rc" -ne 0 ] || [ "$browser_rc" -ne 0 ] || [ "$pg_rc" -ne 0 ]; then
    banner "FAILED: SQLite pass exit $sqlite_rc, browser journeys exit $browser_rc, PostgreSQL pass exit $pg_rc"
    exit 1
fi
if [ "$pg_ran" -eq 1 ]; then
    banner "all passes green"
else
    banner "SQLite and browser passes green; the PostgreSQL pass was SKIPPED (see above)"
fi
