"""The outcome pages: who may read and write what (plain and htmx), the forms, the paste
preview, the empty states and what the outcome-vs-output page shows."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.metrics.rollups import rollups_process_dirty, rollups_recompute_all
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.outcomes.services import outcome_create
from tests.core.personas import Personas, client_for
from tests.factories import FocusPeriodFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
HX_CONTENT = {"HX-Request": "true", "HX-Target": "content"}


@pytest.fixture
def world(people: Personas):
    """Payments with an outcome laddering up to the organization's NPS; Search with one of
    its own; a focus period and releases for Payments; rollups computed."""
    nps = outcome_create(team=None, name="Customer NPS", baseline=31, target=40, unit="points")
    conversion = outcome_create(
        team=people.team,
        name="Checkout <b>conversion</b>",
        baseline=2.0,
        target=3.0,
        unit="%",
        parent=nps,
    )
    search = outcome_create(team=people.other_team, name="Click-through", baseline=30, target=36)
    today = timezone.localdate()
    for weeks_ago, value in ((8, 2.1), (4, 2.3), (1, 2.6)):
        OutcomeMeasurement.objects.create(
            outcome=conversion, measured_on=today - dt.timedelta(weeks=weeks_ago), value=value
        )
    FocusPeriodFactory(team=people.team, starts_on=today - dt.timedelta(days=40))
    for d in range(5):
        ReleaseFactory(team=people.team, deployed_at=timezone.now() - dt.timedelta(days=3 + d * 6))
    rollups_recompute_all()
    return {"nps": nps, "conversion": conversion, "search": search}


def _get(user, url, **headers):
    return client_for(user).get(url, headers=headers)


# --- the outcome-vs-output page ---------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, HX_CONTENT])
@pytest.mark.parametrize("who", ["member", "manager", "admin", "outsider"])
def test_everyone_reads_the_page_and_sees_only_their_teams(people, world, who, headers):
    html = _get(getattr(people, who), "/outcomes/", **headers).content.decode()
    assert "Customer NPS" in html  # the organization's outcomes: everyone
    shows_payments = who in ("member", "manager", "admin")
    assert ('data-team="payments"' in html) is shows_payments
    assert ("Checkout &lt;b&gt;conversion&lt;/b&gt;" in html) is shows_payments
    assert ('data-team="search"' in html) is (who in ("admin", "outsider"))
    if headers:
        assert html.lstrip().startswith('<div id="content"')
        assert "<html" not in html
    else:
        assert "<html" in html
        assert 'aria-current="page">Outcomes<' in html


def test_the_page_charts_progress_against_output_with_focus_bands(people, world):
    html = _get(people.member, "/outcomes/?range=13w").content.decode()
    conversion = world["conversion"]
    found = re.search(
        rf'<script id="figure-outcome-{conversion.pk}" type="application/json">(.*?)</script>',
        html,
        re.S,
    )
    assert found
    figure = json.loads(found.group(1))
    progress = next(t for t in figure["data"] if t["name"] == "progress")
    assert progress["y"] == [10.0, 30.0, 60.0]  # 2.1, 2.3, 2.6 from 2.0 toward 3.0
    releases = next(t for t in figure["data"] if t["name"] == "releases")
    assert releases["yaxis"] == "y2"
    assert sum(releases["y"]) == 5
    assert figure["layout"]["shapes"][0]["type"] == "rect"  # the focus band, behind
    # User text is data, never HTML: escaped in the figure, and in the summary.
    assert figure["layout"]["title"]["text"] == "Checkout &lt;b&gt;conversion&lt;/b&gt;"
    assert "60 % of the way" in html
    assert "Team outcomes that ladder up to it" in html
    assert "5 releases" in html  # the text summary for screen readers


def test_the_range_control_is_carried_by_the_url(people, world):
    html = _get(people.member, "/outcomes/?range=4w", **HX_CONTENT).content.decode()
    assert "Last 4 weeks" in html
    assert 'hx-get="?range=26w"' in html
    bad = _get(people.member, "/outcomes/?start=2026-13-01&end=x").content.decode()
    assert 'id="range-error"' in bad


def test_a_team_without_outcomes_says_what_an_outcome_is(people):
    html = _get(people.manager, "/outcomes/").content.decode()
    assert "has no outcome yet. An outcome is the result the team exists to move" in html
    assert "/outcomes/new/?team=payments" in html
    member_html = _get(people.member, "/outcomes/").content.decode()
    assert "/outcomes/new/?team=payments" not in member_html  # members do not create


def test_the_busy_not_moving_flag_is_said_in_words(people, world):
    from apps.outcomes.models import TeamOutcomeFlag

    TeamOutcomeFlag.objects.filter(team=people.team).update(
        busy_not_moving=True, releases_recent=12, releases_before=10, outcomes=1
    )
    html = _get(people.member, "/outcomes/").content.decode()
    assert "Busy, not moving:" in html
    assert "12 releases" in html
    assert "none of its 1 outcome progressed" in html


# --- an outcome's page ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        HX,
        {"HX-Request": "true", "HX-Target": "measurements"},
        {"HX-Request": "true", "HX-Target": "paste-panel"},
    ],
)
def test_an_outcome_page_permissions(people, world, headers):
    url = reverse("outcomes:detail", args=[world["conversion"].pk])
    for who, status in (("member", 200), ("manager", 200), ("admin", 200), ("outsider", 404)):
        assert _get(getattr(people, who), url, **headers).status_code == status, who
    org_url = reverse("outcomes:detail", args=[world["nps"].pk])
    assert _get(people.outsider, org_url, **headers).status_code == 200
    assert _get(people.member, "/outcomes/999999/", **headers).status_code == 404


def test_the_fragments_of_an_outcome_page(people, world):
    url = reverse("outcomes:detail", args=[world["conversion"].pk])
    client = client_for(people.manager)
    listed = client.get(url, headers={"HX-Request": "true", "HX-Target": "measurements"})
    html = listed.content.decode()
    assert html.lstrip().startswith('<section id="measurements"')
    assert "<html" not in html
    assert html.count("<tr>") == 4  # the header and three measurements
    paste = client.get(url, headers={"HX-Request": "true", "HX-Target": "paste-panel"})
    assert paste.content.decode().lstrip().startswith('<form id="paste-panel"')


def test_members_read_but_do_not_get_the_forms(people, world):
    url = reverse("outcomes:detail", args=[world["conversion"].pk])
    member = _get(people.member, url).content.decode()
    manager = _get(people.manager, url).content.decode()
    assert "Record a measurement" not in member
    assert "Record a measurement" in manager
    assert "Paste measurements" in manager
    assert "Edit outcome" in manager
    assert 'data-plotly="figure-outcome-' in member


@pytest.mark.parametrize("headers", [{}, HX])
def test_writes_are_403_in_the_team_and_404_outside(people, world, headers):
    conversion, nps = world["conversion"], world["nps"]
    measure = {"measured_on": "2026-01-05", "value": "2.2"}
    paste = {"text": "2026-01-05,2.2", "action": "preview"}
    cases = [
        (reverse("outcomes:measurement", args=[conversion.pk]), measure),
        (reverse("outcomes:paste", args=[conversion.pk]), paste),
        (reverse("outcomes:edit", args=[conversion.pk]), {"name": "x"}),
    ]
    for url, data in cases:
        assert client_for(people.member).post(url, data, headers=headers).status_code == 403
        assert client_for(people.outsider).post(url, data, headers=headers).status_code == 404
        assert _get(people.outsider, url, **headers).status_code in (404, 405)
    # The organization's outcome: admins only.
    org_url = reverse("outcomes:measurement", args=[nps.pk])
    data = {"measured_on": "2026-01-05", "value": "33"}
    assert client_for(people.manager).post(org_url, data, headers=headers).status_code == 403
    assert client_for(people.admin).post(org_url, data, headers=headers).status_code in (200, 302)
    edit = reverse("outcomes:edit", args=[conversion.pk])
    assert _get(people.member, edit, **headers).status_code == 403


def test_a_manager_records_a_measurement_and_the_same_date_updates(people, world):
    conversion = world["conversion"]
    url = reverse("outcomes:measurement", args=[conversion.pk])
    day = timezone.localdate().isoformat()
    client = client_for(people.manager)
    response = client.post(url, {"measured_on": day, "value": "2.8"})
    assert response.status_code == 302
    assert response["Location"] == f"/outcomes/{conversion.pk}/"
    response = client.post(url, {"measured_on": day, "value": "2.9"}, headers=HX)
    assert response["HX-Redirect"] == f"/outcomes/{conversion.pk}/"
    assert conversion.measurements.get(measured_on=day).value == 2.9
    page = client.get(f"/outcomes/{conversion.pk}/").content.decode()
    assert f"Updated the measurement of {day}." in page
    assert "90 % of the way" in page


def test_a_bad_measurement_keeps_the_input_and_says_why(people, world):
    url = reverse("outcomes:measurement", args=[world["conversion"].pk])
    future = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    client = client_for(people.manager)
    response = client.post(url, {"measured_on": future, "value": "abc"}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps 200s only
    assert html.lstrip().startswith('<form id="measurement-form"')
    assert "Enter a number" in html
    assert 'value="abc"' in html
    response = client.post(url, {"measured_on": future, "value": "2"})
    assert response.status_code == 422
    assert "Cannot be after today" in response.content.decode()
    assert world["conversion"].measurements.count() == 3


def test_the_paste_preview_marks_bad_lines_then_imports_once_fixed(people, world):
    conversion = world["conversion"]
    url = reverse("outcomes:paste", args=[conversion.pk])
    client = client_for(people.manager)
    bad = "date,value\n2026-01-05,2.2\n2026-01-12,two\n"
    response = client.post(url, {"text": bad, "action": "import"}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert client.post(url, {"text": bad, "action": "import"}).status_code == 422
    assert html.lstrip().startswith('<form id="paste-panel"')
    assert '<tr class="bad" data-line="3">' in html
    assert "is not a number" in html
    assert "1 of 2 lines needs fixing; nothing was imported." in html
    assert conversion.measurements.count() == 3
    good = "date,value\n2026-01-05,2.2\n2026-01-12,2.25\n"
    preview = client.post(url, {"text": good, "action": "preview"}, headers=HX).content.decode()
    assert 'id="paste-import"' in preview
    assert "Import 2 measurements" in preview
    response = client.post(url, {"text": good, "action": "import"}, headers=HX)
    assert response["HX-Redirect"] == f"/outcomes/{conversion.pk}/"
    assert conversion.measurements.count() == 5
    plain = client.post(url, {"text": good, "action": "import"})
    assert plain.status_code == 302


# --- create and edit ---------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, HX])
def test_who_may_open_the_create_form(people, headers):
    for who, status in (("member", 403), ("outsider", 403), ("manager", 200), ("admin", 200)):
        assert _get(getattr(people, who), "/outcomes/new/", **headers).status_code == status, who


def _outcome_data(**extra):
    return {
        "name": "Payment success rate",
        "unit": "%",
        "direction": "up",
        "baseline": "97.2",
        "target": "98.5",
        "target_date": "2026-12-31",
        "parent": "",
        **extra,
    }


def test_a_manager_adds_an_outcome_for_their_team_only(people, world):
    client = client_for(people.manager)
    form = client.get("/outcomes/new/?team=payments").content.decode()
    assert "The whole organization" not in form  # only admins create organization outcomes
    assert "Customer NPS" in form  # a parent to choose
    response = client.post(
        "/outcomes/new/", _outcome_data(team=people.team.pk, parent=world["nps"].pk), headers=HX
    )
    outcome = Outcome.objects.get(name="Payment success rate")
    assert response["HX-Redirect"] == f"/outcomes/{outcome.pk}/"
    assert (outcome.team, outcome.parent, outcome.target_date) == (
        people.team,
        world["nps"],
        dt.date(2026, 12, 31),
    )
    # Another team, or none: refused in words, nothing saved.
    for team in (people.other_team.pk, ""):
        response = client.post("/outcomes/new/", _outcome_data(team=team, name="Other"), headers=HX)
        assert response.status_code == 200
        assert 'id="outcome-form"' in response.content.decode()
    assert not Outcome.objects.filter(name="Other").exists()


def test_service_errors_come_back_on_the_fields(people, world):
    client = client_for(people.manager)
    response = client.post(
        "/outcomes/new/",
        _outcome_data(team=people.team.pk, baseline="10", target="5", direction="up"),
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "the target must be above the baseline" in html
    assert 'value="Payment success rate"' in html


def test_an_admin_adds_an_organization_outcome_and_edits_a_team_outcome(people, world):
    client = client_for(people.admin)
    response = client.post("/outcomes/new/", _outcome_data(team="", name="Revenue"))
    revenue = Outcome.objects.get(name="Revenue")
    assert response.status_code == 302
    assert revenue.team is None
    url = reverse("outcomes:edit", args=[world["search"].pk])
    assert client.get(url, headers=HX).status_code == 200
    response = client.post(url, _outcome_data(name="Click-through rate", parent=revenue.pk))
    assert response.status_code == 302
    world["search"].refresh_from_db()
    assert (world["search"].name, world["search"].parent) == ("Click-through rate", revenue)


def test_a_manager_edits_their_outcome(people, world):
    client = client_for(people.manager)
    url = reverse("outcomes:edit", args=[world["conversion"].pk])
    form = client.get(url).content.decode()
    assert 'value="Checkout &lt;b&gt;conversion&lt;/b&gt;"' in form
    response = client.post(url, _outcome_data(name="Conversion", baseline="2", target="3"))
    assert response.status_code == 302
    world["conversion"].refresh_from_db()
    assert world["conversion"].name == "Conversion"


def test_an_organization_outcome_has_no_parent_to_choose(people, world):
    client = client_for(people.admin)
    url = reverse("outcomes:edit", args=[world["nps"].pk])
    assert 'name="parent"' not in client.get(url).content.decode()
    response = client.post(url, _outcome_data(name="Customer NPS", baseline="31", target="45"))
    assert response.status_code == 302
    world["nps"].refresh_from_db()
    assert world["nps"].target == 45


def test_a_long_ladder_lists_the_furthest_from_target_and_counts_the_rest(people):
    from apps.dashboard.selectors.outcomes import LADDER_LISTED
    from apps.outcomes.answers import outcome_status_refresh

    nps = outcome_create(team=None, name="Customer NPS", baseline=31, target=40)
    today = timezone.localdate()
    progress = {}
    for n in range(LADDER_LISTED + 4):
        child = outcome_create(
            team=people.team, name=f"Outcome {n:02d}", baseline=0, target=100, parent=nps
        )
        value = 100 if n == 0 else 10 * (n % 9)  # one reached its target
        OutcomeMeasurement.objects.create(outcome=child, measured_on=today, value=value)
        outcome_status_refresh(outcome=child)
        progress[child.name] = value
    html = _get(people.admin, "/outcomes/").content.decode()
    ladder = html.split('<ul class="ladder">')[1].split("</ul>")[0]
    listed = re.findall(r">(Outcome \d\d)</a>", ladder)
    assert len(listed) == LADDER_LISTED
    furthest = sorted(progress, key=lambda name: (progress[name], name))[:LADDER_LISTED]
    assert listed == furthest
    assert "(12, 1 at their target; the 8 furthest from it listed)" in html
    assert "and 4 more team outcomes: every team's outcomes are in its section below." in html


def test_outcome_chart_json_escaped_once_is_what_json_script_writes(people, world, settings):
    pages = {}
    for once in (True, False):
        settings.EXECDASH_CHART_JSON_ONCE = once
        pages[once] = [
            re.findall(
                r'<script id="figure-[^"]+" type="application/json">.*?</script>',
                _get(people.admin, path).content.decode(),
                re.S,
            )
            for path in ("/outcomes/", f"/outcomes/{world['conversion'].pk}/")
        ]
    assert pages[True] == pages[False]
    assert all(len(scripts) >= 1 for scripts in pages[True])


def test_a_cached_team_section_follows_every_write_it_shows(people, world, settings):
    from django.core.cache import cache

    from apps.focus.models import FocusPeriod
    from apps.focus.services import focus_period_close
    from apps.outcomes.services import outcome_measurement_record, outcome_update

    cache.clear()
    conversion = world["conversion"]

    def section() -> str:
        html = _get(people.admin, "/outcomes/").content.decode()
        return html.split('id="team-payments"')[1].split("</section>")[0]

    assert "60 % of the way" in section()
    assert "60 % of the way" in section()  # now from the cache
    # A measurement: the stored progress changes, and so does the section.
    outcome_measurement_record(outcome=conversion, measured_on=timezone.localdate(), value=2.8)
    assert "80 % of the way" in section()
    # An edit of the outcome itself (its target).
    outcome_update(
        outcome=Outcome.objects.get(pk=conversion.pk),
        name=conversion.name,
        baseline=2.0,
        target=4.0,
        unit="%",
    )
    assert "40 % of the way" in section()

    # A focus period's dates: its band behind the chart moves.
    def band_ends() -> list[str]:
        found = re.search(
            rf'<script id="figure-outcome-{conversion.pk}" type="application/json">(.*?)</script>',
            section(),
            re.S,
        )
        assert found
        return [shape["x1"] for shape in json.loads(found.group(1))["layout"]["shapes"]]

    before = band_ends()
    ends = timezone.localdate() - dt.timedelta(days=3)
    focus_period_close(period=FocusPeriod.objects.get(team=people.team), ends_on=ends)
    assert band_ends() != before


def test_the_cached_page_follows_releases_flags_outcomes_and_roles(people, world):
    """The whole page is cached per viewer; each of these writes shows at once."""
    from django.core.cache import cache

    from apps.outcomes.models import TeamOutcomeFlag
    from apps.releases.services import release_create
    from apps.teams.models import Membership

    cache.clear()

    def page(who) -> str:
        return _get(who, "/outcomes/").content.decode()

    def releases_drawn() -> int:
        found = re.search(
            rf'<script id="figure-outcome-{world["conversion"].pk}" '
            r'type="application/json">(.*?)</script>',
            page(people.manager),
            re.S,
        )
        assert found
        figure = json.loads(found.group(1))
        return sum(next(t for t in figure["data"] if t["name"] == "releases")["y"])

    assert releases_drawn() == 5
    assert releases_drawn() == 5  # from the cache
    # A release, and the worker's recompute of its week: the team's bars follow.
    release_create(
        team=people.team,
        service="api",
        version="9.9",
        deployed_at=timezone.now() - dt.timedelta(days=3, hours=1),
    )
    rollups_process_dirty()
    assert releases_drawn() == 6
    # The worker's flag.
    assert 'data-flag="busy-not-moving"' not in page(people.manager)
    TeamOutcomeFlag.objects.filter(team=people.team).update(
        busy_not_moving=True, computed_at=timezone.now()
    )
    assert 'data-flag="busy-not-moving"' in page(people.manager)
    # A new outcome of another team, seen by the admin only.
    assert "Search latency" not in page(people.admin)
    outcome_create(
        team=people.other_team,
        name="Search latency",
        baseline=900,
        target=300,
        direction=Outcome.Direction.DOWN,
    )
    assert "Search latency" in page(people.admin)
    # A member made manager may now add outcomes.
    add = '<a role="button" class="outline" href="/outcomes/new/">Add an outcome</a>'
    assert add not in page(people.member)
    Membership.objects.filter(user=people.member).update(role=Membership.Role.MANAGER)
    assert add in page(people.member)
