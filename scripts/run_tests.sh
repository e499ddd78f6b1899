#!/usr/bin/env bash
# The pytest part of `make test`: the suite on SQLite, then again on PostgreSQL.
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

# pytest exits 5 when it collected nothing: say so, and do not count it as a failure.
run_pytest() {
    "$PY" -m pytest "$@"
    local rc=$?
    if [ "$rc" -eq 5 ]; then
        loud "pytest selected no tests for: $*"
        return 0
    fi
    return "$rc"
}

mkdir -p var/staticfiles test-artifacts

banner "pytest on SQLite (tasks in-process; browser tests included)"
(unset DATABASE_URL REDIS_URL; run_pytest -m "not postgres and not services" "$@")
sqlite_rc=$?

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

if [ "$sqlite_rc" -ne 0 ] || [ "$pg_rc" -ne 0 ]; then
    banner "FAILED: SQLite pass exit $sqlite_rc, PostgreSQL pass exit $pg_rc"
    exit 1
fi
if [ "$pg_ran" -eq 1 ]; then
    banner "both passes green"
else
    banner "SQLite pass green; the PostgreSQL pass was SKIPPED (see above)"
fi
