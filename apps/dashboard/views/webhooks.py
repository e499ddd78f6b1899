"""The webhook settings pages under /settings/webhooks/: admins list, create (the URL and
the secret shown once), inspect deliveries, replace the secret, deactivate and delete
webhooks. Anyone else gets a 404."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.http import render_page
from apps.dashboard.forms import WebhookForm, WebhookSecretForm
from apps.teams.models import Team
from apps.teams.permissions import is_org_admin
from apps.webhooks import selectors
from apps.webhooks.models import Webhook
from apps.webhooks.services import (
    webhook_create,
    webhook_delete,
    webhook_replace_secret,
    webhook_set_active,
)

PAGE_SIZE = 25


def _require_admin(request: HttpRequest) -> None:
    if not is_org_admin(request.user):
        raise Http404("No such page")


def _webhook(pk: int) -> Webhook:
    try:
        return selectors.webhook_get(pk=pk)
    except Webhook.DoesNotExist:
        raise Http404("No such webhook") from None


def _receiver_url(request: HttpRequest, webhook: Webhook) -> str:
    """The URL to paste into the provider. Behind a TLS-terminating proxy the request
    arrives as plain HTTP; the deployment then lists its https origin in
    CSRF_TRUSTED_ORIGINS (forms need it), and that origin is the one to paste."""
    if not request.is_secure():
        https_origin = f"https://{request.get_host()}"
        if https_origin in settings.CSRF_TRUSTED_ORIGINS:
            return https_origin + webhook.receiver_path
    return request.build_absolute_uri(webhook.receiver_path)


def _secret_page(
    request: HttpRequest, webhook: Webhook, secret: str, *, just_created: bool
) -> HttpResponse:
    """The receiver's URL and the secret, shown this once."""
    return render(
        request,
        "dashboard/webhooks/secret.html",
        {
            "webhook": webhook,
            "secret": secret,
            "receiver_url": _receiver_url(request, webhook),
            "just_created": just_created,
        },
    )


@never_cache
@require_http_methods(["GET"])
def webhook_list(request: HttpRequest) -> HttpResponse:
    """Every webhook, or one team's (`?team=<slug>`)."""
    _require_admin(request)
    teams = list(Team.objects.order_by("name").only("name", "slug"))
    slug = request.GET.get("team") or ""
    team = next((t for t in teams if t.slug == slug), None)
    return render_page(
        request,
        "dashboard/webhooks/list.html",
        {"webhooks": selectors.webhooks_list(team=team), "teams": teams, "team_filter": team},
        partial="rows",
    )


@never_cache
@require_http_methods(["GET", "POST"])
def webhook_new(request: HttpRequest) -> HttpResponse:
    """The form; once created, this answer (and only it) shows the URL and the secret."""
    _require_admin(request)
    if request.method == "POST":
        form = WebhookForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                webhook, secret = webhook_create(
                    team=data["team"],
                    kind=data["kind"],
                    environment=data["environment"],
                    severity_high=data["severity_high"],
                    severity_low=data["severity_low"],
                    created_by=request.user,
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(name if name in form.fields else None, error)
            else:
                return _secret_page(request, webhook, secret, just_created=True)
    else:
        initial = {}
        if request.GET.get("team"):
            initial["team"] = request.GET["team"]
        form = WebhookForm(initial=initial)
    return render(request, "dashboard/webhooks/form.html", {"form": form})


@never_cache
@require_http_methods(["GET"])
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The webhook, its URL, and its deliveries newest first (paged; the rows are also an
    htmx fragment)."""
    _require_admin(request)
    webhook = _webhook(pk)
    page = Paginator(selectors.deliveries_list(webhook=webhook), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render_page(
        request,
        "dashboard/webhooks/detail.html",
        {"webhook": webhook, "page": page, "receiver_url": _receiver_url(request, webhook)},
        partial="deliveries",
    )


@never_cache
@require_http_methods(["GET", "POST"])
def webhook_secret(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm (and offers to paste the provider's secret); POST replaces the
    secret and shows the new one once."""
    _require_admin(request)
    webhook = _webhook(pk)
    form = WebhookSecretForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        secret = webhook_replace_secret(webhook=webhook, secret=form.cleaned_data["secret"])
        return _secret_page(request, webhook, secret, just_created=False)
    return render(request, "dashboard/webhooks/rotate.html", {"webhook": webhook, "form": form})


@require_POST
def webhook_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (deliveries get a 404 and change nothing) or activate again."""
    _require_admin(request)
    webhook = _webhook(pk)
    webhook_set_active(webhook=webhook, active=not webhook.active)
    if webhook.active:
        messages.success(request, "The webhook is active again.")
    else:
        messages.success(request, "The webhook is deactivated: deliveries to it get a 404.")
    return redirect(webhook.get_absolute_url())


@never_cache
@require_http_methods(["GET", "POST"])
def webhook_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST deletes the webhook and its delivery log."""
    _require_admin(request)
    webhook = _webhook(pk)
    if request.method == "POST":
        webhook_delete(webhook=webhook)
        messages.success(
            request, f"The webhook is deleted. The records it wrote stay with {webhook.team}."
        )
        return redirect("webhooks:list")
    return render(request, "dashboard/webhooks/delete.html", {"webhook": webhook})
