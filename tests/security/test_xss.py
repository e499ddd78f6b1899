"""XSS: user text is data everywhere it is shown.

Team names, services, versions, incident titles, outcome and token names and a focus's
rationale carrying `<img src=x onerror=…>`, `"><svg onload=…>`, `</script><script>…` and
`javascript:…` come back escaped in every page and htmx fragment, in the charts' JSON (which
plotly.js renders as a subset of HTML, so the text is escaped before it gets there) and in
the HTML part of the focus reminders. The browser side (no dialog, hover text shown as text)
is tests/browser/test_every_page.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from apps.focus.models import FocusPeriod
from apps.focus.reminders import focus_reminders_send
from tests.factories import FocusPeriodFactory
from tests.security.hostile import (
    FORMULA,
    IMG,
    JS,
    LIVE,
    PAYLOADS,
    SCRIPT,
    SVG,
    app_pages,
    seed_hostile,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
ESCAPED_IMG = "&lt;img src=x onerror=alert(1)&gt;"
JSON_SCRIPT = re.compile(r'<script id="([^"]+)" type="application/json">(.*?)</script>', re.S)


def assert_inert(content: str, where: str) -> None:
    lowered = content.lower()
    for live in LIVE:
        assert live not in lowered, f"{where}: {live!r} unescaped"
    for payload in PAYLOADS[:3]:
        assert payload not in content, f"{where}: {payload!r} unescaped"
    # The only <script> elements are the app's own files and inert JSON.
    for tag in re.findall(r"<script\b[^>]*>", content):
        assert "src=" in tag or 'type="application/json"' in tag, f"{where}: {tag}"


@pytest.fixture
def hostile(client, settings, tmp_path) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path / "media"
    data = seed_hostile()
    client.force_login(data["admin"])
    return data


def test_every_page_shows_the_payloads_as_text(client, hostile):
    for path in app_pages(hostile):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.content.decode(), path)
    # The payloads are there, escaped: the pages did show the hostile data.
    base = f"/teams/{hostile['team'].slug}"
    for path in (
        "/",
        f"{base}/",
        f"{base}/incidents/{hostile['incident'].pk}/",
        f"{base}/focus/",
        f"{base}/imports/{hostile['import'].pk}/",
        f"/settings/webhooks/{hostile['webhook'].pk}/",
    ):
        assert ESCAPED_IMG in client.get(path).content.decode(), path
    for path in ("/outcomes/", f"/outcomes/{hostile['outcome'].pk}/"):
        assert "&quot;&gt;&lt;svg onload=alert(1)&gt;" in client.get(path).content.decode(), path
    release = client.get(f"{base}/releases/{hostile['release'].pk}/").content.decode()
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in release
    assert "&quot;&gt;&lt;svg onload=alert(1)&gt;" in release


def test_every_fragment_shows_the_payloads_as_text(client, hostile):
    team = hostile["team"].slug
    fragments = [
        ("/", "content"),
        (f"/teams/{team}/", "content"),
        (f"/teams/{team}/", "team-numbers"),
        (f"/teams/{team}/", "team-charts"),
        (f"/teams/{team}/incidents/?embed=1", "incidents"),
        (f"/teams/{team}/incidents/?q=alert", "incident-rows"),
        (f"/teams/{team}/releases/?embed=1", "releases"),
        (f"/teams/{team}/freshness/", "freshness"),
        (f"/teams/{team}/focus/", "content"),
    ]
    for path, target in fragments:
        response = client.get(path, **HX, HTTP_HX_TARGET=target)
        assert response.status_code == 200, path
        assert_inert(response.content.decode(), f"{path} #{target}")


def test_forms_echo_hostile_input_escaped(client, hostile):
    team = hostile["team"].slug
    # A form sent back with an error keeps the input, escaped in its value attribute.
    for path in (f"/teams/{team}/incidents/new/", f"/teams/{team}/incidents/new/validate/"):
        response = client.post(path, {"title": SVG, "service": IMG, "severity": "SEV1"}, **HX)
        assert response.status_code in (200, 422), path
        body = response.content.decode()
        assert_inert(body, path)
        assert 'value="&quot;&gt;&lt;svg onload=alert(1)&gt;"' in body
    response = client.post(
        f"/teams/{team}/releases/new/", {"service": SCRIPT, "version": IMG}, **HX
    )
    assert_inert(response.content.decode(), "release form")
    # A token named with a payload: the page that shows its secret once shows the name as text.
    response = client.post("/settings/tokens/", {"name": IMG, "scope": "org"})
    assert_inert(response.content.decode(), "token issued")


def test_the_admin_shows_the_payloads_as_text(client, hostile):
    for model, obj in (
        ("teams_team", hostile["team"]),
        ("incidents_incident", hostile["incident"]),
        ("releases_release", hostile["release"]),
        ("outcomes_outcome", hostile["outcome"]),
        ("api_apitoken", hostile["token"]),
        ("webhooks_webhook", hostile["webhook"]),
    ):
        for url in (
            reverse(f"admin:{model}_changelist"),
            reverse(f"admin:{model}_change", args=[obj.pk]),
        ):
            response = client.get(url)
            assert response.status_code == 200, url
            # The admin's own scripts are files too; its JSON data is inert.
            assert_inert(response.content.decode(), url)


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def test_chart_json_carries_the_payloads_html_escaped(client, hostile):
    """plotly.js renders <b>, <a href>, <img>… in titles, legends and hover text: every user
    string reaches a figure html-escaped (and json_script escapes it once more for the page)."""
    response = client.get(f"/teams/{hostile['team'].slug}/", **HX, HTTP_HX_TARGET="team-charts")
    blocks = JSON_SCRIPT.findall(response.content.decode())
    assert blocks, "no chart JSON on the team page"
    texts = [s for _id, raw in blocks for s in strings(json.loads(raw))]
    hover = [s for s in texts if "alert(1)" in s]
    # The SEV1 incident's title, and the failed releases' service and version, are there.
    assert any(ESCAPED_IMG in s for s in hover), hover
    assert any("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in s for s in hover), hover
    for text in hover:
        for payload in PAYLOADS[:3]:
            assert payload not in text, text
        for tag in ("<img", "<svg", "<script"):
            assert tag not in text, text


def test_reminder_emails_escape_user_text_in_their_html(
    hostile, django_capture_on_commit_callbacks
):
    today = dt.date.today()
    FocusPeriod.objects.all().delete()
    FocusPeriodFactory(
        team=hostile["team"],
        rationale=f"{IMG}\n{SVG}\n{SCRIPT}\n{JS}",
        starts_on=today - dt.timedelta(days=40),
        status=FocusPeriod.Status.ALIGNED,
        revisit_on=today - dt.timedelta(days=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        focus_reminders_send(today=today)
    assert mail.outbox, "no reminder was sent"
    for message in mail.outbox:
        html = message.alternatives[0].content
        assert_inert(html, "reminder html")
        assert ESCAPED_IMG in html
        assert "&quot;&gt;&lt;svg onload=alert(1)&gt;" in html
        assert 'href="javascript:' not in html.lower()


def test_csv_exports_neutralize_formulas_and_keep_markup_plain(client, hostile):
    team = hostile["team"].slug
    for path in (
        f"/teams/{team}/incidents/export.csv",
        f"/teams/{team}/releases/export.csv",
        f"/teams/{team}/metrics.csv",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith("text/csv"), path
        body = b"".join(response.streaming_content) if response.streaming else response.content
        cells = [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]
        for cell in cells:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (path, cell)
        if "incidents" in path:
            assert "'" + FORMULA in cells
            assert "'+cmd" in cells
            assert IMG in cells  # a CSV is never rendered: markup stays as typed
