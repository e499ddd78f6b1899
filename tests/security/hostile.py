"""An organization whose every user-typed text is an XSS payload, for the tests that check
the payloads stay text: in pages, fragments, chart JSON, emails (tests/security) and in a
real browser (tests/browser/test_every_page.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from apps.api.services import api_token_create
from apps.focus.models import FocusPeriod
from apps.focus.services import focus_kinds_ensure_builtin
from apps.imports.services import import_check, job_create
from apps.incidents.models import Incident
from apps.metrics.rollups import rollups_recompute_all
from apps.releases.models import Release
from apps.teams.models import Membership
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import webhook_create
from tests.factories import (
    AdminFactory,
    FocusPeriodFactory,
    IncidentFactory,
    MembershipFactory,
    OutcomeFactory,
    OutcomeMeasurementFactory,
    ReleaseFactory,
    TeamFactory,
)

PAYLOADS = (
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "</script><script>alert(1)</script>",
    "javascript:alert(1)",
)
IMG, SVG, SCRIPT, JS = PAYLOADS
# A spreadsheet formula, for the CSV exports (a cell that starts with = + - @ is neutralized).
FORMULA = '=HYPERLINK("http://evil.example","@SUM(1)")'
# What any of them would look like had it got through unescaped (lower-cased).
LIVE = ("<img src=x", "<svg onload", "<script>alert", 'href="javascript:', 'src="javascript:')


def seed_hostile() -> dict[str, Any]:
    """One team (payload name) managed by an admin, with ten weeks of releases (payload
    services and versions, some failed), a SEV1 incident and another (payload titles and
    services), an outcome, an aligned focus period and an API token (payload names), and
    its rollups computed so the charts have data."""
    focus_kinds_ensure_builtin()  # an earlier test's flush may have removed them
    team = TeamFactory(name=IMG, slug="hostile")
    admin = AdminFactory(username="dana.director", first_name=SCRIPT)
    MembershipFactory(team=team, user=admin, role=Membership.Role.MANAGER)
    now = timezone.now()
    for week in range(10):
        ReleaseFactory(
            team=team,
            service=SVG,
            version=f"{SCRIPT}{week}",
            deployed_at=now - dt.timedelta(days=7 * week + 1),
            status=Release.Status.FAILED if week % 3 == 0 else Release.Status.SUCCEEDED,
            deployed_by=JS,
        )
    incident = IncidentFactory(
        team=team,
        title=IMG,
        service=JS,
        severity=Incident.Severity.SEV1,
        started_at=now - dt.timedelta(days=3),
        resolved_at=now - dt.timedelta(days=3) + dt.timedelta(hours=2),
        resolved_by=SVG,
    )
    IncidentFactory(team=team, title=SCRIPT, service=SVG, started_at=now - dt.timedelta(days=9))
    IncidentFactory(
        team=team, title=FORMULA, service="+cmd", started_at=now - dt.timedelta(days=10)
    )
    release = Release.objects.filter(team=team).order_by("-deployed_at").first()
    outcome = OutcomeFactory(team=team, name=SVG, unit=JS)
    OutcomeMeasurementFactory(outcome=outcome)
    focus = FocusPeriodFactory(
        team=team,
        rationale=IMG,
        starts_on=timezone.localdate() - dt.timedelta(days=60),
        status=FocusPeriod.Status.ALIGNED,
    )
    token, _secret = api_token_create(name=SVG, team=team, created_by=admin)
    # A CSV import (settings.MEDIA_ROOT set by the caller) named with a payload, with payload
    # cells and one refused row, checked so its preview and problems are on its page.
    rows = f"title,started_at,service\n{IMG},2026-01-05T10:00:00Z,{SVG}\n{SCRIPT},not a date,{JS}\n"
    job = job_create(
        team=team,
        kind="incidents",
        mode="every_row",
        time_zone="UTC",
        file_name=f"{SVG}.csv",
        chunks=[rows.encode()],
        user=admin,
        check=False,
    )
    job = import_check(job=job)
    # A webhook whose environment and a delivery whose event and reason carry payloads.
    webhook, _secret = webhook_create(team=team, kind="github", environment=SVG, created_by=admin)
    WebhookDelivery.objects.create(
        webhook=webhook,
        received_at=now,
        event_id=SCRIPT,
        event_type=IMG,
        outcome=WebhookDelivery.Outcome.REFUSED,
        reason=f"{SVG} {JS}",
        http_status=400,
    )
    rollups_recompute_all()
    return {
        "team": team,
        "admin": admin,
        "incident": incident,
        "release": release,
        "outcome": outcome,
        "focus": focus,
        "token": token,
        "import": job,
        "webhook": webhook,
    }


def app_pages(data: dict[str, Any]) -> list[str]:
    """The app's own pages an admin who manages the team opens."""
    base = f"/teams/{data['team'].slug}"
    return [
        "/",
        "/definitions/",
        f"{base}/",
        f"{base}/incidents/",
        f"{base}/incidents/new/",
        f"{base}/incidents/{data['incident'].pk}/",
        f"{base}/releases/",
        f"{base}/releases/new/",
        f"{base}/releases/{data['release'].pk}/",
        f"{base}/focus/",
        f"{base}/focus/propose/",
        f"{base}/focus/{data['focus'].pk}/",
        f"{base}/focus/{data['focus'].pk}/revisit/",
        "/settings/tokens/",
        f"/settings/tokens/{data['token'].pk}/revoke/",
        f"{base}/imports/",
        f"{base}/imports/{data['import'].pk}/",
        "/settings/webhooks/",
        "/settings/webhooks/new/",
        f"/settings/webhooks/{data['webhook'].pk}/",
        f"/settings/webhooks/{data['webhook'].pk}/secret/",
        f"/settings/webhooks/{data['webhook'].pk}/delete/",
        "/outcomes/",
        "/outcomes/new/",
        f"/outcomes/{data['outcome'].pk}/",
        f"/outcomes/{data['outcome'].pk}/edit/",
    ]
