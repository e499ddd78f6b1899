#!/usr/bin/env bash
# The API fuzzed from its own OpenAPI document, then every page crawled, against a real
# production-like server: a fresh PostgreSQL database with demo data, gunicorn with DEBUG
# off. Fails when schemathesis finds a failure (a 5xx, a status, content type or body the
# document does not declare, invalid data accepted) or when a page does not answer 200.
#
#   scripts/fuzz_api.sh                      what CI runs after `make test` (about 5 minutes)
#   FUZZ_SEED=123 scripts/fuzz_api.sh        another fixed seed
#   FUZZ_CHECKS=all FUZZ_MAX_EXAMPLES=200 FUZZ_RUN_SECONDS=300 FUZZ_RUNS=organization \
#       scripts/fuzz_api.sh                  a longer run, every check
#   scripts/fuzz_api.sh --include-path-regex releases   extra arguments go to schemathesis
#
# Three schemathesis runs: the organization token and a team token with the fixed seed
# (FUZZ_SEED, 20261208), then the organization token with a random seed printed below (set
# FUZZ_RANDOM_SEED to replay it). Then the crawl (scripts/fuzz_site.py) as the demo admin,
# over the data the fuzzer left. The server's tracebacks are grouped at the end; everything
# is kept in FUZZ_OUT (test-artifacts/fuzz). The server, its database and its Redis
# database are removed on exit, whatever happened.
set -uo pipefail
cd "$(dirname "$0")/.."

BIN="${VENV:-.venv}/bin"
PY="$BIN/python"
PG_SERVER="${FUZZ_PG_SERVER:-postgres://postgres@127.0.0.1:5432}"
DB_NAME="${FUZZ_DATABASE:-execdash_fuzz}"
# A Redis database of its own (the tests use 15, `make serve-prod` 0): flushed on exit.
FUZZ_REDIS_URL="${FUZZ_REDIS_URL:-redis://127.0.0.1:6379/13}"
SEED="${FUZZ_SEED:-20261208}"
RANDOM_SEED="${FUZZ_RANDOM_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
# Which runs: any of organization, team, random (the organization token, random seed),
# crawl; `FUZZ_RUNS=crawl` only crawls the demo data.
RUNS=",${FUZZ_RUNS:-organization,team,random,crawl},"
CHECKS="${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection}"
MODE="${FUZZ_MODE:-all}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-40}"
# The random-seed run fuzzes for this long (schemathesis --max-time), whatever it finds.
RANDOM_SECONDS="${FUZZ_RANDOM_SECONDS:-60}"
# Any schemathesis run still going after this long is stopped and fails (a hang must not
# stall CI); the runs take well under it.
RUN_SECONDS="${FUZZ_RUN_SECONDS:-300}"
CRAWL_SECONDS="${FUZZ_CRAWL_SECONDS:-150}"
OUT="${FUZZ_OUT:-test-artifacts/fuzz}"
# The API's rate limit is raised so the fuzzer is not starved (its 429s are documented and
# still counted: the limiter stays on).
API_RATE="${FUZZ_RATE_LIMIT_API:-100000/60}"

banner() { printf '\n==== fuzz: %s ====\n' "$*"; }
started=$SECONDS

rm -rf "$OUT"
mkdir -p "$OUT" var
OUT="$(cd "$OUT" && pwd)"

export DEBUG=false
export SECRET_KEY="fuzz-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export ALLOWED_HOSTS=127.0.0.1
export SECURE_COOKIES=false
export DATABASE_URL="$PG_SERVER/$DB_NAME"
export REDIS_URL="$FUZZ_REDIS_URL"
export RATE_LIMIT_API="$API_RATE"
export LOG_LEVEL="${LOG_LEVEL:-INFO}"
unset EXECDASH_TESTING

database() {  # create | drop
    "$PY" - "$1" "$PG_SERVER" "$DB_NAME" <<'PYEOF'
import sys

import psycopg
from psycopg import sql

action, server, name = sys.argv[1:]
with psycopg.connect(server + "/postgres", autocommit=True, connect_timeout=5) as conn:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    if action == "create":
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
PYEOF
}

flush_redis() {
    "$PY" -c 'import sys, redis; redis.Redis.from_url(sys.argv[1]).flushdb()' "$REDIS_URL" \
        2>/dev/null || echo "fuzz: could not flush $REDIS_URL"
}

server_pid=""
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null
        for _ in $(seq 1 20); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    database drop || echo "fuzz: could not drop database $DB_NAME"
    flush_redis
}
trap cleanup EXIT
trap 'exit 130' INT TERM

banner "database $DB_NAME, demo data, tokens"
database create || { echo "fuzz: cannot create database $DB_NAME on $PG_SERVER"; exit 1; }
flush_redis
"$PY" manage.py migrate --noinput >"$OUT/setup.log" 2>&1 &&
    "$PY" manage.py collectstatic --noinput --verbosity 0 >>"$OUT/setup.log" 2>&1 &&
    "$PY" manage.py seed_demo --teams 3 --weeks 8 >>"$OUT/setup.log" 2>&1 ||
    { cat "$OUT/setup.log"; echo "fuzz: setting up the database failed"; exit 1; }
team_slug="$("$PY" manage.py shell -c \
    'from apps.teams.models import Team; print(Team.objects.order_by("slug").first().slug)' \
    2>>"$OUT/setup.log" | tail -n 1)"
org_token="$("$PY" manage.py create_api_token --admin --name fuzz 2>>"$OUT/setup.log")"
team_token="$("$PY" manage.py create_api_token --team "$team_slug" --name fuzz 2>>"$OUT/setup.log")"
admin_line="$("$PY" manage.py ensure_demo_admin --force 2>>"$OUT/setup.log")"
admin_user="$(sed -n 's/^demo admin: username \([^,]*\), password \(.*\)$/\1/p' <<<"$admin_line")"
admin_password="$(sed -n 's/^demo admin: username \([^,]*\), password \(.*\)$/\2/p' <<<"$admin_line")"
if [ -z "$team_slug" ] || [ -z "$org_token" ] || [ -z "$team_token" ] || [ -z "$admin_password" ]; then
    cat "$OUT/setup.log"
    echo "fuzz: could not create the tokens or the demo admin"
    exit 1
fi
echo "fuzz: demo data of 3 teams over 8 weeks; team token for '$team_slug'; admin '$admin_user'"

banner "gunicorn (DEBUG off) on 127.0.0.1"
port="$("$PY" scripts/fuzz_site.py free-port)"
base="http://127.0.0.1:$port"
"$BIN/gunicorn" execdash.wsgi:application --bind "127.0.0.1:$port" \
    --workers "${FUZZ_WEB_WORKERS:-2}" --timeout 60 --graceful-timeout 5 \
    --access-logfile "$OUT/access.log" >"$OUT/server.log" 2>&1 &
server_pid=$!
if ! "$PY" scripts/fuzz_site.py wait "$base/health/live" 60; then
    cat "$OUT/server.log"
    echo "fuzz: gunicorn did not start"
    exit 1
fi
echo "fuzz: serving $base (pid $server_pid), setup took $((SECONDS - started)) s"

failed=()

fuzz() {  # name token seed [schemathesis options]
    local name="$1" token="$2" seed="$3" run_started=$SECONDS rc
    shift 3
    banner "schemathesis: $name, seed $seed, $*"
    # Each case of an operation is tried even after one failed (--continue-on-failure), so
    # one run names every kind of failure it meets, not only the first of each operation.
    timeout --signal=INT --kill-after=20 "$RUN_SECONDS" \
        "$BIN/schemathesis" --config-file scripts/schemathesis.toml \
        run "$base/api/v1/openapi.json" \
        --checks "$CHECKS" --mode "$MODE" --seed "$seed" "$@" \
        --header "Authorization: Bearer $token" --continue-on-failure \
        --workers "${FUZZ_WORKERS:-2}" --request-timeout 30 \
        --generation-database none --no-color --output-truncate false \
        --report junit,ndjson --report-dir "$OUT/$name" \
        "${FUZZ_ARGS[@]}"
    rc=$?
    echo "fuzz: $name (seed $seed) exited $rc after $((SECONDS - run_started)) s"
    case "$rc" in
        0) ;;
        124 | 130) failed+=("schemathesis $name (seed $seed): stopped after $RUN_SECONDS s") ;;
        *) failed+=("schemathesis $name (seed $seed): failures above, exit $rc") ;;
    esac
}

FUZZ_ARGS=("$@")
fuzz_since="$("$PY" -c 'import datetime; print(datetime.datetime.now(datetime.UTC).isoformat())')"
echo "fuzz: fixed seed $SEED; random seed $RANDOM_SEED (FUZZ_RANDOM_SEED=$RANDOM_SEED replays it)"
# The fixed seed's runs are bounded by examples, so they make the same requests each time;
# the random one by time, so it finds what it can in its budget.
if [[ "$RUNS" == *,organization,* ]]; then
    fuzz organization "$org_token" "$SEED" --max-examples "$MAX_EXAMPLES"
fi
if [[ "$RUNS" == *,team,* ]]; then
    fuzz team "$team_token" "$SEED" --max-examples "$MAX_EXAMPLES"
fi
if [[ "$RUNS" == *,random,* ]]; then
    fuzz organization-random "$org_token" "$RANDOM_SEED" --phases fuzzing \
        --max-time "$RANDOM_SECONDS"
fi

# What the fuzzer stored goes through the recompute the worker would run on it, so the
# pages crawled next show its metrics (and a record that breaks the recompute is found).
banner "recompute_metrics over what the fuzzer stored"
recompute_started=$SECONDS
if timeout 300 "$PY" manage.py recompute_metrics --verbosity 0 >"$OUT/recompute.log" 2>&1; then
    echo "fuzz: recompute_metrics took $((SECONDS - recompute_started)) s"
else
    tail -n 40 "$OUT/recompute.log"
    failed+=("recompute_metrics over the fuzzed data failed (above; $OUT/recompute.log)")
fi

# The page of every record the fuzzer stored or changed (links alone reach only a few of
# each kind, seldom the fuzzer's): each is requested too, whatever the crawl's limits.
stored_pages() {
    FUZZ_SINCE="$fuzz_since" "$PY" manage.py shell --no-imports --verbosity 0 <<'PYEOF'
import os

from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from apps.focus.models import FocusPeriod
from apps.incidents.models import Incident
from apps.outcomes.models import Outcome
from apps.releases.models import Release
from apps.teams.models import Team

since = os.environ["FUZZ_SINCE"]
rows = [
    *Team.objects.filter(created_at__gte=since),
    *Release.objects.filter(updated_at__gte=since).select_related("team")[:400],
    *Incident.objects.filter(updated_at__gte=since).select_related("team")[:400],
]
for row in rows:
    try:
        print(row.get_absolute_url())
    except NoReverseMatch:
        print(f"!{type(row).__name__} {row.pk} has no page: {row!r}")
changed = Q(created_at__gte=since) | Q(measurements__created_at__gte=since)
for pk in Outcome.objects.filter(changed).values_list("pk", flat=True).distinct()[:200]:
    print(reverse("outcomes:detail", kwargs={"pk": pk}))
for period in FocusPeriod.objects.filter(created_at__gte=since).select_related("team")[:200]:
    print(reverse("focus:period", kwargs={"slug": period.team.slug, "pk": period.pk}))
PYEOF
}

if [[ "$RUNS" == *,crawl,* ]]; then
    banner "crawl: every page, as the demo admin"
    crawl_started=$SECONDS
    if ! stored_pages >"$OUT/stored-pages.txt" 2>"$OUT/stored-pages.log"; then
        cat "$OUT/stored-pages.log"
        failed+=("listing the pages of the records the fuzzer stored failed (above)")
    fi
    echo "fuzz: $(wc -l <"$OUT/stored-pages.txt") pages of records the fuzzer stored or changed"
    if ! "$PY" scripts/fuzz_site.py crawl "$base" --username "$admin_user" \
        --password "$admin_password" --max-seconds "$CRAWL_SECONDS" \
        --also "$OUT/stored-pages.txt" --visited "$OUT/crawl-urls.txt" | tee "$OUT/crawl.log"; then
        failed+=("crawl: pages that did not answer 200, above")
    fi
    echo "fuzz: crawl took $((SECONDS - crawl_started)) s"
fi

banner "the server's tracebacks"
"$PY" scripts/fuzz_site.py server-errors "$OUT/server.log" | tee "$OUT/server-errors.txt"

banner "done in $((SECONDS - started)) s (logs in $OUT)"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: FAILED"
    printf '  - %s\n' "${failed[@]}"
    exit 1
fi
echo "fuzz: no failure"
