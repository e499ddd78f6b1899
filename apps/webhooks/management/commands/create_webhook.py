"""`manage.py create_webhook --team SLUG --kind github|pagerduty [--environment production]`:
print the receiver's URL path and the secret, once."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.teams.commands import team_for_command
from apps.webhooks.models import Webhook
from apps.webhooks.services import webhook_create


class Command(BaseCommand):
    help = (
        "Create a webhook for a team. Prints two lines on stdout: the URL path to append to "
        "execdash's address, and the signing secret (shown once, stored encrypted)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, metavar="SLUG")
        parser.add_argument("--kind", required=True, metavar="github|pagerduty")
        parser.add_argument(
            "--environment",
            default="production",
            help="GitHub: the deployment environment whose statuses count (production).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        team = team_for_command(options["team"])
        kind = (options["kind"] or "").strip().lower()
        if kind not in Webhook.Kind.values:
            raise CommandError(
                f"Unknown kind '{options['kind']}': use {' or '.join(Webhook.Kind.values)}."
            )
        try:
            webhook, secret = webhook_create(
                team=team, kind=kind, environment=options["environment"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(" ".join(m) for m in exc.message_dict.values())) from None
        self.stderr.write(
            f"Created a {webhook.get_kind_display()} webhook for team '{team.slug}'. "
            "The secret is shown once; store it now."
        )
        self.stdout.write(webhook.receiver_path)
        self.stdout.write(secret)
