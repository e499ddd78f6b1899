from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Uploaded files go to a directory of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def inline_worker(monkeypatch):  # type: ignore[no-untyped-def]
    """The import tasks run in this process as soon as they are scheduled, with or without
    a broker configured (the PostgreSQL pass has one, and no worker for these tests)."""
    from apps.imports import services, tasks

    def schedule(stage: str, job_id: int) -> None:
        (tasks.check_import if stage == "check" else tasks.run_import).run(job_id)

    monkeypatch.setattr(services, "_schedule", schedule)
