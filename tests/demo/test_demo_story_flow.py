"""The demo tells its story at first glance (default `seed_demo`, default range): a team
with a service whose bus factor is 1, and a team with a throughput focus and a stability
warning."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from apps.dashboard.charts.knowledge import knowledge_of
from apps.dashboard.forms import DateRangeForm
from apps.dashboard.views.common import today
from apps.focus.models import FocusKind
from apps.focus.selectors import current_focus_by_team
from apps.focus.stability import stability_warnings
from apps.metrics.selectors import service_work, window_metrics
from apps.teams.models import Team

pytestmark = pytest.mark.django_db


def test_default_demo_shows_a_lone_expert_and_a_risky_throughput_focus() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    date_range = DateRangeForm(None, today=today()).date_range()
    start, end = date_range.start, date_range.end

    mobile = Team.objects.get(slug="mobile")
    knowledge = knowledge_of(service_work(team=mobile, start=start, end=end), show_names=True)
    assert knowledge.bus_factor == 1
    assert any(w.startswith("Only ben.mobile did at least half of") for w in knowledge.warnings)

    growth = Team.objects.get(slug="growth")
    focus = current_focus_by_team([growth.id], today())[growth.id]
    assert focus.kind.slug == FocusKind.THROUGHPUT
    warnings = stability_warnings(focus, window_metrics(team=growth, start=start, end=end))
    assert warnings
    assert warnings[0].startswith("Throughput focus while change failure rate is")
