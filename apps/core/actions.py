"""The small writes of a record's page (resolve, mark failed, link a cause): run the
service, say what happened in a message, and go back to the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from apps.core.forms import apply_service_errors
from apps.core.http import redirect_after_post


def button_action(
    request: HttpRequest, *, action: Callable[[], object], done: str, back_to: str
) -> HttpResponse:
    """`action` refused shows its reasons as errors; `done` shows once it succeeded."""
    try:
        action()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect_after_post(request, back_to)


def form_action(
    request: HttpRequest,
    form: forms.Form,
    *,
    action: Callable[[dict[str, Any]], str],
    back_to: str,
    rename: dict[str, str] | None = None,
) -> HttpResponse | None:
    """A page's small form: when it is valid and `action(cleaned_data)` is accepted, the
    message `action` returns and back to the page. Otherwise None, and the form holds the
    errors (the service's next to the fields, `rename`d) for the page to show again.
    """
    if not form.is_valid():
        return None
    try:
        done = action(form.cleaned_data)
    except ValidationError as exc:
        apply_service_errors(form, exc, rename=rename)
        return None
    messages.success(request, done)
    return redirect_after_post(request, back_to)
