"""Who may do what, URL by URL: the one table the access matrix checks (PRODUCT.md, "Who may
see what").

Every URL pattern in the URLconf needs a row here, keyed by its full route and its name
(`ROW_KEY`); a pattern without one fails the matrix, so no view ships unchecked. Adding a
view = adding a row, usually with one of the helpers:

    team_page("teams/<slug:slug>/widgets/", "widgets:list")            # a team's page, GET
    team_page("teams/<slug:slug>/widgets/new/", "widgets:create", "GET POST")
    org_page("reports/", "reports:index")                              # any logged-in person
    admin_only_page("settings/widgets/", "widgets:settings", "GET POST")
    api("api/v1/widgets", "api-v1:list_widgets", "GET", query=lambda w: {"team": "payments"})
    public("webhooks/<str:source>/", "webhooks:receive", "POST", values=...)

Outcomes: OK (served: 2xx, a redirect that is not to a login page, or a 400/422 for the
empty form or body the matrix sends), LOGIN (a redirect to the login page, or to the
admin's), STAFF (the admin site serves it to staff: its own model permissions decide what
a superuser may do there), 401, 403, 404, WEBHOOK (the webhook's own answer to an
unsigned delivery: a 4xx that is not a login redirect) and PROBE (a health probe: 200, or
503 while a dependency is down, whoever asks). The team in every URL and body is team A's;
member_b and token_b are the other team, who must get a 404 that does not say team A
exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.security.urlconf import World, now_iso

OK = "ok"
LOGIN = "login"
STAFF = "staff"
UNAUTHORIZED = "401"
FORBIDDEN = "403"
NOT_FOUND = "404"
WEBHOOK = "webhook"
PROBE = "probe"  # a health probe: open to all; 200, or 503 while a dependency is down

PERSONAS = (
    "anonymous",
    "member_a",
    "manager_a",
    "member_b",
    "admin",
    "token_a",
    "token_b",
    "token_org",
)
PEOPLE = ("member_a", "manager_a", "member_b", "admin")
TOKENS = ("token_a", "token_b", "token_org")

Values = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    route: str
    name: str | None
    methods: tuple[str, ...]
    expect: dict[str, str]  # persona -> outcome, for every method
    values: Values | None = None  # URL parameters beyond <slug> (team A's)
    body: Values | None = None  # JSON body of unsafe methods (API)
    query: Values | None = None  # query string of GET (API)
    per_method: dict[str, dict[str, str]] = field(default_factory=dict)  # overrides

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.route, self.name)

    def outcome(self, persona: str, method: str) -> str:
        return self.per_method.get(method, {}).get(persona, self.expect[persona])


def _methods(methods: str) -> tuple[str, ...]:
    return tuple(methods.split())


def _expect(**outcomes: str) -> dict[str, str]:
    missing = set(PERSONAS) - set(outcomes)
    assert not missing, f"outcomes missing for {missing}"
    return outcomes


def team_page(route: str, name: str, methods: str = "GET", values: Values | None = None) -> Row:
    """A page or fragment of team A: its members, managers and admins; a 404 for others."""
    return Row(
        route,
        name,
        _methods(methods),
        _expect(
            anonymous=LOGIN,
            member_a=OK,
            manager_a=OK,
            member_b=NOT_FOUND,
            admin=OK,
            token_a=LOGIN,  # a bearer token is not a session: the web UI wants a login
            token_b=LOGIN,
            token_org=LOGIN,
        ),
        values=values,
    )


def team_managers_page(
    route: str, name: str, methods: str = "GET", values: Values | None = None
) -> Row:
    """Team A's managers and admins act here; its members may not (a 403: they can see the
    team already); anyone else gets the 404."""
    row = team_page(route, name, methods, values)
    return Row(route, name, row.methods, {**row.expect, "member_a": FORBIDDEN}, values=values)


def admins_action(
    route: str, name: str, methods: str = "POST", values: Values | None = None
) -> Row:
    """An admin's sign-off on a team's page: a 403 for the team's own people, a 404 for others."""
    row = team_page(route, name, methods, values)
    expect = {**row.expect, "member_a": FORBIDDEN, "manager_a": FORBIDDEN}
    return Row(route, name, row.methods, expect, values=values)


def org_page(route: str, name: str, methods: str = "GET") -> Row:
    """A page for anyone logged in, showing only what they may see."""
    return Row(
        route,
        name,
        _methods(methods),
        _expect(
            anonymous=LOGIN,
            **dict.fromkeys(PEOPLE, OK),
            **dict.fromkeys(TOKENS, LOGIN),
        ),
    )


def admin_only_page(
    route: str, name: str, methods: str = "GET", values: Values | None = None
) -> Row:
    """An admins' page of the app: a 404 for everybody else logged in."""
    return Row(
        route,
        name,
        _methods(methods),
        _expect(
            anonymous=LOGIN,
            member_a=NOT_FOUND,
            manager_a=NOT_FOUND,
            member_b=NOT_FOUND,
            admin=OK,
            **dict.fromkeys(TOKENS, LOGIN),
        ),
        values=values,
    )


def public(
    route: str, name: str | None, methods: str = "GET", outcome: str = OK, **extra: Any
) -> Row:
    return Row(route, name, _methods(methods), dict.fromkeys(PERSONAS, outcome), **extra)


def api(
    route: str,
    name: str,
    methods: str,
    *,
    org_only: bool = False,
    team_b: str = NOT_FOUND,
    **extra: Any,
) -> Row:
    """A token route: 401 without a token (a session is not one); team A's token acts on team
    A, team B's gets a 404 for team A's rows (`team_b`), an organization token acts on all;
    `org_only` routes are a 403 for team tokens."""
    return Row(
        route,
        name,
        _methods(methods),
        _expect(
            anonymous=UNAUTHORIZED,
            **dict.fromkeys(PEOPLE, UNAUTHORIZED),
            token_a=FORBIDDEN if org_only else OK,
            token_b=FORBIDDEN if org_only else team_b,
            token_org=OK,
        ),
        **extra,
    )


def _incident(world: World) -> dict[str, Any]:
    return {"pk": world.objects["incident"].pk}


def _release(world: World) -> dict[str, Any]:
    return {"pk": world.objects["release"].pk}


def _focus(world: World) -> dict[str, Any]:
    return {"pk": world.objects["focus"].pk}


def _import(world: World) -> dict[str, Any]:
    return {"pk": world.objects["import"].pk}


def _outcome(world: World) -> dict[str, Any]:
    return {"pk": world.objects["outcome"].pk}


def _webhook(world: World) -> dict[str, Any]:
    return {"pk": world.objects["webhook"].pk}


def _token(world: World) -> dict[str, Any]:
    return {"pk": world.objects["token"].pk}


def _team_a(world: World) -> dict[str, Any]:
    return {"team": world.team_a.slug}


ROWS: list[Row] = [
    # --- pages and fragments ---------------------------------------------------------------
    org_page("", "teams:overview"),
    org_page("definitions/", "teams:definitions"),
    org_page("me/", "me"),
    team_page("teams/<slug:slug>/", "teams:detail"),
    team_page("teams/<slug:slug>/freshness/", "team_freshness"),
    team_page("teams/<slug:slug>/incidents/", "incidents:list"),
    team_page("teams/<slug:slug>/incidents/new/", "incidents:create", "GET POST"),
    team_page("teams/<slug:slug>/incidents/new/validate/", "incidents:validate", "POST"),
    team_page("teams/<slug:slug>/incidents/<int:pk>/", "incidents:detail", values=_incident),
    team_page(
        "teams/<slug:slug>/incidents/<int:pk>/resolve/",
        "incidents:resolve",
        "POST",
        values=_incident,
    ),
    team_page(
        "teams/<slug:slug>/incidents/<int:pk>/cause/",
        "incidents:set_cause",
        "POST",
        values=_incident,
    ),
    team_page("teams/<slug:slug>/releases/", "releases:list"),
    team_page("teams/<slug:slug>/releases/new/", "releases:create", "GET POST"),
    team_page("teams/<slug:slug>/releases/<int:pk>/", "releases:detail", values=_release),
    team_page(
        "teams/<slug:slug>/releases/<int:pk>/status/", "releases:status", "POST", values=_release
    ),
    team_page(
        "teams/<slug:slug>/releases/<int:pk>/link-incident/",
        "releases:link_incident",
        "POST",
        values=_release,
    ),
    # --- exports and imports (CSV) ---------------------------------------------------------
    team_page("teams/<slug:slug>/incidents/export.csv", "incidents:export"),
    team_page("teams/<slug:slug>/releases/export.csv", "releases:export"),
    team_page("teams/<slug:slug>/metrics.csv", "metrics_export"),
    team_managers_page("teams/<slug:slug>/imports/", "imports:list", "GET POST"),
    team_managers_page("teams/<slug:slug>/imports/<int:pk>/", "imports:detail", values=_import),
    team_managers_page(
        "teams/<slug:slug>/imports/<int:pk>/start/", "imports:start", "POST", values=_import
    ),
    team_managers_page(
        "teams/<slug:slug>/imports/<int:pk>/rerun/", "imports:rerun", "POST", values=_import
    ),
    team_managers_page(
        "teams/<slug:slug>/imports/<int:pk>/refused.csv", "imports:refused", values=_import
    ),
    # --- focus periods -----------------------------------------------------------------------
    team_page("teams/<slug:slug>/focus/", "focus:team"),
    team_managers_page("teams/<slug:slug>/focus/propose/", "focus:propose", "GET POST"),
    team_page("teams/<slug:slug>/focus/<int:pk>/", "focus:period", values=_focus),
    team_managers_page(
        "teams/<slug:slug>/focus/<int:pk>/edit/", "focus:edit", "GET POST", values=_focus
    ),
    admins_action("teams/<slug:slug>/focus/<int:pk>/align/", "focus:align", values=_focus),
    team_managers_page(
        "teams/<slug:slug>/focus/<int:pk>/revisit/", "focus:revisit", "GET POST", values=_focus
    ),
    # --- outcomes: anyone logged in reads what they may see; a team's managers and admins
    # write its outcomes (its members get a 403); creating one needs a team to manage.
    org_page("outcomes/", "outcomes:overview"),
    Row(
        "outcomes/new/",
        "outcomes:create",
        ("GET", "POST"),
        _expect(
            anonymous=LOGIN,
            member_a=FORBIDDEN,
            manager_a=OK,
            member_b=FORBIDDEN,
            admin=OK,
            **dict.fromkeys(TOKENS, LOGIN),
        ),
    ),
    team_page("outcomes/<int:pk>/", "outcomes:detail", values=_outcome),
    team_managers_page("outcomes/<int:pk>/edit/", "outcomes:edit", "GET POST", values=_outcome),
    team_managers_page(
        "outcomes/<int:pk>/measurements/", "outcomes:measurement", "POST", values=_outcome
    ),
    team_managers_page("outcomes/<int:pk>/paste/", "outcomes:paste", "POST", values=_outcome),
    # --- settings: admins only -------------------------------------------------------------
    admin_only_page("settings/webhooks/", "webhooks:list"),
    admin_only_page("settings/webhooks/new/", "webhooks:create", "GET POST"),
    admin_only_page("settings/webhooks/<int:pk>/", "webhooks:detail", values=_webhook),
    admin_only_page(
        "settings/webhooks/<int:pk>/secret/", "webhooks:secret", "GET POST", values=_webhook
    ),
    admin_only_page(
        "settings/webhooks/<int:pk>/toggle/", "webhooks:toggle", "POST", values=_webhook
    ),
    admin_only_page(
        "settings/webhooks/<int:pk>/delete/", "webhooks:delete", "GET POST", values=_webhook
    ),
    admin_only_page("settings/tokens/", "api_tokens:list", "GET POST"),
    admin_only_page(
        "settings/tokens/<int:pk>/revoke/", "api_tokens:revoke", "GET POST", values=_token
    ),
    # --- logging in and out, health --------------------------------------------------------
    # Logged in, the login page sends you on to the overview (OK); a token is no login.
    public("accounts/login/", "login", "GET POST"),
    Row(
        "accounts/logout/",
        "logout",
        ("POST",),
        _expect(anonymous=LOGIN, **dict.fromkeys(PEOPLE, OK), **dict.fromkeys(TOKENS, LOGIN)),
    ),
    # Signed by the provider, not a session or a token: an unsigned delivery is refused.
    public(
        "webhooks/<slug:public_id>/",
        "webhook_receive",
        "POST",
        outcome=WEBHOOK,
        values=lambda w: {"public_id": w.objects["webhook"].public_id},
    ),
    public("health/", "health"),
    public("health/live", "health_live"),
    public("health/ready", "health_ready", outcome=PROBE),
    # --- the API ---------------------------------------------------------------------------
    public("api/v1/openapi.json", "api-v1:openapi-json"),
    public("api/v1/docs", "api-v1:openapi-view"),
    public("api/v1/", "api-v1:api-root", outcome=NOT_FOUND),
    public("api/^(?P<rest>.*)$", None, "GET POST", outcome=NOT_FOUND),
    api(
        "api/v1/teams",
        "api-v1:create_team",
        "POST",
        org_only=True,
        body=lambda w: {"slug": "new-team", "name": "New team"},
    ),
    api("api/v1/teams", "api-v1:list_teams", "GET", team_b=OK),  # each token: its own teams
    api(
        "api/v1/releases",
        "api-v1:post_release",
        "POST",
        body=lambda w: {
            "team": w.team_a.slug,
            "service": "api",
            "version": "9.9.9",
            "deployed_at": now_iso(),
        },
    ),
    api("api/v1/releases", "api-v1:list_releases", "GET", query=_team_a),
    api(
        "api/v1/incidents",
        "api-v1:post_incident",
        "POST",
        body=lambda w: {"team": w.team_a.slug, "title": "Checkout down", "started_at": now_iso()},
    ),
    api("api/v1/incidents", "api-v1:list_incidents", "GET", query=_team_a),
    api("api/v1/metrics", "api-v1:get_metrics", "GET", query=_team_a),
    api(
        "api/v1/outcomes",
        "api-v1:create_outcome",
        "POST",
        body=lambda w: {"team": w.team_a.slug, "name": "NPS", "baseline": 10, "target": 40},
    ),
    api("api/v1/outcomes", "api-v1:list_outcomes", "GET", query=_team_a),
    api(
        "api/v1/outcomes/<outcome_id>/measurements",
        "api-v1:record_measurement",
        "POST",
        values=lambda w: {"outcome_id": w.objects["outcome"].pk},
        body=lambda w: {"measured_on": "2026-01-05", "value": 1.5},
    ),
    api("api/v1/focus-periods", "api-v1:list_focus_periods", "GET", query=_team_a),
    api(
        "api/v1/focus-periods",
        "api-v1:create_focus_period",
        "POST",
        org_only=True,
        body=lambda w: {
            "team": w.team_a.slug,
            "kind": "stability",
            "starts_on": "2031-01-06",
            "rationale": "Too many pages at night.",
        },
    ),
]


def admin_site_row(route: str, name: str | None) -> Row:
    """The Django admin: staff only; everybody else is sent to log in.

    One rule for every admin URL, since `AdminSite.admin_view` guards them all alike; the
    matrix still requests each one. Its login page is open to all.
    """
    if name == "admin:login":
        return public(route, name, "GET POST")
    if name == "admin:logout":  # anyone logged in may log out there
        return Row(
            route,
            name,
            ("POST",),
            _expect(anonymous=LOGIN, **dict.fromkeys(PEOPLE, OK), **dict.fromkeys(TOKENS, LOGIN)),
        )
    return Row(
        route,
        name,
        ("GET", "POST"),
        _expect(**{persona: STAFF if persona == "admin" else LOGIN for persona in PERSONAS}),
    )


def row_for(route: str, name: str | None) -> Row | None:
    for row in ROWS:
        if row.key == (route, name):
            return row
    if route.startswith("admin/"):
        return admin_site_row(route, name)
    return None
