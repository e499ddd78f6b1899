"""The live server the journeys run against answers requests that arrive side by side, as a
team page's incident and release panels do, whatever database the tests run on."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIServer
from django.db import connection
from django.test import testcases

from apps.incidents.models import Incident
from tests.dashboard.conftest import days_ago
from tests.factories import IncidentFactory, MembershipFactory, ReleaseFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_one_request_at_a_time_only_on_a_shared_in_memory_connection():
    thread = testcases.LiveServerThread("127.0.0.1", static_handler=None)
    shared = thread._create_server(connections_override={"default": connection})
    own = thread._create_server(connections_override=None)
    try:
        assert type(shared) is WSGIServer
        assert isinstance(own, ThreadedWSGIServer)
    finally:
        shared.server_close()
        own.server_close()


def test_side_by_side_requests_all_answer(live_server, client):
    team = TeamFactory(name="Payments", slug="payments")
    member = MembershipFactory(team=team).user
    for day in range(12):
        release = ReleaseFactory(team=team, deployed_at=days_ago(day + 1))
        IncidentFactory(
            team=team,
            severity=Incident.Severity.SEV2,
            started_at=days_ago(day + 1, hours=-1),
            detected_at=days_ago(day + 1, hours=-1),
            resolved_at=days_ago(day + 1, hours=-3),
            cause=Incident.Cause.RELEASE,
            caused_by=release,
        )
    client.force_login(member)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    urls = [
        f"{live_server.url}/teams/payments/",
        f"{live_server.url}/teams/payments/incidents/?embed=1",
        f"{live_server.url}/teams/payments/releases/?embed=1",
    ] * 8

    def fetch(url: str) -> int:
        request = urllib.request.Request(url, headers={"Cookie": cookie, "HX-Request": "true"})
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(fetch, urls, timeout=180))
    assert statuses == [200] * len(urls)
