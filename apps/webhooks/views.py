"""The receiver, `POST /webhooks/<public_id>/`: signed by the provider, not by a session.

A plain function view, csrf-exempt and open to anonymous requests: the signature over the
raw body is its authentication. (The admins' settings pages are in apps/dashboard.)
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core.ratelimit import rate_limit
from apps.webhooks import selectors
from apps.webhooks.services import (
    MAX_BODY_BYTES,
    delivery_log_refused,
    delivery_receive,
)

TOO_LARGE = f"The body is over {MAX_BODY_BYTES // (1024 * 1024)} MB."


# Counted per webhook: one misbehaving sender slows only its own deliveries.
@rate_limit("webhooks", setting="RATE_LIMIT_WEBHOOKS", key=lambda request, public_id: public_id)
@login_not_required
@csrf_exempt
@require_POST
def receive(request: HttpRequest, public_id: str) -> HttpResponse:
    webhook = selectors.webhook_by_public_id(public_id=public_id)
    if webhook is None:
        return JsonResponse({"outcome": "refused", "detail": "No such webhook."}, status=404)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse(
            {"outcome": "refused", "detail": "Content-Length is not a number."}, status=400
        )
    # Checked before the body is read: an oversized body is never loaded.
    if length > MAX_BODY_BYTES:
        result = delivery_log_refused(webhook=webhook, status=413, reason=TOO_LARGE)
        return JsonResponse(result.as_json(), status=413)
    try:
        body = request.body  # DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) is the backstop
    except RequestDataTooBig:
        body = None
    if body is None or len(body) > MAX_BODY_BYTES:
        result = delivery_log_refused(webhook=webhook, status=413, reason=TOO_LARGE)
        return JsonResponse(result.as_json(), status=413)
    result = delivery_receive(webhook=webhook, body=body, headers=request.headers)
    return JsonResponse(result.as_json(), status=result.status)
