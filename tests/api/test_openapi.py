from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_openapi_document_is_served_without_a_token(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, methods in {
        "/api/v1/teams": {"get", "post"},
        "/api/v1/releases": {"get", "post"},
        "/api/v1/incidents": {"get", "post"},
        "/api/v1/metrics": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    # Documented answers include the errors.
    post_incident = paths["/api/v1/incidents"]["post"]["responses"]
    assert {"200", "201", "400", "401", "404", "422"} <= set(post_incident)


def test_offset_is_documented_on_timestamps(client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    incident_in = doc["components"]["schemas"]["IncidentIn"]["properties"]
    assert "offset" in incident_in["started_at"]["description"]


def test_docs_page_uses_local_assets_and_no_inline_script(client) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    # CSP allows only script files from this origin: the settings are a JSON data block.
    import re

    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag
    assert "Content-Security-Policy" in response


# --- the statuses each operation declares ----------------------------------------------

# What each operation can answer. Every route: 401 (no or a bad token), 429 (the rate limit
# in front of the API) and 503 (the database unreachable). With a query or a body: 400 and
# 422. A write: 409 (an existing row, or a concurrent request that inserted it first). 404:
# a team token naming another team (or another team's outcome). 403: organization only.
EVERY_ROUTE = {"401", "414", "429", "503"}
EXPECTED_STATUSES = {
    ("post", "/api/v1/teams"): {"201", "400", "403", "409", "422"},
    ("get", "/api/v1/teams"): {"200"},
    ("post", "/api/v1/releases"): {"200", "201", "400", "404", "409", "422"},
    ("get", "/api/v1/releases"): {"200", "400", "404", "422"},
    ("post", "/api/v1/incidents"): {"200", "201", "400", "404", "409", "422"},
    ("get", "/api/v1/incidents"): {"200", "400", "404", "422"},
    ("get", "/api/v1/metrics"): {"200", "400", "404", "422"},
    ("post", "/api/v1/outcomes"): {"201", "400", "403", "404", "409", "422"},
    ("get", "/api/v1/outcomes"): {"200", "400", "404", "422"},
    ("post", "/api/v1/outcomes/{outcome_id}/measurements"): {
        *("200", "201", "400", "404", "409", "422"),
    },
    ("get", "/api/v1/focus-periods"): {"200", "400", "404", "422"},
    ("post", "/api/v1/focus-periods"): {"201", "400", "403", "409", "422"},
}
CSV_OPERATIONS = {
    ("get", "/api/v1/incidents"),
    ("get", "/api/v1/releases"),
    ("get", "/api/v1/metrics"),
}


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, methods in doc["paths"].items()
        for method, operation in methods.items()
    }


@pytest.fixture
def openapi(client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").json()


def test_each_operation_declares_the_statuses_it_can_answer(openapi) -> None:
    operations = _operations(openapi)
    assert set(EXPECTED_STATUSES) <= set(operations)
    for key, statuses in EXPECTED_STATUSES.items():
        assert set(operations[key]["responses"]) == statuses | EVERY_ROUTE, key


def test_every_operation_declares_the_answers_any_route_can_give(openapi) -> None:
    """Also the operations added after the table above: the rate limit, the database and
    the token apply to each; so do 400 and 422 to any that takes a query or a body, and 409
    to any write."""
    for (method, path), operation in _operations(openapi).items():
        responses = operation["responses"]
        assert set(responses) >= EVERY_ROUTE, (method, path)
        takes_input = "requestBody" in operation or any(
            p["in"] == "query" for p in operation.get("parameters", [])
        )
        if takes_input:
            assert {"400", "422"} <= set(responses), (method, path)
        if method in {"post", "put", "patch", "delete"}:
            assert "409" in responses, (method, path)
        for status, answer in responses.items():
            assert answer.get("description"), (method, path, status)
            if status == "414":  # the web server's own page, before execdash reads anything
                assert set(answer["content"]) == {"text/html"}, (method, path)
            elif int(status) >= 400:
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_429_and_503_declare_retry_after(openapi) -> None:
    for key, operation in _operations(openapi).items():
        for status in ("429", "503"):
            headers = operation["responses"][status].get("headers", {})
            assert headers["Retry-After"]["schema"]["type"] == "integer", (key, status)
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"], key


def test_csv_answers_are_declared(openapi) -> None:
    for key, operation in _operations(openapi).items():
        content = operation["responses"].get("200", {}).get("content", {})
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        if key in CSV_OPERATIONS:
            assert {"application/json", "text/csv"} <= set(content), key
            assert "format" in names, key
        else:
            assert "text/csv" not in content, key
            assert "format" not in names, key


def test_the_answers_are_of_the_declared_types(openapi, admin_api, team_api) -> None:
    """Requested for real, the CSV forms, a 401 and a 429 answer a status and a content type
    the document declares, with the headers it names."""
    operations = _operations(openapi)

    def declared(key: tuple[str, str], response: Any) -> None:
        answer = operations[key]["responses"][str(response.status_code)]
        media_type = response["Content-Type"].split(";")[0].strip()
        assert media_type in answer["content"], (key, response.status_code, media_type)
        for header in answer.get("headers", {}):
            assert response.has_header(header), (key, response.status_code, header)

    for path in ("/incidents", "/releases", "/metrics"):
        key = ("get", f"/api/v1{path}")
        declared(key, admin_api.get(path, format="csv"))
        declared(
            key,
            team_api.client.get(
                f"/api/v1{path}",
                headers={
                    "Authorization": f"Bearer {team_api.token}",
                    "Accept": "text/csv",
                },
            ),
        )
        declared(key, admin_api.get(path))
    declared(("get", "/api/v1/teams"), team_api.client.get("/api/v1/teams"))


def test_a_refusal_over_the_rate_limit_is_declared(openapi, admin_api, settings) -> None:
    settings.RATE_LIMIT_API = "1/60"
    operation = _operations(openapi)[("get", "/api/v1/teams")]
    assert admin_api.get("/teams").status_code == 200
    response = admin_api.get("/teams")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_a_database_out_of_reach_is_a_declared_503(openapi, admin_api, monkeypatch) -> None:
    from django.db import OperationalError
    from django.test import Client

    from apps.teams.models import Team

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(Team.objects, "order_by", unreachable)
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/teams", headers={"Authorization": f"Bearer {admin_api.token}"})
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    answer = _operations(openapi)[("get", "/api/v1/teams")]["responses"]["503"]
    assert set(response.json()) == {"detail", "errors"}
    assert int(response["Retry-After"]) >= 1
    assert "Retry-After" in answer["headers"]
