"""Logging in and out: Django's views, with a rate limit and django-axes' lockout.

The lockout answer is the login page itself with a message that names neither the reason
(username or address) nor whether the username exists: a locked unknown username and a
locked real one look the same, as do their failures before the lockout.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from apps.core.forms import LoginForm
from apps.core.ratelimit import rate_limit

LOCKED_MESSAGE = (
    "Too many failed attempts to log in. Logging in is paused for {minutes} minutes; "
    "try again later, or ask an admin to unlock your account."
)

# Login form posts per client address; the admin's login form counts in the same allowance.
limit_login = rate_limit(
    "login", setting="RATE_LIMIT_LOGIN", methods=frozenset({"POST"}), html=True
)
login = require_http_methods(["GET", "POST"])(
    limit_login(
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        )
    )
)
logout = auth_views.LogoutView.as_view()


def lockout_response(
    request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: the login page, 429, with Retry-After."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    username = request.POST.get("username", "") if request.method == "POST" else ""
    form = LoginForm(request, initial={"username": username})
    answer = render(
        request,
        "registration/login.html",
        {
            "form": form,
            "locked_message": LOCKED_MESSAGE.format(minutes=math.ceil(seconds / 60)),
            "next": request.POST.get("next", "") or request.GET.get("next", ""),
        },
        status=429,
    )
    answer["Retry-After"] = str(seconds)
    return answer
