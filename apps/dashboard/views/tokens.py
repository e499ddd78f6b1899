"""The token settings page: admins issue and revoke API tokens. Anyone else gets a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from apps.api.models import ApiToken
from apps.api.selectors import tokens_list
from apps.api.services import api_token_create, api_token_revoke
from apps.dashboard.forms import TokenForm
from apps.teams.permissions import is_org_admin


def _require_admin(request: HttpRequest) -> None:
    if not is_org_admin(request.user):
        raise Http404("No such page")


@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The tokens, and the form issuing one. A new token is shown in this answer only."""
    _require_admin(request)
    created: ApiToken | None = None
    secret = ""
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                created, secret = api_token_create(
                    name=form.cleaned_data["name"],
                    team=form.cleaned_data["scope"],
                    created_by=request.user,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                form = TokenForm()
    else:
        form = TokenForm()
    return render(
        request,
        "dashboard/tokens.html",
        {"form": form, "tokens": tokens_list(), "created": created, "secret": secret},
    )


@never_cache
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST revokes."""
    _require_admin(request)
    token = get_object_or_404(ApiToken.objects.select_related("team"), pk=pk)
    if request.method == "POST":
        already = token.revoked_at is not None
        api_token_revoke(token=token)
        if not already:
            messages.success(request, f"Token “{token.name}” is revoked; it no longer works.")
        return redirect("api_tokens:list")
    return render(request, "dashboard/token_revoke.html", {"token": token})
