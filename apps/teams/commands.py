"""What the management commands share about teams."""

from __future__ import annotations

from django.core.management.base import CommandError

from apps.teams.models import Team


def team_for_command(slug: str) -> Team:
    """The team a command's `--team SLUG` names, or a CommandError listing the slugs there
    are."""
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        known = ", ".join(Team.objects.order_by("slug").values_list("slug", flat=True))
        raise CommandError(f"No team with slug '{slug}'. Known teams: {known or 'none'}.")
    return team
