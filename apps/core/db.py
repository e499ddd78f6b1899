"""Database functions that PostgreSQL has and SQLite lacks, registered on each connection."""

from __future__ import annotations

from typing import Any

from django.db.backends.signals import connection_created
from django.dispatch import receiver


@receiver(connection_created)
def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "sqlite":
        return
    # Filled in by apps.metrics.sql: percentile and seconds-between functions.
    from apps.metrics import sql

    sql.register_sqlite(connection.connection)
