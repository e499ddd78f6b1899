"""Who may see what: admins everything, managers the teams they manage, members their own.

Every view and fragment goes through these helpers; a team the viewer may not see is a 404,
so a page never reveals that it exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from apps.teams.models import Membership, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


def is_org_admin(user: AnyUser) -> bool:
    return bool(
        user.is_authenticated
        and (getattr(user, "is_superuser", False) or getattr(user, "is_staff", False))
    )


def visible_teams(user: AnyUser) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    if is_org_admin(user):
        return Team.objects.all()
    return Team.objects.filter(memberships__user_id=user.pk).distinct()


def team_for_user(user: AnyUser, slug: str) -> Team:
    """The team with this slug if the user may see it; otherwise 404."""
    try:
        return visible_teams(user).get(slug=slug)
    except Team.DoesNotExist:
        raise Http404("No such team") from None


def role_in(user: AnyUser, team: Team) -> str | None:
    """'admin', 'manager', 'member' or None."""
    if is_org_admin(user):
        return "admin"
    if not user.is_authenticated:
        return None
    membership = Membership.objects.filter(user_id=user.pk, team=team).only("role").first()
    return membership.role if membership else None


def can_post_for(user: AnyUser, team: Team) -> bool:
    """Members and managers post incidents and releases for their teams; admins for all."""
    return role_in(user, team) is not None


def can_manage(user: AnyUser, team: Team) -> bool:
    return role_in(user, team) in ("admin", "manager")


def team_for_poster(request: HttpRequest, slug: str) -> Team:
    """The team, if the user may post for it; otherwise 404 (never reveal that it exists)."""
    team = team_for_user(request.user, slug)
    if not can_post_for(request.user, team):
        raise Http404("No such team")
    return team
