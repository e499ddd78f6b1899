"""`manage.py ensure_demo_admin`: create the demo admin once, print its credentials always."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

USERNAME = "admin"
PASSWORD = "execdash-demo"  # noqa: S105  (documented demo credentials, DEBUG only)


class Command(BaseCommand):
    help = "Create the demo superuser 'admin' (password 'execdash-demo') if missing; print it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Also when DEBUG is off (never on a server others can reach).",
        )

    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create a demo admin with a published password while DEBUG is "
                "off. Use `manage.py createsuperuser`, or --force on a private machine."
            )
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=USERNAME,
            defaults={"email": "admin@example.com", "is_staff": True, "is_superuser": True},
        )
        if created:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        elif not (user.is_staff and user.is_superuser and user.is_active):
            user.is_staff = user.is_superuser = user.is_active = True
            user.save(update_fields=["is_staff", "is_superuser", "is_active"])
        if user.check_password(PASSWORD):
            self.stdout.write(f"demo admin: username {USERNAME}, password {PASSWORD}")
        else:
            # Someone changed it on purpose: leave it, and say so.
            self.stdout.write(
                f"demo admin: username {USERNAME} (its password was changed from the demo "
                f"one; reset it with `manage.py changepassword {USERNAME}`)"
            )
