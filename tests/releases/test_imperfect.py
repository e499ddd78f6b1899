"""Imperfect releases and incidents in the services, the form and the pages: stored and
flagged (RecordWarning), never refused for what is plausible; refused, naming the field,
for what cannot be true.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.core.records import Ingested, Source
from apps.core.validation import RecordWarning
from apps.incidents.services import incident_create, incident_ingest, incident_validate
from apps.releases.models import Release
from apps.releases.selectors import LEAD_TIME_LEFT_OUT, release_warnings
from apps.releases.services import (
    release_create,
    release_ingest,
    release_locked,
    release_update,
    release_upsert,
    release_validate,
)
from tests.core.personas import local
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def _ago(hours: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=hours)


def _skewed(**overrides) -> dict:
    fields = {
        "service": "checkout",
        "version": "1.0",
        "deployed_at": _ago(2),
        "first_commit_at": _ago(1),
    }
    fields.update(overrides)
    return fields


# ---------- services ----------


def test_validate_flags_a_first_commit_after_the_deployment() -> None:
    team = TeamFactory()
    assert release_validate(team=team, data=_skewed()) == [
        RecordWarning("first_commit_at", LEAD_TIME_LEFT_OUT)
    ]
    assert release_validate(team=team, data=_skewed(first_commit_at=_ago(3))) == []


def test_a_first_commit_at_the_deployment_itself_is_flagged_too() -> None:
    # A lead time of zero is dropped from lead time as well (METRICS.md: values <= 0).
    deployed = _ago(2)
    data = _skewed(deployed_at=deployed, first_commit_at=deployed)
    assert [w.field for w in release_validate(team=TeamFactory(), data=data)] == ["first_commit_at"]


def test_create_stores_it_and_the_row_keeps_the_flag() -> None:
    release = release_create(team=TeamFactory(), **_skewed())
    stored = Release.objects.get(pk=release.pk)
    assert [w.field for w in release_warnings(stored)] == ["first_commit_at"]


def test_ingest_answers_with_the_flags_and_stays_idempotent() -> None:
    team = TeamFactory()
    first = release_ingest(
        existing=None, team=team, source=Source.WEBHOOK, external_id="d-1", **_skewed()
    )
    assert isinstance(first, Ingested)
    assert first.created
    assert [w.field for w in first.warnings] == ["first_commit_at"]
    again = release_ingest(
        existing=release_locked(team=team, source=Source.WEBHOOK, external_id="d-1"),
        team=team,
        source=Source.WEBHOOK,
        external_id="d-1",
        **_skewed(first_commit_at=_ago(9)),
    )
    assert not again.created
    assert again.record.pk == first.record.pk
    assert again.warnings == []
    # The tuple-answering upsert is unchanged for its callers.
    release, created = release_upsert(
        team=team, source=Source.WEBHOOK, external_id="d-1", **_skewed()
    )
    assert (release.pk, created) == (first.record.pk, False)


def test_update_that_makes_it_whole_clears_the_flag() -> None:
    release = release_create(team=TeamFactory(), **_skewed())
    release_update(release=release, first_commit_at=_ago(5))
    assert release_warnings(release) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"deployed_at": timezone.now().replace(tzinfo=None)}, "deployed_at"),
        ({"first_commit_at": timezone.now().replace(tzinfo=None)}, "first_commit_at"),
        ({"deployed_at": _ago(-24)}, "deployed_at"),
        ({"change_count": -1}, "change_count"),
        ({"status": "exploded"}, "status"),
    ],
    ids=["naive-deploy", "naive-commit", "future", "negative-changes", "status"],
)
def test_what_cannot_be_true_is_refused_naming_the_field(overrides, field) -> None:
    with pytest.raises(ValidationError) as caught:
        release_create(team=TeamFactory(), **_skewed(**overrides))
    assert field in caught.value.message_dict
    assert not Release.objects.exists()


def test_an_incident_caused_by_a_flagged_release_is_accepted() -> None:
    team = TeamFactory()
    release = release_create(team=team, **_skewed())
    incident = incident_create(team=team, title="Down", started_at=_ago(1.5), caused_by=release)
    assert incident.caused_by == release


def test_incident_flags_and_refusals() -> None:
    team = TeamFactory()
    found_late = {"title": "Found late", "started_at": _ago(9), "resolved_at": _ago(8)}
    flagged = incident_ingest(
        existing=None,
        team=team,
        source=Source.API,
        external_id="pd-1",
        detected_at=_ago(1),
        **found_late,
    )
    assert [w.field for w in flagged.warnings] == ["detected_at"]
    for data, field in (
        ({"title": "x", "started_at": _ago(2), "resolved_at": _ago(3)}, "resolved_at"),
        ({"title": "x", "started_at": _ago(2), "detected_at": _ago(3)}, "detected_at"),
        ({"title": "x", "started_at": _ago(2).replace(tzinfo=None)}, "started_at"),
        ({"title": "x", "started_at": _ago(2), "severity": "SEV9"}, "severity"),
    ):
        with pytest.raises(ValidationError) as caught:
            incident_validate(team=team, data=data)
        assert field in caught.value.message_dict


# ---------- the form and the release's page ----------


def test_the_form_stores_it_and_says_so(people, member_client) -> None:
    now = timezone.now()
    data = {
        "service": "checkout",
        "version": "3.1.0",
        "deployed_at": local(now - dt.timedelta(hours=2)),
        "status": "succeeded",
        "first_commit_at": local(now - dt.timedelta(hours=1)),
        "change_count": "3",
        "deployed_by": "mia",
        "fixes_incident": "",
    }
    url = reverse("releases:create", args=[people.team.slug])
    response = member_client.post(url, data, follow=True)
    assert response.status_code == 200
    assert Release.objects.get().first_commit_at is not None
    page = response.content.decode()
    assert "Release checkout 3.1.0 recorded." in page
    assert 'class="message message-warning"' in page
    assert "left out of lead time" in page


def test_the_release_page_keeps_the_note(people, member_client) -> None:
    flagged = release_create(team=people.team, **_skewed())
    whole = release_create(team=people.team, **_skewed(version="2.0", first_commit_at=_ago(5)))
    page = member_client.get(flagged.get_absolute_url()).content.decode()
    assert 'role="note"' in page
    assert "it is left out of lead time" in page
    assert "left out of lead time</span>" in page  # the lead time row says why it is empty
    assert 'role="note"' not in member_client.get(whole.get_absolute_url()).content.decode()
