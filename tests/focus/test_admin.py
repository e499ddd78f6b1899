"""The Django admin shows a period's history read-only, and its own edits join it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from apps.focus.models import FocusEvent, FocusPeriod
from apps.focus.services import focus_period_propose
from tests.factories import AdminFactory, TeamFactory, focus_kind

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client):  # type: ignore[no-untyped-def]
    client.force_login(AdminFactory())
    return client


def test_history_is_shown_read_only_and_admin_edits_are_recorded(admin_client_) -> None:
    period = focus_period_propose(
        team=TeamFactory(),
        kind=focus_kind(),
        starts_on=dt.date(2026, 3, 2),
        rationale="Outages.",
        note="First draft.",
    )
    url = reverse("admin:focus_focusperiod_change", args=[period.pk])
    page = admin_client_.get(url).content.decode()
    assert "First draft." in page
    assert 'name="events-0-note"' not in page  # read-only: no inputs for the history

    data = {
        "team": period.team_id,
        "kind": period.kind_id,
        "starts_on": "2026-03-02",
        "ends_on": "",
        "status": "proposed",
        "rationale": "Outages, and slow recovery.",
        "success_signals": "[]",
        "tradeoff_metrics": "[]",
        "tradeoff": "",
        "revisit_on": "2026-03-30",
        "events-TOTAL_FORMS": "1",
        "events-INITIAL_FORMS": "1",
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
        "events-0-id": str(period.events.get().pk),
        "events-0-period": str(period.pk),
    }
    response = admin_client_.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    edited = period.events.get(kind=FocusEvent.Kind.EDITED)
    assert edited.changes == {
        "rationale": ["Outages.", "Outages, and slow recovery."],
    }
    assert FocusPeriod.objects.get().rationale == "Outages, and slow recovery."


def test_the_admin_adds_a_period_with_its_first_history_entry(admin_client_) -> None:
    team = TeamFactory()
    response = admin_client_.post(
        reverse("admin:focus_focusperiod_add"),
        {
            "team": team.pk,
            "kind": focus_kind().pk,
            "starts_on": "2026-03-02",
            "status": "proposed",
            "rationale": "From the admin.",
            "success_signals": "[]",
            "tradeoff_metrics": "[]",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
            "events-MIN_NUM_FORMS": "0",
            "events-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302
    period = FocusPeriod.objects.get(team=team)
    assert period.proposed_at is not None
    assert list(period.events.values_list("kind", flat=True)) == ["proposed"]
