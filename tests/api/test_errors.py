"""Every error is JSON {"detail", "errors"} with a 4xx status, whatever went wrong."""

from __future__ import annotations

import pytest

from apps.incidents.models import Incident
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/incidents", "/releases", "/teams"])
@pytest.mark.parametrize("raw", ['{"title": "x",', "not json", "{'single': 'quotes'}"])
def test_malformed_json_is_400(admin_api, path, raw) -> None:
    body = assert_error(admin_api.post(path, raw=raw), 400, "body")
    assert "JSON" in body["detail"]
    assert "line 1" in body["errors"]["body"][0]


def test_body_not_utf8_is_400(team_api) -> None:
    assert_error(team_api.post("/incidents", raw=b"\xff\xfe{}"), 400, "body")


@pytest.mark.parametrize("raw", ["[]", '"text"', "42", "null"])
def test_body_not_an_object_is_400(team_api, raw) -> None:
    assert_error(team_api.post("/incidents", raw=raw), 400, "body")
    assert not Incident.objects.exists()


def test_empty_body_is_400(team_api) -> None:
    assert_error(team_api.post("/incidents", raw=""), 400, "body")


def test_empty_object_names_every_missing_field(team_api) -> None:
    body = assert_error(team_api.post("/incidents", {}), 422, "title", "started_at")
    assert body["errors"]["title"] == ["This field is required."]


def test_offset_less_wins_as_400_even_with_other_errors(team_api) -> None:
    response = team_api.post("/incidents", {"title": "", "started_at": "2025-01-02T03:04:05"})
    assert_error(response, 400, "started_at", "title")


def test_method_not_allowed_is_json(team_api) -> None:
    response = team_api.client.delete("/api/v1/incidents", headers=team_api._headers())
    assert_error(response, 405, "method")
    assert "GET" in response["Allow"]


def test_unknown_endpoint_is_json_404(team_api) -> None:
    assert_error(team_api.get("/no-such-thing"), 404)
    assert_error(team_api.client.get("/api/v2/teams"), 404)


def test_errors_are_not_cached_as_html_pages(team_api) -> None:
    response = team_api.post("/incidents", raw="{")
    assert b"<html" not in response.content.lower()
