from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

# The navigation lists this many of the viewer's teams, then links the overview of all of
# them; templates/base.html slices the list at the same number.
NAV_TEAMS = 12


def execdash(request: HttpRequest) -> dict[str, Any]:
    from apps.teams.permissions import is_org_admin, visible_teams

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"org_time_zone": settings.EXECDASH_TIME_ZONE}
    # Lazy: evaluated only where the navigation renders it (one query). One team more than
    # the navigation lists tells it that there are more.
    return {
        "org_time_zone": settings.EXECDASH_TIME_ZONE,
        "nav_teams": SimpleLazyObject(
            lambda: list(visible_teams(user).only("name", "slug")[: NAV_TEAMS + 1])
        ),
        "is_org_admin": is_org_admin(user),
    }
