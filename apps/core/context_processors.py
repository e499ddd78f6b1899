from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def execdash(request: HttpRequest) -> dict[str, Any]:
    from apps.core.permissions import is_org_admin, visible_teams

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"org_time_zone": settings.EXECDASH_TIME_ZONE}
    # Lazy: evaluated only where the navigation renders it (one query).
    return {
        "org_time_zone": settings.EXECDASH_TIME_ZONE,
        "nav_teams": visible_teams(user).only("name", "slug"),
        "is_org_admin": is_org_admin(user),
    }
