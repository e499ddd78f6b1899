from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite lacks the functions the metrics' SQL uses (percentiles, week starts): register
    them on every new connection, so both databases run the same queries."""
    if connection.vendor != "sqlite":
        return
    from apps.metrics import sql

    sql.register_sqlite(connection.connection)


class MetricsConfig(AppConfig):
    name = "apps.metrics"
    label = "metrics"

    def ready(self) -> None:
        connection_created.connect(register_sqlite_functions, dispatch_uid="execdash-sqlite-fns")
