"""An incident that is plausible but imperfect is stored and flagged on the form and its page;
one naming a release whose first commit came after its deployment is accepted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.incidents.models import Incident
from apps.releases.services import release_create
from tests.core.personas import local
from tests.incidents.test_views import good_data

pytestmark = pytest.mark.django_db


def test_found_after_it_was_resolved_is_stored_and_flagged(people, member_client) -> None:
    now = timezone.now()
    data = good_data(
        started_at=local(now - dt.timedelta(hours=5)),
        resolved_at=local(now - dt.timedelta(hours=4)),
        detected_at=local(now - dt.timedelta(hours=1)),
    )
    url = reverse("incidents:create", args=[people.team.slug])
    page = member_client.post(url, data, follow=True).content.decode()
    incident = Incident.objects.get()
    assert incident.detected_at > incident.resolved_at
    assert 'class="message message-warning"' in page
    assert "Detected after it was resolved" in page
    again = member_client.get(incident.get_absolute_url()).content.decode()
    assert 'role="note"' in again


def test_the_form_accepts_a_release_with_its_first_commit_after_deployment(
    people, member_client
) -> None:
    now = timezone.now()
    release = release_create(
        team=people.team,
        service="checkout",
        version="9",
        deployed_at=now - dt.timedelta(hours=3),
        first_commit_at=now - dt.timedelta(hours=2),
    )
    data = good_data(cause="release", caused_by=str(release.pk))
    url = reverse("incidents:create", args=[people.team.slug])
    response = member_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Incident.objects.get().caused_by == release


def test_an_incident_whose_start_is_unknown_says_so_on_its_pages(people, member_client) -> None:
    from tests.factories import IncidentFactory

    resolved = timezone.now() - dt.timedelta(hours=3)
    incident = IncidentFactory(
        team=people.team, started_at=resolved, resolved_at=resolved, start_unknown=True
    )
    page = member_client.get(incident.get_absolute_url()).content.decode()
    assert 'role="note"' in page
    assert "Its start is unknown" in page
    assert "First known (the start is unknown)" in page
    assert "to restore since impact began" not in page  # no made-up 0 s
    listed = member_client.get(reverse("incidents:list", args=[people.team.slug]))
    assert "Start unknown: not counted in time to restore" in listed.content.decode()
