"""The URLconf as data: every URL pattern with its full route, name and view, and the
objects (two teams, their incidents, releases, tokens...) that fill its parameters.

The access matrix and the CSRF test both walk `url_patterns()`, so a new view is covered by
both the moment it is routed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from apps.api.models import ApiToken
from apps.api.services import api_token_create
from apps.imports.models import ImportJob
from apps.outcomes.models import Outcome
from apps.teams.models import Membership, Team
from apps.webhooks.services import webhook_create
from tests.factories import (
    AdminFactory,
    FocusPeriodFactory,
    IncidentFactory,
    MembershipFactory,
    ReleaseFactory,
    TeamFactory,
)


@dataclass(frozen=True)
class Pattern:
    route: str  # the full route, as written in the URLconfs ("teams/<slug:slug>/")
    name: str | None  # namespaced ("incidents:detail"), None for an unnamed pattern
    callback: Callable[..., Any]

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.route, self.name)


def _walk(patterns: list[Any], prefix: str, namespace: str | None) -> Iterator[Pattern]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield Pattern(prefix + str(pattern.pattern), name, pattern.callback)


def url_patterns() -> list[Pattern]:
    return list(_walk(get_resolver().url_patterns, "", None))


@dataclass
class World:
    """Team A (the personas' own) and team B, with a row of every kind in each."""

    team_a: Team
    team_b: Team
    member_a: Any
    manager_a: Any
    member_b: Any
    admin: Any
    token_a: str
    token_b: str
    token_org: str
    objects: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def make(cls) -> World:
        team_a = TeamFactory(name="Payments", slug="payments")
        team_b = TeamFactory(name="Search", slug="search")
        world = cls(
            team_a=team_a,
            team_b=team_b,
            member_a=MembershipFactory(team=team_a).user,
            manager_a=MembershipFactory(team=team_a, role=Membership.Role.MANAGER).user,
            member_b=MembershipFactory(team=team_b).user,
            admin=AdminFactory(),
            token_a=api_token_create(name="ci-a", team=team_a)[1],
            token_b=api_token_create(name="ci-b", team=team_b)[1],
            token_org=api_token_create(name="org", team=None)[1],
        )
        world.objects = {
            "incident": IncidentFactory(team=team_a),
            "release": ReleaseFactory(team=team_a),
            "focus": FocusPeriodFactory(team=team_a),
            # Finished, so that starting it again is refused politely, whoever asks.
            "import": ImportJob.objects.create(
                team=team_a,
                kind=ImportJob.Kind.INCIDENTS,
                time_zone="UTC",
                file_path="imports/incidents.csv",
                file_name="incidents.csv",
                state=ImportJob.State.DONE,
            ),
            "outcome": Outcome.objects.create(
                team=team_a, name="Checkout conversion", unit="%", baseline=1, target=2
            ),
            "webhook": webhook_create(team=team_a, kind="github")[0],
            # A token of team A for the token pages (revoking it must not touch the
            # personas' own tokens).
            "token": api_token_create(name="spare", team=team_a)[0],
        }
        return world

    def admin_object(self, name: str | None) -> str:
        """The pk of a row for an admin URL named `admin:<app>_<model>_<action>`."""
        match = re.fullmatch(r"admin:([a-z0-9]+)_([a-z0-9]+)_[a-z_]+", name or "")
        if match:
            try:
                model = apps.get_model(match[1], match[2])
            except LookupError:
                return "1"
            row = model._default_manager.order_by("pk").first()
            if row is not None:
                return str(row.pk)
        return "1"


PARAM = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>\w+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def fill(pattern: Pattern, world: World, values: dict[str, Any] | None = None) -> str:
    """A concrete path for the pattern: the row's `values` first, then by parameter name."""
    values = values or {}
    route = pattern.route
    if route.startswith("api/^"):
        return "/api/v2/nothing-here"  # the API's catch-all 404

    def value(match: re.Match[str]) -> str:
        name = match["name"]
        if name == "app_label":
            return "teams"
        if name == "url":  # the admin's catch-all
            return "nothing-here/"
        if name in values:
            return str(values[name])
        if name == "slug":
            return world.team_a.slug
        if name == "content_type_id":
            return str(ContentType.objects.get_for_model(Team).pk)
        if name in {"object_id", "id"}:
            if pattern.name and pattern.name.startswith("admin:"):
                return world.admin_object(pattern.name)
            return str(world.team_a.pk)
        raise KeyError(f"no value for <{name}> in {route!r}: give the row its values")

    path = REGEX_GROUP.sub(value, route).replace("^", "").replace("$", "")
    return "/" + PARAM.sub(value, path)


def now_iso() -> str:
    return (timezone.now() - dt.timedelta(minutes=5)).isoformat()


__all__ = ["ApiToken", "Pattern", "World", "fill", "now_iso", "url_patterns"]
