"""The overview and the team page cache what they render, and never show a stale one: every
change they show (a write and the worker's recompute, a focus, a rename, another range)
reaches the next page view."""

from __future__ import annotations

import datetime as dt
import gzip
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.dashboard.dates import DateRange
from apps.dashboard.page_cache import PAGE_CACHE_SECONDS
from apps.focus.models import FocusKind
from apps.focus.services import focus_period_align, focus_period_close, focus_period_create
from apps.incidents.models import Incident
from apps.incidents.services import incident_create, incident_resolve
from apps.metrics.rollups import rollups_process_dirty, rollups_recompute_all
from tests.dashboard.conftest import days_ago
from tests.factories import IncidentFactory, UserFactory, focus_kind

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "content"}


def card_of(client, slug: str, url: str = "/") -> str:
    content = client.get(url).content.decode()
    start = content.index(f'data-team="{slug}"')
    return content[start : content.index("</article>", start)]


def queries_of(client, url: str = "/", **headers) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, **headers).status_code == 200
    return len(queries)


@pytest.fixture
def seen(client, manager, payments_history):
    """The manager has looked at the overview once: its cards are cached."""
    client.force_login(manager)
    client.get("/")
    return client


def test_a_second_view_reads_the_cards_from_the_cache(seen):
    # Session, user, and the visible teams with their versions, pending writes and focus.
    assert queries_of(seen) == 3
    assert queries_of(seen, "/", **HX) == 3
    assert PAGE_CACHE_SECONDS > 0


def test_another_release_does_not_read_what_this_one_cached(seen, settings):
    settings.EXECDASH_CACHE_VERSION = "another-release"
    assert queries_of(seen) > 3  # the cards are built again
    assert queries_of(seen) == 3  # and cached under the new version


def test_an_incident_shows_at_once_and_after_the_worker_recomputed(seen, payments):
    started = timezone.now() - dt.timedelta(hours=2)
    incident = incident_create(
        team=payments, title="Card reader down", severity="SEV1", started_at=started
    )
    # A write leaves a dirty bucket: the cards are built afresh until the worker has run.
    assert "1 open SEV1/SEV2 incident" in card_of(seen, "payments")
    assert "Some numbers are being recomputed" in seen.get("/").content.decode()

    rollups_process_dirty()
    assert "1 open SEV1/SEV2 incident" in card_of(seen, "payments")
    assert "1 open SEV1/SEV2 incident" in card_of(seen, "payments")  # now from the cache

    incident_resolve(incident=incident, resolved_by="ops")
    rollups_process_dirty()
    card = card_of(seen, "payments")
    assert "open SEV1/SEV2" not in card
    assert "No open incidents" in card


def test_recomputed_numbers_replace_the_cached_ones(seen, payments):
    before = card_of(seen, "payments")
    for d in range(5):
        IncidentFactory(
            team=payments,
            severity=Incident.Severity.SEV3,
            started_at=days_ago(20 + d),
            resolved_at=days_ago(20 + d, hours=-3),
        )
    rollups_recompute_all()
    after = card_of(seen, "payments")
    assert after != before
    assert "3 h" in after  # the median time to restore of the new incidents


def test_a_new_focus_shows_at_once(seen, payments):
    period = payments.focus_periods.get()
    focus_period_close(period=period, ends_on=timezone.localdate() - dt.timedelta(days=1))
    assert "No focus declared" in card_of(seen, "payments")

    focus_period_create(
        team=payments,
        kind=focus_kind(FocusKind.STABILITY),
        starts_on=timezone.localdate(),
        rationale="Fewer pages at night.",
    )
    card = card_of(seen, "payments")
    assert "Focus: Stability" in card
    assert "Throughput focus while" not in card


def test_a_renamed_team_shows_at_once(seen, payments):
    payments.name = "Payments & Billing"
    payments.save()
    assert "Payments &amp; Billing" in card_of(seen, "payments")


def test_another_range_has_its_own_cards(seen):
    assert 'href="/teams/payments/?range=13w"' in card_of(seen, "payments")
    assert 'href="/teams/payments/?range=4w"' in card_of(seen, "payments", "/?range=4w")


def test_cards_are_not_cached_while_writes_wait_for_the_worker(client, manager, payments):
    client.force_login(manager)
    IncidentFactory(team=payments, severity=Incident.Severity.SEV2, started_at=days_ago(1))
    rollups_recompute_all()
    client.get("/")
    incident_create(
        team=payments, title="Search is slow", severity="SEV2", started_at=days_ago(0, 1)
    )
    assert "2 open SEV1/SEV2 incidents" in card_of(client, "payments")


# --- the team page ------------------------------------------------------------------------

TEAM = "/teams/payments/"


@pytest.fixture
def team_seen(client, manager, payments_history):
    """The manager has opened the team page once: its content is cached."""
    client.force_login(manager)
    client.get(TEAM)
    return client


def test_a_second_view_of_a_team_reads_its_content_from_the_cache(team_seen):
    # Session, user, teams, the team's version and pending writes, its focus periods.
    assert queries_of(team_seen, TEAM) == 5
    # A fragment reads the team with its version and pending writes in one query.
    assert queries_of(team_seen, TEAM, **HX) == 4


def test_an_incident_reaches_the_team_page_at_once_and_after_the_worker(team_seen, payments):
    incident = incident_create(
        team=payments,
        title="Terminals offline",
        severity="SEV2",
        started_at=timezone.now() - dt.timedelta(hours=1),
    )
    page = team_seen.get(TEAM).content.decode()
    assert "Terminals offline" in page
    assert "Recomputing Payments" in page
    rollups_process_dirty()
    page = team_seen.get(TEAM).content.decode()
    assert "Terminals offline" in page
    assert "Recomputing Payments" not in page
    incident_resolve(incident=incident, resolved_by="ops")
    rollups_process_dirty()
    assert "<strong>open</strong>" not in team_seen.get(TEAM).content.decode()


def test_focus_changes_reach_the_team_page_at_once(team_seen, payments, manager):
    period = payments.focus_periods.get()
    focus_period_align(period=period, aligned_by=manager)
    assert "aligned" in team_seen.get(TEAM).content.decode()
    focus_period_close(period=period, ends_on=timezone.localdate() - dt.timedelta(days=1))
    assert "has no focus declared for today" in team_seen.get(TEAM).content.decode()


def test_a_renamed_team_page_shows_the_new_name(team_seen, payments):
    payments.name = "Payments & Billing"
    payments.save()
    assert "<h1>Payments &amp; Billing</h1>" in team_seen.get(TEAM).content.decode()


def test_each_range_of_a_team_page_is_its_own(team_seen):
    assert "Last 4 weeks" in team_seen.get(TEAM + "?range=4w").content.decode()
    assert "Last 52 weeks" in team_seen.get(TEAM + "?range=52w", **HX).content.decode()


# --- the numbers fragment ---------------------------------------------------------------

NUMBERS = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "team-numbers"}


def numbers_of(client, url: str = TEAM):
    response = client.get(url, **NUMBERS)
    assert response.status_code == 200
    return response


def test_the_numbers_fragment_is_cached_while_nothing_is_pending(team_seen):
    first = numbers_of(team_seen)
    # Session, user, and the team with its version, pending writes and today's focus; then
    # the cache.
    assert queries_of(team_seen, TEAM, **NUMBERS) == 3
    second = numbers_of(team_seen)
    assert second.content == first.content
    assert "execdash:fresh" in second["HX-Trigger"]  # the charts still redraw when it is fresh
    assert b"every 2s" not in second.content


def test_the_numbers_fragment_is_live_and_polls_while_a_recompute_is_pending(team_seen, payments):
    numbers_of(team_seen)  # cached now
    incident_create(
        team=payments,
        title="Terminals offline",
        severity="SEV2",
        started_at=timezone.now() - dt.timedelta(hours=1),
    )
    polled = numbers_of(team_seen)
    assert b'hx-trigger="every 2s"' in polled.content
    assert b"Recomputing Payments" in polled.content
    assert "HX-Trigger" not in polled
    assert queries_of(team_seen, TEAM, **NUMBERS) > 3  # rendered every time, never cached

    rollups_process_dirty()
    fresh = numbers_of(team_seen)
    assert b"every 2s" not in fresh.content
    assert "execdash:fresh" in fresh["HX-Trigger"]
    assert numbers_of(team_seen).content == fresh.content


def test_the_numbers_fragment_follows_todays_focus_and_the_range(team_seen, payments):
    warning = b"Stability first: Throughput focus while"
    assert warning in numbers_of(team_seen).content
    period = payments.focus_periods.get()
    focus_period_close(period=period, ends_on=timezone.localdate() - dt.timedelta(days=1))
    assert warning not in numbers_of(team_seen).content
    days = DateRange.preset("4w", timezone.localdate()).days
    four_weeks = numbers_of(team_seen, TEAM + "?range=4w").content
    assert f" in {days} day".encode() in four_weeks
    assert four_weeks != numbers_of(team_seen).content


def test_the_numbers_fragment_is_sent_gzipped_as_cached(team_seen):
    plain = numbers_of(team_seen).content
    for _ in range(2):
        response = team_seen.get(TEAM, **NUMBERS, HTTP_ACCEPT_ENCODING="gzip")
        assert response["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.content) == plain


# --- fragments sent compressed as cached ----------------------------------------------------


@pytest.mark.parametrize("url", ["/?range=26w", TEAM + "?range=26w"])
def test_a_cached_fragment_is_sent_gzipped_as_cached(client, manager, payments_history, url):
    client.force_login(manager)
    plain = client.get(url, **HX).content
    for _ in range(2):  # the first renders and caches, the second reads the cache
        response = client.get(url, **HX, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        assert response["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response["Vary"]
        assert "HX-Request" in response["Vary"]
        assert gzip.decompress(response.content) == plain


CSRF = re.compile(rb'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[A-Za-z0-9]+"')


@pytest.mark.parametrize("url", ["/", TEAM])
def test_a_cached_page_is_its_frame_around_the_content_compressed_as_cached(
    client, manager, payments_history, url
):
    client.force_login(manager)
    plain = client.get(url).content
    for _ in range(2):  # the first renders and caches, the second reads the cache
        response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
        assert response["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response["Vary"]
        page = gzip.decompress(response.content)
        # The same page; only the CSRF token is masked differently on every response.
        assert CSRF.sub(b"", page) == CSRF.sub(b"", plain)
        assert b'<div id="content"' in page
        assert page.rstrip().endswith(b"</html>")


def test_a_page_that_cannot_be_cached_is_compressed_as_usual(client, manager, payments):
    client.force_login(manager)
    incident_create(
        team=payments, title="Queue stuck", severity="SEV3", started_at=days_ago(0, 1)
    )  # a dirty bucket: nothing of Payments is cached until the worker has run
    response = client.get("/", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert b"Queue stuck" not in gzip.decompress(response.content)  # cards only, no titles
    assert b"Some numbers are being recomputed" in gzip.decompress(response.content)


@pytest.mark.parametrize("target", ["content", "team-numbers", "team-charts"])
def test_a_team_fragment_the_viewer_may_not_see_is_a_404(client, payments_history, target):
    client.force_login(UserFactory())
    response = client.get(TEAM, HTTP_HX_REQUEST="true", HTTP_HX_TARGET=target)
    assert response.status_code == 404
