"""A PagerDuty incident known from its resolution alone (no `created_at`, no trigger
received): stored flagged "start unknown", said in the answer's warnings, left out of time to
restore, listed under the team's data gaps; the first later event that gives the start sets
it and clears the flag."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.incidents.models import Incident
from apps.incidents.selectors import data_gaps
from apps.metrics.selectors import window_metrics
from tests.webhooks.conftest import load, post_pagerduty

pytestmark = pytest.mark.django_db

STARTED = dt.datetime(2026, 1, 14, 11, 0, tzinfo=dt.UTC)
RESOLVED = dt.datetime(2026, 1, 14, 11, 45, 30, tzinfo=dt.UTC)
WEEK = (dt.date(2026, 1, 12), dt.date(2026, 1, 19))


def resolved_without_start() -> dict:
    payload = load("pagerduty_incident_resolved")
    del payload["event"]["data"]["created_at"]
    return payload


def test_a_resolution_without_a_start_is_stored_flagged_not_as_a_0_s_restore(
    api, pagerduty, team
) -> None:
    webhook, secret = pagerduty
    response = post_pagerduty(api, webhook, secret, resolved_without_start())
    assert response.status_code == 201, response.content
    incident = Incident.objects.get()
    assert incident.start_unknown is True
    assert (incident.started_at, incident.resolved_at) == (RESOLVED, RESOLVED)
    warnings = response.json()["warnings"]
    assert [w["field"] for w in warnings] == ["started_at"]
    assert "left out of time to restore" in warnings[0]["message"]
    assert "Flagged:" in webhook.deliveries.get().reason
    # Not a 0 s sample: no time to restore at all, while it counts as an incident.
    w = window_metrics(team=team, start=WEEK[0], end=WEEK[1])
    assert (w.incidents, w.time_to_restore.n, w.time_to_restore.median) == (1, 0, None)
    gaps = data_gaps(team=team, start=WEEK[0], end=WEEK[1])
    assert [i.pk for i in gaps.start_unknown] == [incident.pk]
    assert gaps.start_unknown_count == 1


def test_a_resolution_with_created_at_knows_its_start(api, pagerduty, team) -> None:
    webhook, secret = pagerduty
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_resolved"))
    assert response.json()["warnings"] == []
    incident = Incident.objects.get()
    assert (incident.start_unknown, incident.started_at) == (False, STARTED)
    assert not data_gaps(team=team, start=WEEK[0], end=WEEK[1])


def test_the_late_trigger_sets_the_start_and_clears_the_flag(api, pagerduty, team) -> None:
    webhook, secret = pagerduty
    post_pagerduty(api, webhook, secret, resolved_without_start())
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    assert response.status_code == 200, response.content
    assert response.json()["warnings"] == []
    incident = Incident.objects.get()
    assert (incident.start_unknown, incident.started_at) == (False, STARTED)
    assert incident.resolved_at == RESOLVED
    w = window_metrics(team=team, start=WEEK[0], end=WEEK[1])
    assert (w.time_to_restore.n, w.time_to_restore.median) == (1, 45 * 60 + 30.0)
    assert not data_gaps(team=team, start=WEEK[0], end=WEEK[1])


def test_a_late_trigger_without_created_at_starts_it_when_it_was_triggered(api, pagerduty) -> None:
    webhook, secret = pagerduty
    post_pagerduty(api, webhook, secret, resolved_without_start())
    trigger = load("pagerduty_incident_triggered")
    del trigger["event"]["data"]["created_at"]
    post_pagerduty(api, webhook, secret, trigger)
    incident = Incident.objects.get()
    assert incident.start_unknown is False
    assert incident.started_at == dt.datetime(2026, 1, 14, 11, 0, 5, 120000, tzinfo=dt.UTC)


def test_an_acknowledgement_carrying_created_at_sets_the_start(api, pagerduty) -> None:
    webhook, secret = pagerduty
    post_pagerduty(api, webhook, secret, resolved_without_start())
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_acknowledged"))
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "accepted"
    incident = Incident.objects.get()
    assert (incident.start_unknown, incident.started_at) == (False, STARTED)
    # Delivered again: nothing changes.
    again = post_pagerduty(api, webhook, secret, load("pagerduty_incident_acknowledged"))
    assert again.json()["outcome"] == "ignored"


def test_an_acknowledgement_of_a_known_start_is_still_ignored(api, pagerduty) -> None:
    webhook, secret = pagerduty
    post_pagerduty(api, webhook, secret, load("pagerduty_incident_triggered"))
    before = Incident.objects.values().get()
    response = post_pagerduty(api, webhook, secret, load("pagerduty_incident_acknowledged"))
    assert response.json()["outcome"] == "ignored"
    assert Incident.objects.values().get() == before


def test_a_redelivered_resolution_with_the_start_sets_it(api, pagerduty) -> None:
    # The same resolution again, now carrying created_at (another event id): the time it
    # was resolved is unchanged, but the start is news.
    webhook, secret = pagerduty
    post_pagerduty(api, webhook, secret, resolved_without_start())
    with_start = load("pagerduty_incident_resolved")
    with_start["event"]["id"] = "resolved-again"
    response = post_pagerduty(api, webhook, secret, with_start)
    assert response.json()["outcome"] == "accepted"
    incident = Incident.objects.get()
    assert (incident.start_unknown, incident.started_at) == (False, STARTED)


def test_a_reopening_without_a_start_is_flagged_too(api, pagerduty) -> None:
    webhook, secret = pagerduty
    reopened = load("pagerduty_incident_reopened")
    del reopened["event"]["data"]["created_at"]
    post_pagerduty(api, webhook, secret, reopened)
    assert Incident.objects.get().start_unknown is True


def test_the_api_lists_the_flag_in_its_warnings(api, pagerduty, team) -> None:
    from apps.api.services import api_token_create

    webhook, secret = pagerduty
    post_pagerduty(api, webhook, secret, resolved_without_start())
    _, token = api_token_create(name="ci", team=team)
    listed = api.get(
        "/api/v1/incidents", {"team": team.slug}, headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.status_code == 200, listed.content
    (item,) = listed.json()["items"]
    assert [w["field"] for w in item["warnings"]] == ["started_at"]
