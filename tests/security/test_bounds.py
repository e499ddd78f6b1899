"""The bounds of apps/core/bounds.py at every door, and what a request that fails leaves.

Each test names the class of server error an outside API fuzzer found before the bounds
existed; each one answered 500 (and two of them stored a row that then broke the team's
pages).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.test import Client

from apps.api import schemas
from apps.api.services import api_token_create
from apps.core import bounds
from apps.core.data_check import refuse_out_of_bounds, rows_out_of_bounds
from apps.core.formatting import format_count, format_duration, format_per_week, format_rate
from apps.focus.models import FocusPeriod
from apps.focus.services import default_revisit_on
from apps.incidents.models import Incident
from apps.metrics.formulas import outcome_progress
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.releases.models import Release
from tests.core.personas import Personas, client_for
from tests.factories import OutcomeFactory, ReleaseFactory, TeamFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def team():  # type: ignore[no-untyped-def]
    return TeamFactory(slug="payments", name="Payments")


@pytest.fixture
def api(team) -> Any:  # type: ignore[no-untyped-def]
    _, secret = api_token_create(name="org", team=None)
    client = Client(raise_request_exception=False)
    headers = {"Authorization": f"Bearer {secret}"}

    class Api:
        def post(self, path: str, body: Any) -> Any:
            return client.post(
                f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers
            )

        def get(self, path: str, **params: Any) -> Any:
            return client.get(f"/api/v1{path}", params, headers=headers)

    return Api()


def _release(**overrides: Any) -> dict[str, Any]:
    return {
        "team": "payments",
        "service": "checkout",
        "version": "1",
        "deployed_at": (NOW - dt.timedelta(hours=1)).isoformat(),
        **overrides,
    }


def _refused(response: Any, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert field in body["errors"], body
    return body


# --- 1. a timestamp before year 1 in UTC ------------------------------------------------------


def test_a_first_commit_before_year_1_in_utc_is_refused_and_nothing_is_stored(api) -> None:
    response = api.post("/releases", _release(first_commit_at="0001-01-01T00:00:00+00:30"))
    _refused(response, 422, "first_commit_at")
    assert not Release.objects.exists()
    assert api.get("/releases").status_code == 200


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "9999-12-31T23:59:59-10:00",
        "1970-01-01T09:00:00+10:00",  # 1969-12-31 23:00 UTC
    ],
)
def test_instants_outside_1970_to_2100_utc_are_refused_naming_the_field(api, moment) -> None:
    response = api.post(
        "/incidents", {"team": "payments", "title": "Checkout down", "started_at": moment}
    )
    body = _refused(response, 422, "started_at")
    assert "1970-01-01" in body["errors"]["started_at"][0]
    assert not Incident.objects.exists()


def test_the_bounds_themselves_are_accepted(api) -> None:
    response = api.post(
        "/incidents",
        {"team": "payments", "title": "Old", "started_at": "1970-01-01T00:00:00Z"},
    )
    assert response.status_code == 201, response.content


# --- 2. an outcome value that overflows the progress ------------------------------------------


@pytest.mark.parametrize("value", [1e24, -1.797e308, 1e12 + 1])
def test_an_outcome_value_beyond_1e12_is_refused(api, team, value) -> None:
    outcome = OutcomeFactory(team=team, baseline=0, target=1)
    response = api.post(
        f"/outcomes/{outcome.pk}/measurements", {"measured_on": "2026-12-01", "value": value}
    )
    _refused(response, 422, "value")
    assert not OutcomeMeasurement.objects.exists()
    assert api.get("/outcomes").status_code == 200


def test_an_outcome_baseline_or_target_beyond_1e12_is_refused(api) -> None:
    response = api.post(
        "/outcomes", {"team": "payments", "name": "Sign-ups", "baseline": 0, "target": 1e300}
    )
    _refused(response, 422, "target")
    assert not Outcome.objects.exists()


def test_a_progress_too_large_to_mean_anything_reads_unknown() -> None:
    assert outcome_progress(value=1e12, baseline=0, target=5e-324) is None
    assert outcome_progress(value=1e12, baseline=-1e12, target=1e12) == 1.0
    assert outcome_progress(value=5, baseline=0, target=10) == 0.5


def test_the_paste_preview_refuses_a_value_beyond_the_bounds(team) -> None:
    from apps.outcomes.csv_text import measurement_lines_parse

    (line,) = measurement_lines_parse("2026-12-01,1e308", today=dt.date(2026, 12, 8))
    assert line.error
    assert line.value is None
    (old,) = measurement_lines_parse("0001-01-01,3", today=dt.date(2026, 12, 8))
    assert "1970-01-01" in old.error


# --- 3. U+0000 in any string --------------------------------------------------------------------


def test_nul_in_a_json_field_is_a_422_naming_it(api) -> None:
    response = api.post("/releases", _release(service="check\x00out"))
    _refused(response, 422, "service")
    assert not Release.objects.exists()


def test_nul_in_a_nested_json_field_names_its_path(api, team) -> None:
    response = api.post(
        "/focus-periods",
        {
            "team": "payments",
            "kind": "stability",
            "starts_on": "2026-12-01",
            "rationale": "Pages at night",
            "success_signals": [{"metric": "time_to_restore", "target": "4 h\x00"}],
        },
    )
    _refused(response, 422, "success_signals.0.target")
    assert not FocusPeriod.objects.exists()


@pytest.mark.parametrize("path", ["/releases", "/incidents", "/metrics", "/outcomes"])
def test_nul_in_an_api_query_parameter_is_a_422_naming_it(api, path) -> None:
    response = api.get(path, team="\x00")
    body = _refused(response, 422, "team")
    assert "U+0000" in body["errors"]["team"][0]


@pytest.mark.parametrize(
    "url",
    [
        "/teams/payments/focus/propose/?kind=%00",
        "/outcomes/new/?team=%00",
        "/?start=%00",
        "/teams/payments/releases/?service=%00",
    ],
)
def test_nul_in_a_page_query_string_is_a_400_page_naming_it(people: Personas, url) -> None:
    response = client_for(people.admin).get(url)
    assert response.status_code == 400
    assert "U+0000" in response.content.decode()


# --- 4. UTC offsets beyond ±14:00 ------------------------------------------------------------


@pytest.mark.parametrize("offset", ["-16:58", "+14:01", "-23:59", "+15:00"])
def test_offsets_beyond_14_hours_are_refused(api, offset) -> None:
    response = api.post("/releases", _release(deployed_at=f"2026-11-17T19:59:01{offset}"))
    body = _refused(response, 422, "deployed_at")
    assert "14:00" in body["errors"]["deployed_at"][0]
    assert not Release.objects.exists()


def test_offsets_of_real_zones_are_accepted(api) -> None:
    day = (NOW - dt.timedelta(days=2)).date().isoformat()
    for number, offset in enumerate(["+14:00", "-12:00", "+05:45"]):
        response = api.post(
            "/releases", _release(version=str(number), deployed_at=f"{day}T12:00:00{offset}")
        )
        assert response.status_code == 201, response.content


# --- 5. calendar edges ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "9999-12-25"}, "start"),
        ({"start": "2026-01-01", "end": "9999-12-31"}, "end"),
        ({"start": "0001-01-01"}, "start"),
    ],
)
def test_metrics_windows_at_the_calendar_edges_are_refused(api, params, field) -> None:
    for extra in ({}, {"format": "csv"}):
        response = api.get("/metrics", team="payments", **params, **extra)
        _refused(response, 422, field)


def test_a_focus_period_starting_in_9999_is_refused(api) -> None:
    response = api.post(
        "/focus-periods",
        {
            "team": "payments",
            "kind": "stability",
            "starts_on": "9999-12-10",
            "rationale": "Far away",
        },
    )
    _refused(response, 422, "starts_on")
    assert not FocusPeriod.objects.exists()


def test_the_default_revisit_date_never_passes_the_last_day() -> None:
    assert default_revisit_on(bounds.LAST_DAY) == bounds.LAST_DAY
    assert default_revisit_on(dt.date(2026, 12, 1)) == dt.date(2026, 12, 29)


@pytest.mark.parametrize(
    "query",
    [
        "?start=9999-12-25&end=9999-12-31",
        "?start=0001-01-01&end=2026-01-01",
        "?start=2026-01-01&end=9999-12-31",
    ],
)
def test_the_overview_and_team_page_custom_range_at_the_edges(people: Personas, query) -> None:
    client = client_for(people.admin)
    for url in ("/", "/teams/payments/"):
        response = client.get(url + query)
        assert response.status_code == 200, (url, response.status_code)
        assert "1970-01-01" in response.content.decode()


def test_the_metrics_csv_download_at_the_edges(people: Personas) -> None:
    client = client_for(people.manager)
    for query in ("?start=9999-12-25", "?end=9999-12-31", "?start=0001-01-01"):
        response = client.get("/teams/payments/metrics.csv" + query)
        assert response.status_code == 200
        b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_the_incident_form_refuses_year_9999(people: Personas) -> None:
    client = client_for(people.manager)
    response = client.post(
        "/teams/payments/incidents/new/",
        {"title": "Far future", "severity": "SEV3", "started_at": "9999-12-31T23:59"},
    )
    assert response.status_code in (200, 422)
    assert "1970-01-01" in response.content.decode()
    assert not Incident.objects.exists()


def test_the_focus_propose_form_refuses_year_9999(people: Personas) -> None:
    client = client_for(people.manager)
    response = client.post(
        "/teams/payments/focus/propose/",
        {"kind": "stability", "starts_on": "9999-12-10", "rationale": "Far away"},
    )
    assert response.status_code in (200, 422)
    assert "1970-01-01" in response.content.decode()
    assert not FocusPeriod.objects.exists()


# --- 6. offset above 2^63 - 1 -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/releases", "/incidents", "/focus-periods"])
def test_a_list_offset_has_a_declared_maximum(api, path) -> None:
    _refused(api.get(path, offset=2**63), 422, "offset")
    assert api.get(path, offset=bounds.MAX_LIST_OFFSET).status_code == 200
    document = Client().get("/api/v1/openapi.json").json()
    operation = document["paths"][f"/api/v1{path}"]["get"]
    (offset,) = [p for p in operation["parameters"] if p["name"] == "offset"]
    assert offset["schema"]["maximum"] == bounds.MAX_LIST_OFFSET


# --- 7. a record named by an id int() cannot read, or beyond the database's ids ---------------


@pytest.mark.parametrize("ref", ["²", "9" * 10_000, str(2**63), "0"])
def test_a_reference_that_cannot_be_an_id_is_not_found(api, ref) -> None:
    response = api.post(
        "/incidents",
        {
            "team": "payments",
            "title": "Checkout down",
            "started_at": (NOW - dt.timedelta(hours=1)).isoformat(),
            "caused_by_release": ref,
        },
    )
    _refused(response, 422, "caused_by_release")
    assert not Incident.objects.exists()


def test_row_id_reads_ascii_digits_within_the_ids_only() -> None:
    assert bounds.row_id(" 42 ") == 42
    assert bounds.row_id(str(bounds.MAX_ROW_ID)) == bounds.MAX_ROW_ID
    for text in ("", "0", "-1", "4.0", "²", "٣", str(bounds.MAX_ROW_ID + 1), "9" * 10_000):
        assert bounds.row_id(text) is None, text


# --- a request that answers 5xx has written nothing ------------------------------------------


def test_a_write_whose_answer_fails_is_rolled_back(api, monkeypatch, caplog) -> None:
    def broken(obj: Release) -> list[Any]:
        raise RuntimeError("the answer cannot be built")

    monkeypatch.setattr(schemas, "release_warnings", broken)
    with caplog.at_level(logging.CRITICAL):
        response = api.post("/releases", _release())
    assert response.status_code == 500
    assert not Release.objects.exists()


# --- stored rows can never break a page -----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (Release, "deployed_at", dt.datetime(1969, 12, 31, tzinfo=dt.UTC)),
        (Release, "first_commit_at", dt.datetime(2100, 1, 1, tzinfo=dt.UTC)),
        (Incident, "resolved_at", dt.datetime(2100, 1, 2, tzinfo=dt.UTC)),
        (FocusPeriod, "revisit_on", dt.date(2100, 1, 1)),
        (Outcome, "target", 1e13),
        (OutcomeMeasurement, "value", -math.inf),
    ],
)
def test_the_database_refuses_a_value_outside_the_bounds(team, model, field, value) -> None:
    from tests.factories import (
        FocusPeriodFactory,
        IncidentFactory,
        OutcomeMeasurementFactory,
    )

    factories = {
        Release: lambda: ReleaseFactory(team=team),
        Incident: lambda: IncidentFactory(team=team),
        FocusPeriod: lambda: FocusPeriodFactory(team=team),
        Outcome: lambda: OutcomeFactory(team=team),
        OutcomeMeasurement: lambda: OutcomeMeasurementFactory(outcome=OutcomeFactory(team=team)),
    }
    row = factories[model]()
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field: value})


def _without_checks(table: str) -> Any:
    """Store a row the bounds refuse, as a database from before them would hold it."""
    if connection.vendor == "sqlite":
        connection.cursor().execute("PRAGMA ignore_check_constraints = ON")
        return lambda: connection.cursor().execute("PRAGMA ignore_check_constraints = OFF")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending trigger events
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND conname LIKE %s",
            [table, "%in_bounds"],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    return lambda: None  # the test's transaction restores them


def test_check_data_lists_rows_outside_the_bounds_and_the_migration_step_refuses(
    team, capsys
) -> None:
    release = ReleaseFactory(team=team)
    call_command("check_data")
    assert "within bounds" in capsys.readouterr().out
    restore = _without_checks(Release._meta.db_table)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Release._meta.db_table} SET first_commit_at = %s WHERE id = %s",  # noqa: S608
                [
                    "0001-01-01 00:00:00" if connection.vendor == "sqlite" else "0001-01-01Z",
                    release.pk,
                ],
            )
        found = rows_out_of_bounds(django_apps.get_model)
        assert [(r.table, r.id, r.field) for r in found] == [
            (Release._meta.db_table, release.pk, "first_commit_at")
        ]
        with pytest.raises(CommandError):
            call_command("check_data")
        out = capsys.readouterr().out
        assert f"releases_release id {release.pk}, first_commit_at" in out
        with pytest.raises(RuntimeError, match="first_commit_at"):
            refuse_out_of_bounds("releases.Release")(django_apps, None)
    finally:
        restore()


# --- a value a page cannot format --------------------------------------------------------------


@pytest.mark.parametrize(
    "format_value", [format_duration, format_rate, format_count, format_per_week]
)
def test_a_value_that_cannot_be_formatted_reads_a_dash(format_value, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="apps.core.formatting"):
        assert format_value(math.inf) == "—"
        assert format_value(-math.inf) == "—"
    assert caplog.records
    assert format_value(1e300) != ""  # a huge finite value still reads as something
