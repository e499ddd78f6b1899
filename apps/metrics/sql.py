"""SQL building blocks for metrics, identical in result on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any


def register_sqlite(raw_connection: Any) -> None:
    """Register the SQLite functions and aggregates the metric queries use."""
