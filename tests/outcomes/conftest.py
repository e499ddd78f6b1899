"""The real-worker fixtures of the integration tests, for tests/outcomes/test_worker.py."""

from __future__ import annotations

from tests.integration.conftest import worker, worker_factory

__all__ = ["worker", "worker_factory"]
