"""Every HTML form and every CSV import column, fed the extremes of apps/core/bounds.py.

A valid submission of each form (each POST form of the pages, and the GET forms: the date
range, the list filters, the downloads' ranges) is changed one field at a time to an
extreme value: years 1 and 9999, offsets of ±23:59, U+0000, 1e308, -0, NaN, infinity, 2^63,
10,000 characters, nothing. The same is done to each column of a release and an incident
CSV row, through the path a person's upload takes: the upload form, the check and the
import the worker runs (here in-process), the job's page and the refused rows' download.

What must hold, whatever the value:

- no answer is a 5xx, and nothing is logged at ERROR (Django logs every 500 it answers);
- a refusal (a 4xx, a form answered again with its errors, an error message after a
  button, a CSV row refused) stores nothing: the rows of the models the form writes are
  the same before and after;
- a GET form writes none of the records;
- what was accepted is within the bounds, and the pages that show it answer (the page the
  form sends the person to, the team's page and lists).

The POST forms that are only a button with no field (deactivate or delete a webhook, revoke
a token, log out) have nothing to change; starting an import is the button pressed in the
CSV flow. The admin site's model forms are Django's own, on the same model validators.

Each example runs in a transaction rolled back at its end, so every example starts from
the same organization (the pattern of tests/metrics/test_property.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django import forms
from django.apps import apps as django_apps
from django.contrib import messages
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models import Model
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from apps.api.models import ApiToken
from apps.api.services import api_token_create
from apps.core.data_check import rows_out_of_bounds
from apps.focus.models import FocusEvent, FocusPeriod
from apps.focus.services import focus_period_align, focus_period_propose
from apps.imports import columns, tasks
from apps.imports.models import ImportJob, ImportProblem
from apps.incidents.models import Incident
from apps.metrics.models import DirtyBucket
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.releases.models import Release
from apps.webhooks.models import Webhook
from apps.webhooks.services import webhook_create
from tests.core.personas import HTMX, Personas, local
from tests.factories import (
    PASSWORD,
    IncidentFactory,
    OutcomeFactory,
    ReleaseFactory,
    focus_kind,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
# A time of yesterday as a datetime-local input and a CSV cell write it, without an
# offset: with one of ±23:59 appended, only the offset is out of bounds.
RECENT = (NOW - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")

EXTREMES: tuple[str, ...] = (
    # year 1 and year 9999: as a date, a datetime-local value, and with the widest offsets
    "0001-01-01",
    "0001-01-01T00:00",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00-23:59",
    "9999-12-31",
    "9999-12-31T23:59",
    "9999-12-31T23:59:59+23:59",
    "9999-12-31T23:59:59-23:59",
    # a real time, at an offset no zone has
    f"{RECENT}+23:59",
    f"{RECENT}-23:59",
    # U+0000, alone and inside text
    "\x00",
    "checkout\x00",
    # numbers at and past what a float holds, and the integers past 64 bits
    "1e308",
    "-1e308",
    "1e309",
    "-0",
    "NaN",
    "inf",
    "-inf",
    str(2**63),
    str(-(2**63)),
    # text: 10,000 characters (a word, and a number that long), and nothing
    "x" * 10_000,
    "9" * 10_000,
    "",
    # a digit to str.isdigit() that int() cannot read
    "²",
)

# Examples per form (and per CSV kind, ten more). EXECDASH_FUZZ_EXAMPLES=1000 tries every
# field with every value of every form, which is how the server errors listed below were
# found; the default keeps the run short.
EXAMPLES = int(os.environ.get("EXECDASH_FUZZ_EXAMPLES", "30"))


def _today() -> dt.date:
    return timezone.localdate()


def _day(days: int) -> str:
    return (_today() + dt.timedelta(days=days)).isoformat()


# --- the organization every example starts from ---------------------------------------------


@dataclass
class World:
    people: Personas
    clients: dict[str, Client]
    release: Release
    incident: Incident
    outcome: Outcome
    organization_outcome: Outcome
    proposed: FocusPeriod
    aligned: FocusPeriod
    webhook: Webhook
    token: ApiToken

    @property
    def slug(self) -> str:
        return self.people.team.slug


def _client(user: Any = None) -> Client:
    """A client that answers a server error as its 500 page instead of raising it."""
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world(db, settings) -> World:  # type: ignore[no-untyped-def]
    # The examples of one test log in many times from one address.
    settings.RATE_LIMIT_LOGIN = "off"
    people = Personas.make()
    team = people.team
    release = ReleaseFactory(
        team=team,
        service="checkout",
        version="1.0",
        deployed_at=NOW - dt.timedelta(days=2),
        external_id="deploy-1",
    )
    incident = IncidentFactory(
        team=team,
        title="Checkout slow",
        service="checkout",
        started_at=NOW - dt.timedelta(days=1),
        external_id="incident-1",
    )
    organization_outcome = OutcomeFactory(team=None, name="Revenue", baseline=1, target=2)
    outcome = OutcomeFactory(team=team, name="Checkout conversion", baseline=10, target=20)
    signals = [{"metric": "time_to_restore", "comparator": "<", "target": 4}]
    proposed = focus_period_propose(
        team=team,
        kind=focus_kind("stability"),
        starts_on=_today() + dt.timedelta(days=60),
        ends_on=_today() + dt.timedelta(days=90),
        rationale="Too many pages at night.",
        proposed_by=people.manager,
        success_signals=signals,
        tradeoff_metrics=["deployment_frequency"],
        tradeoff="Fewer deploys.",
    )
    aligned = focus_period_propose(
        team=team,
        kind=focus_kind("stability"),
        starts_on=_today() - dt.timedelta(days=30),
        ends_on=_today() + dt.timedelta(days=30),
        rationale="Recover faster.",
        proposed_by=people.manager,
        success_signals=signals,
        tradeoff_metrics=["deployment_frequency"],
        tradeoff="Fewer deploys.",
    )
    focus_period_align(period=aligned, aligned_by=people.admin)
    aligned.refresh_from_db()
    webhook, _ = webhook_create(team=team, kind="github", environment="production")
    token, _ = api_token_create(name="Deploy job", team=team)
    return World(
        people=people,
        clients={
            "anonymous": _client(),
            "manager": _client(people.manager),
            "admin": _client(people.admin),
        },
        release=release,
        incident=incident,
        outcome=outcome,
        organization_outcome=organization_outcome,
        proposed=proposed,
        aligned=aligned,
        webhook=webhook,
        token=token,
    )


# --- the forms ------------------------------------------------------------------------------

RECORDS = (Release, Incident, DirtyBucket)
FOCUS = (FocusPeriod, FocusEvent)
OUTCOMES = (Outcome, OutcomeMeasurement)
EVERYTHING = (*RECORDS, *FOCUS, *OUTCOMES, Webhook, ApiToken, ImportJob)

Data = Callable[[World], dict[str, Any]]
Mutate = Callable[[dict[str, Any], str, str], dict[str, Any]]


def _set(data: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    """The one field replaced (a field of several values becomes that one value)."""
    return {**data, name: value}


@dataclass(frozen=True)
class Form:
    name: str
    who: str  # "anonymous", "manager" or "admin"
    method: str  # "get" or "post"
    url: Callable[[World], str]
    data: Data
    # The models it writes: unchanged after a refusal (a GET form: after any answer).
    models: tuple[type[Model], ...]
    # Fields a person's browser may send beside the baseline's (buttons, htmx flags).
    extra: tuple[str, ...] = ()
    mutate: Mutate = _set
    # Pages showing what an accepted submission stored, beside the one it redirects to.
    shows: Callable[[World], list[str]] = lambda w: [f"/teams/{w.slug}/"]
    fields: tuple[str, ...] = field(default=())
    # Whether the baseline, unchanged, writes (a dry run and a GET form do not).
    writes: bool = True

    def names(self, world: World) -> list[str]:
        return [*(self.fields or self.data(world)), *self.extra]


def _incident(w: World) -> dict[str, Any]:
    return {
        "title": "Checkout down",
        "severity": "SEV2",
        "service": "checkout",
        "started_at": local(NOW - dt.timedelta(hours=3)),
        "detected_at": local(NOW - dt.timedelta(hours=2)),
        "resolved_at": local(NOW - dt.timedelta(hours=1)),
        "cause": "release",
        "caused_by": str(w.release.pk),
        "summary": "Rolled back.",
    }


def _release(w: World) -> dict[str, Any]:
    return {
        "service": "checkout",
        "version": "2.0",
        "deployed_at": local(NOW - dt.timedelta(hours=1)),
        "status": "succeeded",
        "first_commit_at": local(NOW - dt.timedelta(days=1)),
        "change_count": "4",
        "deployed_by": "ann",
        "fixes_incident": str(w.incident.pk),
    }


def _proposal(starts: int, ends: int) -> Data:
    def data(w: World) -> dict[str, Any]:
        return {
            "kind": str(focus_kind("stability").pk),
            "starts_on": _day(starts),
            "ends_on": _day(ends),
            "rationale": "Three SEV1s last month.",
            "signal_1_metric": "time_to_restore",
            "signal_1_comparator": "<",
            "signal_1_target": "4 h",
            "tradeoff_metrics": ["deployment_frequency"],
            "tradeoff": "Fewer deploys while we add canaries.",
            "revisit_on": _day(starts + 14),
            "note": "",
        }

    return data


def _outcome(w: World, *, team: bool) -> dict[str, Any]:
    data = {
        "name": "Sign-ups",
        "unit": "%",
        "direction": "up",
        "baseline": "10",
        "target": "20.5",
        "target_date": _day(90),
        "parent": str(w.organization_outcome.pk),
    }
    return {"team": str(w.people.team.pk), **data} if team else data


def _paste(data: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    """The pasted text, or one cell of its measurement line, replaced."""
    yesterday = _day(-1)
    if name == "line date":
        return {**data, "text": f"date,value\n{value},41.5\n"}
    if name == "line value":
        return {**data, "text": f"date,value\n{yesterday},{value}\n"}
    return _set(data, name, value)


def _upload(w: World) -> dict[str, Any]:
    return {
        "file": "",  # a new file for each request (see _with_file)
        "kind": "releases",
        "mode": "every_row",
        "time_zone": "UTC",
    }


def _with_file(data: dict[str, Any], name: str, value: str) -> dict[str, Any]:
    """The upload's fields with a fresh file: the field, the file's name or its content
    replaced."""
    content = _csv([RELEASE_HEADER, _release_cells()])
    file_name = "deploys.csv"
    if name == "file name":
        file_name = value
    elif name == "file content":
        content = value.encode()
    data = {**data, "file": _Upload(file_name, content)}
    return data if name in ("file name", "file content") else _set(data, name, value)


class _Upload(io.BytesIO):
    """A file as the test client posts it, under any name a browser may send (Django's
    SimpleUploadedFile refuses to be named ""; the client then names it after the field)."""

    def __init__(self, name: str, content: bytes) -> None:
        super().__init__(content)
        self.name = name
        self.content_type = "text/csv"


def _range(w: World) -> dict[str, Any]:
    return {"start": _day(-27), "end": _day(0)}


FORMS: tuple[Form, ...] = (
    # --- incidents ---
    Form(
        "incident new",
        "manager",
        "post",
        lambda w: reverse("incidents:create", args=[w.slug]),
        _incident,
        RECORDS,
        extra=("use_suggestion",),
        shows=lambda w: [f"/teams/{w.slug}/", reverse("incidents:list", args=[w.slug])],
    ),
    Form(
        "incident inline validation",
        "manager",
        "post",
        lambda w: reverse("incidents:validate", args=[w.slug]),
        _incident,
        RECORDS,
        extra=("use_suggestion",),
        writes=False,
    ),
    Form(
        "incident resolve",
        "manager",
        "post",
        lambda w: reverse("incidents:resolve", args=[w.slug, w.incident.pk]),
        lambda w: {},
        RECORDS,
        # The button sends no field; what else a request carries is ignored.
        fields=("resolved_at", "resolved_by"),
    ),
    Form(
        "incident set cause",
        "manager",
        "post",
        lambda w: reverse("incidents:set_cause", args=[w.slug, w.incident.pk]),
        lambda w: {"caused_by": str(w.release.pk)},
        RECORDS,
    ),
    # --- releases ---
    Form(
        "release new",
        "manager",
        "post",
        lambda w: reverse("releases:create", args=[w.slug]),
        _release,
        RECORDS,
        shows=lambda w: [f"/teams/{w.slug}/", reverse("releases:list", args=[w.slug])],
    ),
    Form(
        "release status",
        "manager",
        "post",
        lambda w: reverse("releases:status", args=[w.slug, w.release.pk]),
        lambda w: {"status": "failed"},
        RECORDS,
    ),
    Form(
        "release link incident",
        "manager",
        "post",
        lambda w: reverse("releases:link_incident", args=[w.slug, w.release.pk]),
        lambda w: {"incident": str(w.incident.pk)},
        RECORDS,
    ),
    # --- outcomes ---
    Form(
        "outcome new",
        "admin",
        "post",
        lambda w: reverse("outcomes:create"),
        lambda w: _outcome(w, team=True),
        OUTCOMES,
        shows=lambda w: [reverse("outcomes:overview")],
    ),
    Form(
        "outcome edit",
        "manager",
        "post",
        lambda w: reverse("outcomes:edit", args=[w.outcome.pk]),
        lambda w: _outcome(w, team=False),
        OUTCOMES,
        shows=lambda w: [reverse("outcomes:overview"), f"/teams/{w.slug}/"],
    ),
    Form(
        "outcome measurement",
        "manager",
        "post",
        lambda w: reverse("outcomes:measurement", args=[w.outcome.pk]),
        lambda w: {"measured_on": _day(-1), "value": "12.5"},
        OUTCOMES,
        shows=lambda w: [reverse("outcomes:overview"), f"/teams/{w.slug}/"],
    ),
    Form(
        "outcome measurements paste",
        "manager",
        "post",
        lambda w: reverse("outcomes:paste", args=[w.outcome.pk]),
        lambda w: {"text": f"date,value\n{_day(-1)},41.5\n", "action": "import"},
        OUTCOMES,
        fields=("text", "line date", "line value", "action"),
        mutate=_paste,
        shows=lambda w: [reverse("outcomes:overview"), f"/teams/{w.slug}/"],
    ),
    # --- focus ---
    Form(
        "focus propose",
        "manager",
        "post",
        lambda w: reverse("focus:propose", args=[w.slug]),
        _proposal(120, 150),
        FOCUS,
        extra=("_validate", "_signals"),
        shows=lambda w: [f"/teams/{w.slug}/", reverse("focus:team", args=[w.slug])],
    ),
    Form(
        "focus edit",
        "manager",
        "post",
        lambda w: reverse("focus:edit", args=[w.slug, w.proposed.pk]),
        _proposal(60, 90),
        FOCUS,
        extra=("_validate", "_signals"),
        shows=lambda w: [f"/teams/{w.slug}/", reverse("focus:team", args=[w.slug])],
    ),
    Form(
        "focus align",
        "admin",
        "post",
        lambda w: reverse("focus:align", args=[w.slug, w.proposed.pk]),
        lambda w: {"decision": "align", "note": "Signed off."},
        FOCUS,
    ),
    Form(
        "focus send back",
        "admin",
        "post",
        lambda w: reverse("focus:align", args=[w.slug, w.proposed.pk]),
        lambda w: {"decision": "send_back", "note": "Say what gets worse."},
        FOCUS,
    ),
    Form(
        "focus revisit",
        "manager",
        "post",
        lambda w: reverse("focus:revisit", args=[w.slug, w.aligned.pk]),
        lambda w: {"decision": "keep", "revisit_on": _day(28), "note": "Still needed."},
        FOCUS,
        shows=lambda w: [f"/teams/{w.slug}/", reverse("focus:team", args=[w.slug])],
    ),
    # --- settings ---
    Form(
        "api token create",
        "admin",
        "post",
        lambda w: reverse("api_tokens:list"),
        lambda w: {"name": "Release job", "scope": w.slug},
        (ApiToken,),
        shows=lambda w: [reverse("api_tokens:list")],
    ),
    Form(
        "webhook create",
        "admin",
        "post",
        lambda w: reverse("webhooks:create"),
        lambda w: {
            "team": w.slug,
            "kind": "pagerduty",
            "environment": "production",
            "severity_high": "SEV2",
            "severity_low": "SEV4",
        },
        (Webhook,),
        shows=lambda w: [reverse("webhooks:list")],
    ),
    Form(
        "webhook secret",
        "admin",
        "post",
        lambda w: reverse("webhooks:secret", args=[w.webhook.pk]),
        lambda w: {"secret": "a-signing-secret-of-the-provider"},
        (Webhook,),
        shows=lambda w: [reverse("webhooks:detail", args=[w.webhook.pk])],
    ),
    # --- CSV import upload (its columns: test_each_csv_column_... below) ---
    Form(
        "csv import upload",
        "manager",
        "post",
        lambda w: reverse("imports:list", args=[w.slug]),
        _upload,
        (ImportJob, *RECORDS),
        fields=("file", "file name", "file content", "kind", "mode", "time_zone"),
        mutate=_with_file,
        shows=lambda w: [reverse("imports:list", args=[w.slug])],
    ),
    # --- logging in ---
    Form(
        "log in",
        "anonymous",
        "post",
        lambda w: reverse("login"),
        lambda w: {"username": w.people.manager.username, "password": PASSWORD, "next": "/"},
        (),  # a failed attempt is recorded by django-axes by design
        shows=lambda w: ["/"],
        writes=False,
    ),
    Form(
        "admin log in",
        "anonymous",
        "post",
        lambda w: reverse("admin:login"),
        lambda w: {"username": w.people.admin.username, "password": PASSWORD, "next": "/admin/"},
        (),
        shows=lambda w: ["/admin/"],
        writes=False,
    ),
    # --- the GET forms: date ranges, list filters, downloads, prefills ---
    Form("overview range", "manager", "get", lambda w: "/", _range, EVERYTHING, ("range", "teams")),
    Form(
        "team page range",
        "manager",
        "get",
        lambda w: f"/teams/{w.slug}/",
        _range,
        EVERYTHING,
        ("range",),
    ),
    Form(
        "outcomes page range",
        "manager",
        "get",
        lambda w: reverse("outcomes:overview"),
        _range,
        EVERYTHING,
        ("range", "teams"),
    ),
    Form(
        "outcome page range",
        "manager",
        "get",
        lambda w: reverse("outcomes:detail", args=[w.outcome.pk]),
        lambda w: {"range": "4w"},
        EVERYTHING,
        ("start", "end"),
    ),
    Form(
        "incident list filters",
        "manager",
        "get",
        lambda w: reverse("incidents:list", args=[w.slug]),
        lambda w: {"status": "open", "severity": "SEV3", "service": "checkout", "page": "1"},
        EVERYTHING,
        ("embed",),
    ),
    Form(
        "incident download filters",
        "manager",
        "get",
        lambda w: reverse("incidents:export", args=[w.slug]),
        lambda w: {"status": "open", "severity": "SEV3", "service": "checkout"},
        EVERYTHING,
    ),
    Form(
        "release list filters",
        "manager",
        "get",
        lambda w: reverse("releases:list", args=[w.slug]),
        lambda w: {"status": "succeeded", "service": "checkout", "page": "1"},
        EVERYTHING,
        ("embed",),
    ),
    Form(
        "release download filters",
        "manager",
        "get",
        lambda w: reverse("releases:export", args=[w.slug]),
        lambda w: {"status": "succeeded", "service": "checkout"},
        EVERYTHING,
    ),
    Form(
        "weekly metrics download range",
        "manager",
        "get",
        lambda w: reverse("metrics_export", args=[w.slug]),
        lambda w: {"start": _day(-91), "end": _day(1)},
        EVERYTHING,
    ),
    Form(
        "focus propose prefill",
        "manager",
        "get",
        lambda w: reverse("focus:propose", args=[w.slug]),
        lambda w: {"kind": "stability"},
        EVERYTHING,
        ("from",),
    ),
    Form(
        "outcome new prefill",
        "manager",
        "get",
        lambda w: reverse("outcomes:create"),
        lambda w: {"team": w.slug},
        EVERYTHING,
    ),
    Form(
        "webhook list filter",
        "admin",
        "get",
        lambda w: reverse("webhooks:list"),
        lambda w: {"team": w.slug},
        EVERYTHING,
    ),
    Form(
        "webhook new prefill",
        "admin",
        "get",
        lambda w: reverse("webhooks:create"),
        lambda w: {"team": w.slug},
        EVERYTHING,
    ),
    Form(
        "webhook deliveries page",
        "admin",
        "get",
        lambda w: reverse("webhooks:detail", args=[w.webhook.pk]),
        lambda w: {"page": "1"},
        EVERYTHING,
    ),
    Form(
        "log in page",
        "anonymous",
        "get",
        lambda w: reverse("login"),
        lambda w: {"next": "/"},
        EVERYTHING,
    ),
)


# --- reading an answer -----------------------------------------------------------------------


def _body(response: Any) -> bytes:
    """The whole answer (a download is streamed: reading it runs the code that writes it)."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _forms_with_errors(response: HttpResponse) -> list[forms.BaseForm]:
    contexts = getattr(response, "context", None) or []
    if not isinstance(contexts, list):
        contexts = [contexts]
    found = []
    for context in contexts:
        for value in context.flatten().values():
            if isinstance(value, forms.BaseForm) and value.is_bound and value.errors:
                found.append(value)
    return found


def _error_messages(response: HttpResponse) -> list[str]:
    storage = getattr(response.wsgi_request, "_messages", None)  # type: ignore[attr-defined]
    return [str(m) for m in storage or [] if m.level >= messages.ERROR]


def _refused(response: HttpResponse) -> bool:
    """A 4xx, the form again with its errors, or an error message after a button."""
    return (
        response.status_code >= 400
        or bool(_forms_with_errors(response))
        or bool(_error_messages(response))
    )


def _next_page(response: HttpResponse) -> str | None:
    """Where the answer sends the person: a redirect, or htmx's full navigation."""
    if response.has_header("HX-Redirect"):
        return response["HX-Redirect"]
    if response.status_code in (301, 302, 303) and response.has_header("Location"):
        return response["Location"]
    return None


def _snapshot(models: tuple[type[Model], ...]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the models, every field: an edit shows as well as a new row."""
    return {
        model.__name__: list(model._default_manager.order_by("pk").values_list())
        for model in models
    }


def _answered(response: Any, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code)
    _body(response)


def _server_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR
    ]


def _fresh_example(caplog: pytest.LogCaptureFixture) -> None:
    """Each example starts with an empty log, and with no page cached by an example that
    was rolled back (its row ids are handed out again)."""
    caplog.clear()
    cache = caches["default"]
    if isinstance(cache, LocMemCache):
        cache.clear()


# --- every form, one field at a time ---------------------------------------------------------


def _submit(
    world: World, form: Form, name: str, value: str, htmx: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The form's baseline with `name` set to `value`, sent as the person sends it; what
    holds of the answer (see the module's docstring). Rolled back at the end."""
    _fresh_example(caplog)
    client = world.clients[form.who]
    headers = HTMX if htmx else {}
    with transaction.atomic():
        before = _snapshot(form.models)
        payload = form.mutate(form.data(world), name, value)
        send = client.get if form.method == "get" else client.post
        response = send(form.url(world), payload, headers=headers)
        _answered(response, form.name)
        if form.method == "get" or _refused(response):
            assert _snapshot(form.models) == before, (form.name, name, response.status_code)
        else:
            for url in [_next_page(response), *form.shows(world)]:
                if url:
                    _answered(client.get(url), url)
        assert not rows_out_of_bounds(django_apps.get_model)
        transaction.set_rollback(True)
    assert not _server_errors(caplog)


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
@hsettings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_each_form_answers_the_extremes_without_a_server_error(
    world: World, form: Form, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(form.names(world)), label="field")
    value = data.draw(st.sampled_from(EXTREMES), label="value")
    htmx = data.draw(st.booleans(), label="htmx")
    _submit(world, form, name, value, htmx, caplog)


@pytest.mark.parametrize(
    "form", [form for form in FORMS if form.method == "post"], ids=lambda form: form.name
)
def test_each_forms_baseline_is_accepted(world: World, form: Form) -> None:
    """The submission the extremes change is a valid one, so each field's refusal is its
    own (and the writes it refuses are writes the form makes)."""
    client = world.clients[form.who]
    before = _snapshot(form.models)
    # No field of the form is named "": the baseline as it is (a CSV upload with its file).
    response = client.post(form.url(world), form.mutate(form.data(world), "", ""))
    assert response.status_code < 400, response.status_code
    assert not _refused(response), [f.errors for f in _forms_with_errors(response)]
    if form.writes:
        assert _snapshot(form.models) != before
    else:
        assert _snapshot(form.models) == before


FORM_BY_NAME = {form.name: form for form in FORMS}
# What the fuzzing found answering a 500, each kept here as it was found.
FORM_SERVER_ERRORS = [
    # int("²") and int() of 10,000 digits raise ValueError: `?from=` read with str.isdigit()
    ("focus propose prefill", "from", "²"),
    ("focus propose prefill", "from", "9" * 10_000),
    # Django's login forms never check the username's length; django-axes then stored the
    # failed attempt's username in 255 characters (PostgreSQL: DataError)
    ("log in", "username", "x" * 10_000),
    ("admin log in", "username", "x" * 10_000),
]


@pytest.mark.parametrize(
    ("form_name", "name", "value"),
    FORM_SERVER_ERRORS,
    ids=[f"{form}-{name}-{value[:12]!r}" for form, name, value in FORM_SERVER_ERRORS],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_server_errors_found_are_answered(
    world: World,
    form_name: str,
    name: str,
    value: str,
    htmx: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _submit(world, FORM_BY_NAME[form_name], name, value, htmx, caplog)


def test_a_username_longer_than_any_users_is_refused_before_anyone_is_looked_up(
    world: World,
) -> None:
    from axes.models import AccessAttempt

    for url in (reverse("login"), reverse("admin:login")):
        response = _client().post(url, {"username": "x" * 151, "password": PASSWORD})
        assert response.status_code == 200
        assert "at most 150 characters" in response.content.decode()
    assert not AccessAttempt.objects.exists()


# --- every CSV column, through the upload, the check and the import ----------------------------

# The columns of each kind, as the export writes and the import reads them.
RELEASE_HEADER = list(columns.RELEASE_HEADER)
INCIDENT_HEADER = list(columns.INCIDENT_HEADER)
# A column the file adds that is not one of the kind's: its name is the extreme value.
UNKNOWN_COLUMN = "(a column of its own)"


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _release_cells() -> list[str]:
    row = {
        "id": "",
        "team": "payments",
        "service": "checkout",
        "version": "2.0",
        "deployed_at": _iso(NOW - dt.timedelta(hours=1)),
        "status": "succeeded",
        "failed": "false",
        "first_commit_at": _iso(NOW - dt.timedelta(days=1)),
        "change_count": "4",
        "deployed_by": "ann",
        "external_id": "deploy-2",
        "source": "csv",
        "fixes_incident": "incident-1",
        "created_at": "",
        "updated_at": "",
        "warnings": "",
    }
    return [row[name] for name in RELEASE_HEADER]


def _incident_cells() -> list[str]:
    row = {
        "id": "",
        "team": "payments",
        "title": "Checkout down",
        "severity": "SEV2",
        "service": "checkout",
        "started_at": _iso(NOW - dt.timedelta(hours=3)),
        "detected_at": _iso(NOW - dt.timedelta(hours=2)),
        "resolved_at": _iso(NOW - dt.timedelta(hours=1)),
        "is_open": "false",
        "cause": "release",
        "deploy_caused": "true",
        "caused_by_release": "deploy-1",
        "resolved_by": "ann",
        "summary": "Rolled back.",
        "external_id": "incident-2",
        "source": "csv",
        "created_at": "",
        "updated_at": "",
        "warnings": "",
    }
    return [row[name] for name in INCIDENT_HEADER]


KINDS = {
    "releases": (RELEASE_HEADER, _release_cells),
    "incidents": (INCIDENT_HEADER, _incident_cells),
}


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def _file(kind: str, column: str, value: str) -> bytes:
    """The kind's header and one valid row, with one cell (or an added column) the value."""
    header, cells = KINDS[kind]
    header, row = list(header), cells()
    if column == UNKNOWN_COLUMN:
        header.append(value)
        row.append("")
    else:
        row[header.index(column)] = value
    return _csv([header, row])


def _import(
    world: World,
    kind: str,
    column: str,
    value: str,
    mode: str,
    zone: str,
    caplog: pytest.LogCaptureFixture,
) -> ImportJob | None:
    """A file of one row with the cell of `column` (or an added column's name) `value`,
    uploaded, checked and imported as the pages and the worker do; what holds of it (see
    the module's docstring). Rolled back at the end; the job as it ended."""
    _fresh_example(caplog)
    client = world.clients["manager"]
    slug = world.slug
    with transaction.atomic():
        before = _snapshot(RECORDS)
        upload = _Upload("t.csv", _file(kind, column, value))
        response = client.post(
            reverse("imports:list", args=[slug]),
            {"file": upload, "kind": kind, "mode": mode, "time_zone": zone},
        )
        _answered(response, "upload")
        job = ImportJob.objects.filter(team=world.people.team).order_by("-pk").first()
        if job is None:  # the file as a whole was refused: the form says why
            assert _forms_with_errors(response), response.status_code
        else:
            # What the worker runs once the upload commits, then the job's pages.
            tasks.check_import.run(job.pk)
            job.refresh_from_db()
            pages = (job.get_absolute_url(), reverse("imports:refused", args=[slug, job.pk]))
            for url in pages:
                _answered(client.get(url), url)
                _answered(client.get(url, headers=HTMX), url)
            if job.state == ImportJob.State.CHECKED:
                _answered(client.post(reverse("imports:start", args=[slug, job.pk])), "start")
                tasks.run_import.run(job.pk)
                job.refresh_from_db()
                for url in pages:
                    _answered(client.get(url), url)
        refused = job is None or ImportProblem.objects.filter(job=job, refused=True).exists()
        if refused or job.state == ImportJob.State.FAILED:
            assert _snapshot(RECORDS) == before, (column, job and job.state)
        else:
            for url in (
                f"/teams/{slug}/",
                reverse(f"{kind}:list", args=[slug]),
                reverse(f"{kind}:export", args=[slug]),
            ):
                _answered(client.get(url), url)
        assert not rows_out_of_bounds(django_apps.get_model)
        transaction.set_rollback(True)
    assert not _server_errors(caplog)
    return job


@pytest.mark.parametrize("kind", list(KINDS))
@hsettings(
    max_examples=EXAMPLES + 10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_each_csv_column_takes_the_extremes_from_upload_to_import(
    world: World, kind: str, media: None, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    column = data.draw(st.sampled_from([*KINDS[kind][0], UNKNOWN_COLUMN]), label="column")
    value = data.draw(st.sampled_from(EXTREMES), label="value")
    mode = data.draw(st.sampled_from(["every_row", "all_or_nothing"]), label="mode")
    # Times without an offset are read in this zone: UTC, and the zones furthest east and west.
    zone = data.draw(st.sampled_from(ZONES), label="time zone")
    _import(world, kind, column, value, mode, zone, caplog)


ZONES = ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
# What the fuzzing found answering a 500 or crashing the worker, each kept as it was found.
CSV_SERVER_ERRORS = [
    # a reference read with str.isdigit(): int() of 10,000 digits and of "²" raise
    # ValueError; an id beyond 64 bits overflows SQLite's integer in `pk__in`
    ("releases", "fixes_incident", "9" * 10_000),
    ("releases", "fixes_incident", "²"),
    ("releases", "fixes_incident", str(2**63)),
    ("incidents", "caused_by_release", "9" * 10_000),
    ("incidents", "caused_by_release", str(2**63)),
    # PostgreSQL: a column named with U+0000 went into the job's notes (jsonb)
    ("releases", UNKNOWN_COLUMN, "\x00"),
    # PostgreSQL: a refused row was stored as read, U+0000 and all (jsonb), and the team
    # cell quoted in its refusal (text); a reference with it was looked up
    ("releases", "service", "\x00"),
    ("releases", "team", "\x00"),
    ("incidents", "title", "\x00"),
    ("incidents", "team", "\x00"),
    ("releases", "fixes_incident", "\x00"),
    ("incidents", "caused_by_release", "checkout\x00"),
]


@pytest.fixture
def media(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Uploaded files go to a directory of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize(
    ("kind", "column", "value"),
    CSV_SERVER_ERRORS,
    ids=[f"{kind}-{column}-{value[:12]!r}" for kind, column, value in CSV_SERVER_ERRORS],
)
@pytest.mark.parametrize("mode", ["every_row", "all_or_nothing"])
def test_the_csv_server_errors_found_are_refused_rows(
    world: World,
    kind: str,
    column: str,
    value: str,
    mode: str,
    media: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _import(world, kind, column, value, mode, "UTC", caplog)


def test_a_file_with_nul_in_a_cell_is_refused_before_any_job(world: World, media: None) -> None:
    """U+0000 never reaches a refused row: the file is refused as it is stored, with its
    line (the cell-level refusal stays behind it, for any other way in)."""
    from django.core.exceptions import ValidationError

    from apps.imports.services import job_create

    header, cells = KINDS["releases"]
    row = cells()
    row[header.index("team")] = "pay\x00ments"
    with pytest.raises(ValidationError, match="Line 2 of the file holds a NUL byte"):
        job_create(
            team=world.people.team,
            kind="releases",
            mode="every_row",
            time_zone="UTC",
            file_name="t.csv",
            chunks=[_csv([header, row])],
            check=False,
        )
    assert not ImportJob.objects.exists()


def test_a_column_named_with_nul_refuses_the_file(world: World, media: None) -> None:
    header, cells = KINDS["incidents"]
    upload = _Upload("t.csv", _csv([[*header, "no\x00te"], [*cells(), ""]]))
    response = world.clients["manager"].post(
        reverse("imports:list", args=[world.slug]),
        {"file": upload, "kind": "incidents", "mode": "every_row", "time_zone": "UTC"},
    )
    assert response.status_code == 200
    assert "Line 1 of the file holds a NUL byte" in response.content.decode()
    assert not ImportJob.objects.exists()
