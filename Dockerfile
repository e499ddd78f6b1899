# One image for web (gunicorn), worker and beat (celery).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them: the locked versions, every
# file checked against its hash (requirements/runtime.txt, made by scripts/lock.sh). The
# project itself is not installed: it runs from /app.
COPY requirements/runtime.txt ./requirements/
RUN pip install --require-hashes --no-deps -r requirements/runtime.txt && pip check

COPY . .

RUN groupadd --system execdash \
    && useradd --system --gid execdash --home-dir /app --shell /usr/sbin/nologin execdash \
    && mkdir -p /app/var/media \
    && SECRET_KEY=collectstatic-only DEBUG=false python manage.py collectstatic --noinput \
    && chown -R execdash:execdash /app/var

USER execdash

ENV DEBUG=false \
    PORT=8000 \
    WEB_CONCURRENCY=3

EXPOSE 8000

# No HEALTHCHECK here: the same image runs web, worker and beat, and each has its own
# check in docker-compose.yml (web: scripts/healthcheck.py on /health/).

# docker-compose.yml runs migrations first, then this; worker and beat override the command.
CMD ["sh", "-c", "exec gunicorn execdash.wsgi:application --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY} --access-logfile - --forwarded-allow-ips='*'"]
