from __future__ import annotations

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
