from __future__ import annotations

import pytest

from tests.factories import IncidentFactory, MembershipFactory, ReleaseFactory


@pytest.mark.django_db
def test_factories_build_a_team_with_work() -> None:
    membership = MembershipFactory()
    release = ReleaseFactory(team=membership.team)
    incident = IncidentFactory(team=membership.team)
    assert release.team == incident.team == membership.team
