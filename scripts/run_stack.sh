#!/usr/bin/env bash
# The production topology without Docker: gunicorn + celery worker + celery beat, against
# DATABASE_URL and REDIS_URL, the same three processes docker-compose.yml runs.
#
# Reads ./.env when present. Defaults suit a single machine with local PostgreSQL and Redis;
# a SECRET_KEY is generated once into var/secret_key when none is given. Stops all three
# when any one exits or on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f .env ]; then
    set -a
    # shellcheck disable=SC1091
    . ./.env
    set +a
fi

BIN="${VENV:-.venv}/bin"
mkdir -p var

export DEBUG="${DEBUG:-false}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/execdash}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-127.0.0.1,localhost}"
# Plain HTTP on this machine; put TLS in front and set SECURE_COOKIES=true in production.
export SECURE_COOKIES="${SECURE_COOKIES:-false}"
if [ -z "${SECRET_KEY:-}" ] && [ -z "${SECRET_KEY_FILE:-}" ]; then
    if [ ! -s var/secret_key ]; then
        (umask 077 && "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key)
    fi
    export SECRET_KEY_FILE="$PWD/var/secret_key"
fi

BIND="${BIND:-127.0.0.1:${PORT:-8000}}"
WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
WORKER_CONCURRENCY="${WORKER_CONCURRENCY:-2}"

# Create the database when the server has none by that name (a no-op otherwise).
"$BIN/python" - <<'PYEOF'
import os

import psycopg
from psycopg import sql

url = os.environ["DATABASE_URL"]
base, name = url.rsplit("/", 1)
name = name.split("?", 1)[0]
with psycopg.connect(base + "/postgres", autocommit=True, connect_timeout=5) as conn:
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if not exists:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"created database {name}")
PYEOF

"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py collectstatic --noinput --verbosity 0

pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait || true
}
trap stop INT TERM EXIT

"$BIN/gunicorn" execdash.wsgi:application --bind "$BIND" --workers "$WEB_CONCURRENCY" \
    --access-logfile - --graceful-timeout 10 &
pids+=($!)
"$BIN/celery" -A execdash worker --loglevel="${LOG_LEVEL:-INFO}" \
    --concurrency "$WORKER_CONCURRENCY" &
pids+=($!)
"$BIN/celery" -A execdash beat --loglevel="${LOG_LEVEL:-INFO}" \
    --schedule "${BEAT_SCHEDULE:-var/celerybeat-schedule}" &
pids+=($!)

echo "execdash: web on http://$BIND/ , worker and beat on $REDIS_URL (pids ${pids[*]})"
# Whichever exits first (or a signal) brings the others down.
set +e
wait -n "${pids[@]}"
rc=$?
echo "execdash: a process exited ($rc); stopping the others"
exit "$rc"
