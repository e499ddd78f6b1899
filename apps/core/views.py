from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and compose health checks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok", "database": connection.vendor})
    except Exception as exc:
        return JsonResponse({"status": "error", "detail": str(exc)}, status=503)


@require_GET
def me(request: HttpRequest) -> HttpResponse:
    """Who is logged in, as plain text: the lightest page behind the login (the session and
    the user, nothing else). The pages benchmark measures the dashboard against it."""
    return HttpResponse(request.user.get_username(), content_type="text/plain; charset=utf-8")


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 page in the product's look, with the navigation of whoever is logged in."""
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page. Rendered without a request context: the database, the session or a
    context processor may be what failed, so the template needs nothing but static files.
    """
    return HttpResponseServerError(loader.get_template("500.html").render())
