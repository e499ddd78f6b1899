"""Writes of the teams app."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.teams.models import Team


class TeamExists(ValidationError):
    """The slug or name is taken: the API answers 409, naming the field."""


def team_create(*, slug: str, name: str, description: str = "") -> Team:
    """Create a team; a slug or name already taken is TeamExists naming the field."""
    conflicts: dict[str, list[str]] = {}
    if Team.objects.filter(slug=slug).exists():
        conflicts["slug"] = [f"A team with slug '{slug}' already exists."]
    if Team.objects.filter(name=name).exists():
        conflicts["name"] = [f"A team named '{name}' already exists."]
    if conflicts:
        raise TeamExists(conflicts)
    team = Team(slug=slug, name=name.strip(), description=description)
    team.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError as exc:  # created concurrently
        raise TeamExists({"slug": [f"A team with slug '{slug}' already exists."]}) from exc
    return team
