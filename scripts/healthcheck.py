"""Container health check: GET /health/ready (or the path given) on the local gunicorn, as a
host Django accepts. Healthy when it answers 200: database, Redis and a worker heartbeat."""

from __future__ import annotations

import os
import sys
import urllib.request


def main(path: str = "/health/ready") -> int:
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = hosts[0] if hosts else "localhost"
    if host == "*":
        host = "localhost"
    elif host.startswith("."):  # ".example.com" allows any subdomain
        host = "health" + host
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except Exception as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
