"""The JSON API, v1: one NinjaAPI instance, mounted at /api/v1/ (see apps/api/urls.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.views.decorators.http import require_safe
from ninja import NinjaAPI

from apps.api import errors
from apps.api.auth import TokenAuth
from apps.api.routes import focus, incidents, metrics, outcomes, releases, teams

DESCRIPTION = """
Machines (CI/CD pipelines, paging tools, scripts) post releases and incidents and read
metrics here.

**Authentication**: `Authorization: Bearer <token>`. An admin issues tokens on the
*API tokens* settings page or with `python manage.py create_api_token --team <slug>`
(team scope) or `--admin` (organization scope). A team token acts on its own team only:
naming another team is a 404. A missing or wrong token is a 401; a request the token may
not make is a 403.

**Errors** are JSON: `{"detail": "...", "errors": {"field": ["message", ...]}}`. Malformed
JSON and timestamps without an offset are 400; invalid fields, an unknown release or
incident, a `resolved_at` before `started_at` are 422; an existing team, or a focus period
overlapping another, is 409. Nothing is half-saved, and a request that answers 5xx has
written nothing. Too many requests with one token (or from one address without one) are
429, and a database out of reach is 503: both say in `Retry-After` how many seconds to wait.

**Bounds** (README, "Bounds"): timestamps between 1970-01-01 and 2100-01-01 UTC with an
offset within ±14:00; dates from 1970-01-01 to 2099-12-31; outcome numbers finite, of
magnitude at most 1e12; no U+0000 in any text, body or query string; `offset` at most 10^9.
Out of bounds is a 422 naming the field.

**CSV**: `GET /incidents`, `/releases` and `/metrics` answer CSV with `Accept: text/csv` or
`?format=csv` (the lists: every row of the window, no paging; the metrics: one row a week).
Text cells starting with `=`, `+`, `-`, `@`, a tab or a carriage return get a leading `'`.

**Timestamps** are ISO 8601 with an offset (`2026-03-02T14:05:00+01:00` or `…Z`); a
timestamp without one is rejected, never guessed. **Windows** are `[start, end)` dates in the
organization's time zone.
"""


def _docs_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """The schema and its page: open to all, read-only (GET and HEAD)."""
    return login_not_required(require_safe(view))


api = NinjaAPI(
    title="execdash API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=TokenAuth(),
    parser=errors.JsonBodyParser(),
    docs_decorator=_docs_view,
)
errors.install(api)
api.add_router("", teams.router)
api.add_router("", releases.router)
api.add_router("", incidents.router)
api.add_router("", metrics.router)
api.add_router("", outcomes.router)
api.add_router("", focus.router)
