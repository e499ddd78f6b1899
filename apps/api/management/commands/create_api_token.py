"""`manage.py create_api_token --team SLUG | --admin [--name NAME]`: print a new token once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.api.services import api_token_create
from apps.teams.commands import team_for_command


class Command(BaseCommand):
    help = (
        "Issue an API token for one team (--team SLUG) or for the whole organization "
        "(--admin). The token is printed once on stdout and stored only as a hash."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--team", metavar="SLUG", help="The team the token acts for.")
        scope.add_argument(
            "--admin", action="store_true", help="An organization-wide (admin) token."
        )
        parser.add_argument("--name", help="What will use it (shown on the tokens page).")

    def handle(self, *args: Any, **options: Any) -> None:
        team = None
        if options["team"]:
            team = team_for_command(options["team"])
        name = options["name"] or (
            f"{team.slug} token (command line)" if team else "Organization token (command line)"
        )
        token, secret = api_token_create(name=name, team=team)
        scope = f"team '{team.slug}'" if team else "the whole organization"
        self.stderr.write(
            f"Created token “{token.name}” for {scope}. It is shown once; store it now."
        )
        self.stdout.write(secret)
