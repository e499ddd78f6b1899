"""Send today's focus reminders (what beat does every morning), e.g. from cron."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.focus.reminders import focus_reminders_send


class Command(BaseCommand):
    help = "Email today's focus revisit and sign-off reminders (at most once a day each)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = focus_reminders_send()
        self.stdout.write(
            f"{report.decided} reminder(s) sent, {report.skipped} already sent today."
        )
