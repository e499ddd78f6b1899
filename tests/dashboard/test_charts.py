from __future__ import annotations

import datetime as dt
import json
import re
from types import SimpleNamespace

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from apps.dashboard import charts

START = dt.date(2025, 1, 6)  # a Monday
END = START + dt.timedelta(weeks=13)
EVIL = "<img src=x onerror=alert(1)>"


def _period(kind_slug, name, starts_on, ends_on=None):
    return SimpleNamespace(
        kind=SimpleNamespace(slug=kind_slug, name=name), starts_on=starts_on, ends_on=ends_on
    )


def _weeks():
    mondays = [START + dt.timedelta(weeks=i) for i in range(13)]
    rows = [
        SimpleNamespace(
            week_start=mondays[2],
            deployments=10,
            failed_deployments=2,
            ttr_median=5400.0,
            ttr_p90=9000.0,
            ttr_n=4,
            lead_median=7200.0,
            lead_p90=86400.0,
            lead_n=9,
        )
    ]
    return charts.dense_weeks(rows, mondays)


def _markers():
    return [
        charts.Marker(
            kind="incident",
            at=dt.datetime(2025, 2, 3, 14, 5, tzinfo=dt.UTC),
            title=EVIL,
            detail="SEV1 · <b>api</b>",
            url="/teams/a/incidents/1/",
        ),
        charts.Marker(
            kind="failed_release",
            at=dt.datetime(2025, 2, 4, 9, 0, tzinfo=dt.UTC),
            title=f"checkout {EVIL}",
            url="/teams/a/releases/2/",
        ),
    ]


def _all_charts(bands):
    return charts.team_charts(
        weeks=_weeks(), bands=bands, markers=_markers(), start=START, end=END, tz=dt.UTC
    )


def test_dense_weeks_fills_missing_weeks_with_no_activity():
    weeks = _weeks()
    assert len(weeks) == 13
    assert weeks[0].deployments == 0
    assert weeks[0].ttr_median is None  # unknown, never 0
    assert weeks[2].change_failure_rate == pytest.approx(0.2)
    assert weeks[0].change_failure_rate is None


def test_focus_bands_are_clipped_to_the_range_and_skip_periods_outside_it():
    periods = [
        _period("stability", "Stability", START - dt.timedelta(days=30), START + dt.timedelta(3)),
        _period("throughput", "Throughput", START + dt.timedelta(days=4)),  # current
        _period("stability", "Stability", START - dt.timedelta(days=90), START - dt.timedelta(60)),
    ]
    bands = charts.focus_bands(periods, START, END)
    assert [(b.label, b.start, b.end) for b in bands] == [
        ("Stability", START, START + dt.timedelta(days=4)),  # ends_on inclusive
        ("Throughput", START + dt.timedelta(days=4), END),
    ]
    assert bands[1].current


def test_every_chart_draws_one_band_and_one_label_per_focus_period():
    bands = [
        charts.Band(START, START + dt.timedelta(days=20), "Stability", "stability"),
        charts.Band(START + dt.timedelta(days=20), END, "Throughput", "throughput"),
    ]
    for chart in _all_charts(bands):
        layout = chart.figure["layout"]
        rects = [s for s in layout["shapes"] if s["type"] == "rect"]
        assert len(rects) == 2
        assert all(s["layer"] == "below" for s in rects)
        assert rects[0]["x0"] == START.isoformat()
        labels = [a["text"] for a in layout["annotations"]]
        assert labels == ["Stability", "Throughput"]
        assert layout["xaxis"]["range"] == [START.isoformat(), END.isoformat()]
        assert "Focus: Stability from 6 Jan 2025" in chart.summary


def test_failed_releases_and_severe_incidents_are_marked_once_for_all_charts():
    built = _all_charts([])
    traces = {t["name"]: t for t in built.markers}
    incident = traces["SEV1/SEV2 incident"]
    release = traces["failed release"]
    assert incident["mode"] == "markers"
    assert incident["yaxis"] == "y9"
    assert incident["customdata"] == ["/teams/a/incidents/1/"]
    assert release["customdata"] == ["/teams/a/releases/2/"]
    assert incident["x"] == ["2025-02-03T14:05"]
    assert "3 Feb 2025 14:05" in incident["text"][0]
    assert json.dumps(built.markers).count("/teams/a/incidents/1/") == 1
    assert len(built) == 4
    for chart in built:
        # Each figure leaves the markers to the shared list but keeps their strip and says
        # what they are in its text summary.
        names = {t["name"] for t in chart.figure["data"]}
        assert not names & {"SEV1/SEV2 incident", "failed release"}
        assert "/teams/a/incidents/1/" not in json.dumps(chart.figure)
        assert "yaxis9" in chart.figure["layout"]
        assert "1 SEV1/SEV2 incident and 1 failed release marked" in chart.summary


def test_user_text_is_escaped_before_it_reaches_the_figure():
    bands = [charts.Band(START, END, EVIL, "custom")]
    built = _all_charts(bands)
    for chart in built:
        dumped = json.dumps(chart.figure, cls=DjangoJSONEncoder)
        assert "<img" not in dumped
        assert "&lt;img src=x onerror=alert(1)&gt;" in dumped
    markers = json.dumps(built.markers, cls=DjangoJSONEncoder)
    assert "<img" not in markers
    assert "&lt;img src=x onerror=alert(1)&gt;" in markers
    assert "&lt;b&gt;api&lt;/b&gt;" in markers


def test_time_to_restore_chart_has_median_p90_dashed_and_n_in_the_hover():
    chart = _all_charts([]).charts[0]
    traces = {t["name"]: t for t in chart.figure["data"]}
    assert traces["median"]["y"][2] == 1.5  # hours
    assert traces["median"]["y"][0] is None  # a gap, not 0
    assert traces["p90"]["line"]["dash"] == "dash"
    assert "n = 4" in traces["median"]["text"][2]
    assert "1 h 30 min" in chart.summary


def test_change_failure_rate_chart_stacks_failed_on_succeeded_with_a_rate_line():
    chart = _all_charts([]).charts[1]
    layout = chart.figure["layout"]
    traces = {t["name"]: t for t in chart.figure["data"]}
    assert layout["barmode"] == "stack"
    assert traces["succeeded"]["y"][2] == 8
    assert traces["failed"]["y"][2] == 2
    assert traces["failure rate"]["y"][2] == 20.0
    assert traces["failure rate"]["yaxis"] == "y2"
    assert "2 of 10 deployments failed" in chart.summary
    assert "(20 %)" in chart.summary


def test_figures_serialize_to_plain_json():
    for chart in _all_charts([charts.Band(START, END, "Stability", "stability")]):
        json.dumps(chart.figure)  # no numpy arrays, no dates left


def test_sparkline_is_a_small_svg_with_gaps_and_a_label():
    svg = charts.sparkline_svg([1.0, 2.0, None, 4.0, 3.0], label="deploys <b>")
    assert svg.startswith("<svg")
    assert svg.count("<polyline") == 2
    assert 'aria-label="deploys &lt;b&gt;"' in svg
    assert len(svg) < 600


def test_sparkline_without_data_says_so():
    svg = charts.sparkline_svg([None, None], label="lead time")
    assert "no data" in svg
    assert "<polyline" not in svg


def test_sparkline_of_a_flat_series_is_a_flat_line():
    svg = charts.sparkline_svg([3.0, 3.0, 3.0], label="x")
    assert 'points="2.0,12.0 48.0,12.0 94.0,12.0"' in svg


def test_figures_and_markers_reach_the_page_escaped_by_json_script():
    from django.template.loader import render_to_string

    built = _all_charts([charts.Band(START, END, "</script><b>&", "custom")])
    page = render_to_string(
        "dashboard/team.html#charts",
        {"charts": built, "date_range": SimpleNamespace(query="range=13w")},
    )
    assert page.count("</script>") == 5  # four figures and the markers, none closed early
    assert "<b>&" not in page
    scripts = re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', page)
    found = {script_id: json.loads(body) for script_id, body in scripts}
    assert found[built.markers_json_id] == json.loads(
        json.dumps(built.markers, cls=DjangoJSONEncoder)
    )
    for chart in built:
        assert found[chart.json_id] == json.loads(json.dumps(chart.figure, cls=DjangoJSONEncoder))


@pytest.mark.parametrize("once", [True, False])
def test_chart_json_escaped_once_is_what_json_script_writes(settings, once):
    from django.template.loader import render_to_string

    from apps.dashboard.page_cache import with_script_json

    settings.EXECDASH_CHART_JSON_ONCE = once
    built = _all_charts([charts.Band(START, END, "</script><b>&", "custom")])
    cached = with_script_json(built)
    assert bool(cached.markers_json) is once
    context = {"date_range": SimpleNamespace(query="range=13w")}
    page = render_to_string("dashboard/team.html#charts", {"charts": cached, **context})
    assert page == render_to_string("dashboard/team.html#charts", {"charts": built, **context})
