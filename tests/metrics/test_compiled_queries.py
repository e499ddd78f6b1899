"""The metric queries compiled once per shape (EXECDASH_COMPILED_QUERIES) give the answers
of queries compiled on every call, and the setting turns the reuse off."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db.models.sql.query import Query

from apps.metrics import compute, selectors
from apps.metrics.rollups import rollups_recompute_all
from tests.metrics import handmade
from tests.metrics.handmade import END, START

pytestmark = pytest.mark.django_db


def _windows(history):
    team_ids = [history["payments"].id, history["search"].id]
    return selectors._compute_windows(team_ids=team_ids, start=START, end=END)


def _compiled_while(call):
    real = Query.sql_with_params
    with mock.patch.object(Query, "sql_with_params", autospec=True, side_effect=real) as spy:
        result = call()
    return result, spy.call_count


def test_compiled_queries_give_the_same_answers_and_can_be_turned_off(settings) -> None:
    history = handmade.build()
    settings.EXECDASH_COMPILED_QUERIES = True
    reused = _windows(history)
    again, compiled = _compiled_while(lambda: _windows(history))
    assert again == reused
    assert compiled == 0  # every shape was compiled by the first call
    settings.EXECDASH_COMPILED_QUERIES = False
    fresh, compiled = _compiled_while(lambda: _windows(history))
    assert fresh == reused
    assert compiled >= 4  # releases, incidents, recovery, bus factor


def test_every_shape_the_metrics_use_is_reused(settings) -> None:
    """No query of the windows, samples or rollups falls back to compiling on every call."""
    settings.EXECDASH_COMPILED_QUERIES = True
    history = handmade.build()
    compute._compiled.clear()
    _windows(history)
    selectors.window_samples(team_ids=[history["payments"].id], start=START, end=END)
    rollups_recompute_all()
    assert compute._compiled
    assert [shape for shape, compiled in compute._compiled.items() if compiled is None] == []
