"""Who may see what: admins everything, managers and members their teams, others nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from apps.teams.models import Membership
from apps.teams.permissions import (
    can_manage,
    can_post_for,
    is_org_admin,
    role_in,
    team_for_user,
    visible_teams,
)
from tests.factories import AdminFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():  # type: ignore[no-untyped-def]
    payments, search, mobile = TeamFactory(), TeamFactory(), TeamFactory()
    manager = MembershipFactory(team=payments, role=Membership.Role.MANAGER).user
    MembershipFactory(user=manager, team=search, role=Membership.Role.MANAGER)
    member = MembershipFactory(team=payments).user
    return {
        "payments": payments,
        "search": search,
        "mobile": mobile,
        "admin": AdminFactory(),
        "staff": UserFactory(is_staff=True),
        "manager": manager,
        "member": member,
        "outsider": UserFactory(),
    }


def slugs(user) -> set[str]:  # type: ignore[no-untyped-def]
    return set(visible_teams(user).values_list("slug", flat=True))


def test_admins_see_every_team(org) -> None:  # type: ignore[no-untyped-def]
    every = {org[t].slug for t in ("payments", "search", "mobile")}
    assert slugs(org["admin"]) == every
    assert slugs(org["staff"]) == every
    assert is_org_admin(org["staff"])


def test_managers_see_the_teams_they_manage(org) -> None:  # type: ignore[no-untyped-def]
    assert slugs(org["manager"]) == {org["payments"].slug, org["search"].slug}
    assert visible_teams(org["manager"]).count() == 2  # no duplicates from the join


def test_members_see_their_own_team(org) -> None:  # type: ignore[no-untyped-def]
    assert slugs(org["member"]) == {org["payments"].slug}


def test_outsiders_and_anonymous_see_nothing(org) -> None:  # type: ignore[no-untyped-def]
    assert slugs(org["outsider"]) == set()
    assert slugs(AnonymousUser()) == set()
    assert not is_org_admin(AnonymousUser())


def test_another_team_is_a_404(org) -> None:  # type: ignore[no-untyped-def]
    assert team_for_user(org["member"], org["payments"].slug) == org["payments"]
    for user, slug in [
        (org["member"], org["search"].slug),
        (org["manager"], org["mobile"].slug),
        (org["outsider"], org["payments"].slug),
        (AnonymousUser(), org["payments"].slug),
        (org["admin"], "no-such-team"),
    ]:
        with pytest.raises(Http404):
            team_for_user(user, slug)


def test_roles_decide_posting_and_managing(org) -> None:  # type: ignore[no-untyped-def]
    payments, mobile = org["payments"], org["mobile"]
    assert role_in(org["admin"], mobile) == "admin"
    assert role_in(org["manager"], payments) == "manager"
    assert role_in(org["member"], payments) == "member"
    assert role_in(org["outsider"], payments) is None
    assert can_post_for(org["member"], payments)
    assert not can_post_for(org["member"], mobile)
    assert not can_manage(org["member"], payments)
    assert can_manage(org["manager"], payments)
    assert can_manage(org["admin"], mobile)
    assert not can_post_for(AnonymousUser(), payments)
