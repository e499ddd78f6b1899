"""The metric queries compiled once per shape (EXECDASH_COMPILED_QUERIES) give the answers
of queries compiled on every call, and the setting turns the reuse off."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db.models.sql.query import Query

from apps.metrics import selectors
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
