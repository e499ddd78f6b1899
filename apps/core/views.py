from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and compose health checks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok", "database": connection.vendor})
    except Exception as exc:  # noqa: BLE001
        return JsonResponse({"status": "error", "detail": str(exc)}, status=503)


def page_not_found(request: HttpRequest, exception: Exception | None = None):  # type: ignore[no-untyped-def]
    from django.shortcuts import render

    return render(request, "404.html", status=404)


def server_error(request: HttpRequest):  # type: ignore[no-untyped-def]
    from django.shortcuts import render

    return render(request, "500.html", status=500)
