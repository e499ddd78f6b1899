"""`seed_demo` with its default options tells the outcome story: Growth is busy (its output
of the last 4 weeks is up) but not moving its outcome; its team outcomes ladder up to the
organization's."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from apps.outcomes.models import Outcome, TeamOutcomeFlag
from apps.releases.models import Release

pytestmark = pytest.mark.django_db


def test_growth_is_busy_but_not_moving_its_outcome():
    call_command("seed_demo", stdout=io.StringIO())
    flagged = set(
        TeamOutcomeFlag.objects.filter(busy_not_moving=True).values_list("team__slug", flat=True)
    )
    assert flagged == {"growth"}
    growth = TeamOutcomeFlag.objects.get(team__slug="growth")
    assert growth.releases_recent >= growth.releases_before
    assert growth.changes_recent >= growth.changes_before
    assert growth.outcomes_moved == 0
    nps = Outcome.objects.get(team=None)
    assert nps.children.count() == 5  # one outcome of each of the five teams

    releases = Release.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert Release.objects.count() == releases  # a second run adds nothing
    assert TeamOutcomeFlag.objects.get(team__slug="growth").busy_not_moving
