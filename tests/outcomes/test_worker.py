"""With a real Celery worker: a measurement posted through the outcome page reaches the
stored answers (the outcome's progress at once, the team's flag through the worker)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.outcomes.models import OutcomeStatus, TeamOutcomeFlag
from apps.teams.models import Membership
from tests.factories import MembershipFactory, OutcomeFactory
from tests.integration.conftest import Worker, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_measurement_posted_on_the_page_reaches_the_stored_answers(client, worker: Worker):  # type: ignore[no-untyped-def]
    membership = MembershipFactory(role=Membership.Role.MANAGER)
    outcome = OutcomeFactory(team=membership.team, baseline=10, target=20)
    client.force_login(membership.user)
    response = client.post(
        f"/outcomes/{outcome.pk}/measurements/",
        {"measured_on": timezone.localdate().isoformat(), "value": "14"},
    )
    assert response.status_code == 302
    # The outcome's own progress is written with the measurement.
    assert OutcomeStatus.objects.get(outcome=outcome).progress == 0.4
    # The team's flag is the worker's: it appears once the worker has recomputed the team.
    flag = wait_until(
        lambda: TeamOutcomeFlag.objects.filter(team=membership.team).first(), timeout=60
    )
    assert (flag.outcomes, flag.outcomes_moved, flag.busy_not_moving) == (1, 1, False)
