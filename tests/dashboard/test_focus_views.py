"""The focus pages: who may see and do what (plain and htmx), and each step in the browser's
terms — errors next to fields with what was typed kept, the overlap named with a link, the
history on the period's page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.focus.models import FocusEvent, FocusKind, FocusPeriod
from apps.focus.services import focus_period_align, focus_period_propose
from apps.metrics.rollups import rollups_recompute_all
from tests.core.personas import HTMX, Personas, client_for
from tests.factories import FocusPeriodFactory, focus_kind

pytestmark = pytest.mark.django_db
Status = FocusPeriod.Status


@pytest.fixture
def people() -> Personas:
    return Personas.make()


def today() -> dt.date:
    return timezone.localdate()


def proposal(**overrides: Any) -> dict[str, Any]:
    data = {
        "kind": focus_kind("stability").pk,
        "starts_on": today().isoformat(),
        "ends_on": "",
        "rationale": "Three SEV1s last month.",
        "signal_1_metric": "time_to_restore",
        "signal_1_comparator": "<",
        "signal_1_target": "4 h",
        "tradeoff_metrics": ["deployment_frequency"],
        "tradeoff": "Fewer deploys while we add canaries.",
        "revisit_on": "",
        "note": "",
    }
    data.update(overrides)
    return data


def proposed(people: Personas, **overrides: Any) -> FocusPeriod:
    fields = {
        "team": people.team,
        "kind": focus_kind("stability"),
        "starts_on": today() - dt.timedelta(days=30),
        "rationale": "Too many pages at night.",
        "proposed_by": people.manager,
        "success_signals": [{"metric": "time_to_restore", "comparator": "<", "target": 4}],
        "tradeoff_metrics": ["deployment_frequency"],
        "tradeoff": "Fewer deploys.",
    }
    fields.update(overrides)
    return focus_period_propose(**fields)


def aligned(people: Personas, **overrides: Any) -> FocusPeriod:
    period = proposed(people, **overrides)
    focus_period_align(period=period, aligned_by=people.admin)
    period.refresh_from_db()
    return period


def as_(people: Personas, who: str) -> Client:
    return client_for(getattr(people, who))


# --- the permission matrix -------------------------------------------------------------

READ = {"member": 200, "manager": 200, "admin": 200, "outsider": 404}
MANAGE = {"member": 403, "manager": 200, "admin": 200, "outsider": 404}
ALIGN = {"member": 403, "manager": 403, "admin": 200, "outsider": 404}


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("who", ["member", "manager", "admin", "outsider"])
def test_who_may_get_each_page(people, who, htmx) -> None:
    waiting = proposed(
        people,
        starts_on=today() + dt.timedelta(days=60),
        ends_on=today() + dt.timedelta(days=90),
    )
    running = aligned(people, ends_on=today() + dt.timedelta(days=30))
    client = as_(people, who)
    headers = HTMX if htmx else {}
    slug = people.team.slug
    pages = [
        (reverse("focus:team", args=[slug]), READ),
        (reverse("focus:period", args=[slug, running.pk]), READ),
        (reverse("focus:propose", args=[slug]), MANAGE),
        (reverse("focus:edit", args=[slug, waiting.pk]), MANAGE),
        (reverse("focus:revisit", args=[slug, running.pk]), MANAGE),
    ]
    for url, expected in pages:
        response = client.get(url, headers=headers)
        assert response.status_code == expected[who], (url, who)
        if response.status_code == 200 and htmx:
            assert b"<html" not in response.content, url  # the fragment only


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("who", ["member", "manager", "admin", "outsider"])
def test_who_may_post_each_step(people, who, htmx) -> None:
    waiting = proposed(
        people,
        starts_on=today() + dt.timedelta(days=60),
        ends_on=today() + dt.timedelta(days=90),
    )
    running = aligned(people, ends_on=today() + dt.timedelta(days=30))
    client = as_(people, who)
    headers = HTMX if htmx else {}
    slug = people.team.slug
    steps = [
        (
            reverse("focus:propose", args=[slug]),
            proposal(starts_on=(today() + dt.timedelta(days=200)).isoformat()),
            MANAGE,
        ),
        (
            reverse("focus:edit", args=[slug, waiting.pk]),
            proposal(
                starts_on=waiting.starts_on.isoformat(),
                ends_on=waiting.ends_on.isoformat(),
                rationale="Sharper.",
            ),
            MANAGE,
        ),
        (reverse("focus:align", args=[slug, waiting.pk]), {"decision": "align"}, ALIGN),
        (
            reverse("focus:revisit", args=[slug, running.pk]),
            {
                "decision": "keep",
                "note": "Working.",
                "revisit_on": (today() + dt.timedelta(days=14)).isoformat(),
            },
            MANAGE,
        ),
    ]
    events = FocusEvent.objects.count()
    for url, data, expected in steps:
        response = client.post(url, data, headers=headers)
        allowed = expected[who] == 200
        if allowed:
            assert response.status_code in (200, 302), (url, who, response.content[:300])
            if htmx:
                assert response.status_code == 200
                assert response.headers.get("HX-Redirect"), (url, who)
        else:
            assert response.status_code == expected[who], (url, who)
    changed = FocusEvent.objects.count() - events
    if who == "admin":
        assert changed >= 4
    elif who == "manager":
        assert changed >= 3  # propose, edit, keep (not align)
        assert FocusPeriod.objects.get(pk=waiting.pk).status == Status.PROPOSED
    else:
        assert changed == 0


def test_a_period_of_another_team_is_a_404(people) -> None:
    theirs = FocusPeriodFactory(team=people.other_team, status=Status.ALIGNED)
    client = as_(people, "admin")
    # Looked up under the wrong team's URL: not found, even for an admin.
    url = reverse("focus:period", args=[people.team.slug, theirs.pk])
    assert client.get(url).status_code == 404
    assert (
        client.post(reverse("focus:align", args=[people.team.slug, theirs.pk])).status_code == 404
    )


# --- propose ---------------------------------------------------------------------------


def test_propose_shows_errors_in_words_and_keeps_what_was_typed(people) -> None:
    client = as_(people, "manager")
    url = reverse("focus:propose", args=[people.team.slug])
    response = client.post(
        url,
        proposal(rationale="", tradeoff="", signal_2_metric="lead_time", signal_2_target="soon"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "things to fix before saving" in page
    assert "Say why the team chose this focus." in page
    assert "Say in a sentence why the team accepts" in page
    assert "Signal 2:" in page
    assert "not a number" in page
    assert 'value="soon"' in page  # typed values are kept
    assert 'value="4 h"' in page
    assert not FocusPeriod.objects.exists()

    response = client.post(url, proposal())
    period = FocusPeriod.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("focus:period", args=[people.team.slug, period.pk])
    assert period.status == Status.PROPOSED
    assert period.proposed_by == people.manager
    assert period.revisit_on == today() + dt.timedelta(weeks=4)
    assert period.success_signals == [
        {"metric": "time_to_restore", "comparator": "<", "target": 4.0}
    ]


def test_inline_validation_saves_nothing_and_ignores_untouched_fields(people) -> None:
    client = as_(people, "manager")
    url = reverse("focus:propose", args=[people.team.slug])
    response = client.post(
        url,
        {
            "_validate": "1",
            "starts_on": today().isoformat(),
            "ends_on": "2000-01-01",
            "rationale": "",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page
    assert "The period cannot end before it starts." in page
    assert "Say why the team chose this focus." not in page  # still empty: not an error yet
    assert 'id="revisit-default"' in page
    assert (today() + dt.timedelta(weeks=4)).strftime("%-d %b %Y") in page
    assert not FocusPeriod.objects.exists()


def test_an_overlap_is_refused_next_to_the_dates_with_a_link(people) -> None:
    running = aligned(people)
    client = as_(people, "manager")
    response = client.post(reverse("focus:propose", args=[people.team.slug]), proposal())
    page = response.content.decode()
    assert response.status_code == 200
    assert f"(id {running.id})" in page
    link = reverse("focus:period", args=[people.team.slug, running.pk])
    assert f'href="{link}"' in page
    assert FocusPeriod.objects.count() == 1


def test_after_change_the_proposal_is_prefilled(people) -> None:
    running = aligned(people)
    client = as_(people, "manager")
    response = client.post(
        reverse("focus:revisit", args=[people.team.slug, running.pk]),
        {"decision": "change", "note": "Stable now; time for throughput."},
    )
    assert response.status_code == 302
    assert response.url.endswith(f"?from={running.pk}")
    running.refresh_from_db()
    assert (running.status, running.ends_on) == (Status.CLOSED, today())
    page = client.get(response.url).content.decode()
    assert (today() + dt.timedelta(days=1)).isoformat() in page
    assert "Too many pages at night." in page
    assert 'value="4 h"' in page


def signals_answer(client: Client, url: str, **overrides: Any) -> HttpResponse:
    """What the kind select asks for when a kind is picked by hand (htmx posts the form)."""
    data = proposal(signal_1_metric="", signal_1_comparator="", signal_1_target="")
    data.update({"_signals": "1", "_validate": "1", **overrides})
    return client.post(url, data, headers=HTMX)


def signals_fragment(client: Client, url: str, **overrides: Any) -> str:
    response = signals_answer(client, url, **overrides)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def nothing_to_fill(client: Client, url: str, **overrides: Any) -> bool:
    """A 204 with no body: htmx leaves the rows as they are (typed meanwhile or not)."""
    response = signals_answer(client, url, **overrides)
    return response.status_code == 204 and response.content == b""


def test_the_kind_select_asks_for_its_default_signals(people) -> None:
    url = reverse("focus:propose", args=[people.team.slug])
    page = as_(people, "manager").get(url).content.decode()
    zone = re.search(r'<div class="kind-defaults"[^>]*>', page)
    assert zone, "the kind select's wrapper posts the form for the signals fieldset"
    for attribute in (
        f'hx-post="{url}"',
        """hx-vals='{"_signals": "1"}'""",
        'hx-trigger="change"',
        'hx-target="#signals"',
        'hx-select-oob="unset"',  # not the validation zone's error slots
    ):
        assert attribute in zone.group(0)
    assert 'id="signals"' in page
    assert page.index('id="signals"') > zone.end()


def test_picking_knowledge_sharing_by_hand_fills_the_bus_factor_into_empty_rows(people) -> None:
    url = reverse("focus:propose", args=[people.team.slug])
    kind = focus_kind(FocusKind.KNOWLEDGE_SHARING)
    fragment = signals_fragment(as_(people, "manager"), url, kind=kind.pk)
    assert fragment.lstrip().startswith('<fieldset class="signals" id="signals"')
    assert "<form" not in fragment  # the fieldset alone
    assert "<html" not in fragment
    assert 'id="err-success_signals"' in fragment  # the validation keeps its slot
    assert re.search(r'<option value="bus_factor"[^>]*selected', fragment)
    assert re.search(r'<option value="&gt;="[^>]*selected', fragment)
    assert re.search(r'name="signal_1_target"[^>]*value="2"', fragment)
    # Nothing is saved or validated: no error words, no event.
    assert 'field-errors"><li>' not in fragment
    assert not FocusPeriod.objects.exists()


def test_picking_a_kind_never_overwrites_signals_already_typed(people) -> None:
    url = reverse("focus:propose", args=[people.team.slug])
    manager = as_(people, "manager")
    kind = focus_kind(FocusKind.KNOWLEDGE_SHARING)
    assert nothing_to_fill(
        manager, url, kind=kind.pk, signal_2_metric="lead_time", signal_2_target="2 days"
    )
    # A row with only a target typed counts as typed too.
    assert nothing_to_fill(manager, url, kind=kind.pk, signal_3_target="3")
    # A kind without a default leaves the empty rows empty; so does nonsense.
    for other in (focus_kind("stability").pk, "", "x", "²", "9" * 30):
        assert nothing_to_fill(manager, url, kind=other), other


def test_the_edit_form_fills_default_signals_too(people) -> None:
    waiting = proposed(people, success_signals=[])
    url = reverse("focus:edit", args=[people.team.slug, waiting.pk])
    kind = focus_kind(FocusKind.KNOWLEDGE_SHARING)
    fragment = signals_fragment(as_(people, "manager"), url, kind=kind.pk)
    assert re.search(r'<option value="bus_factor"[^>]*selected', fragment)
    waiting.refresh_from_db()
    assert waiting.kind.slug == "stability"  # nothing saved


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("who", ["member", "manager", "admin", "outsider"])
def test_who_may_ask_for_the_default_signals(people, who, htmx) -> None:
    kind = focus_kind(FocusKind.KNOWLEDGE_SHARING)
    data = proposal(signal_1_metric="", signal_1_comparator="", signal_1_target="")
    data.update({"_signals": "1", "kind": kind.pk})
    response = as_(people, who).post(
        reverse("focus:propose", args=[people.team.slug]), data, headers=HTMX if htmx else {}
    )
    assert response.status_code == MANAGE[who]
    filled = re.search(rb'<option value="bus_factor"[^>]*selected', response.content)
    assert bool(filled) is (MANAGE[who] == 200)


# --- align, send back, edit ------------------------------------------------------------


def test_send_back_needs_a_comment_the_manager_then_sees(people) -> None:
    period = proposed(people)
    admin = as_(people, "admin")
    url = reverse("focus:align", args=[people.team.slug, period.pk])
    response = admin.post(url, {"decision": "send_back", "note": ""}, headers=HTMX)
    assert response.status_code == 200
    assert "Say what should change" in response.content.decode()
    assert FocusPeriod.objects.get(pk=period.pk).status == Status.PROPOSED

    admin.post(url, {"decision": "send_back", "note": "Add a lead time signal."})
    manager = as_(people, "manager")
    team_page = manager.get(reverse("focus:team", args=[people.team.slug])).content.decode()
    assert "Sent back: waiting for a manager to edit it" in team_page
    assert "Add a lead time signal." in team_page
    edit = manager.get(reverse("focus:edit", args=[people.team.slug, period.pk])).content.decode()
    assert "Add a lead time signal." in edit
    assert "Too many pages at night." in edit

    response = manager.post(
        reverse("focus:edit", args=[people.team.slug, period.pk]),
        proposal(
            starts_on=period.starts_on.isoformat(),
            rationale="Too many pages at night.",
            signal_2_metric="lead_time",
            signal_2_comparator="<",
            signal_2_target="2 days",
        ),
    )
    assert response.status_code == 302
    period.refresh_from_db()
    assert period.status == Status.PROPOSED
    assert period.success_signals[1] == {"metric": "lead_time", "comparator": "<", "target": 48.0}

    admin.post(url, {"decision": "align", "note": "Agreed."})
    period.refresh_from_db()
    assert (period.status, period.aligned_by) == (Status.ALIGNED, people.admin)
    history = manager.get(
        reverse("focus:period", args=[people.team.slug, period.pk])
    ).content.decode()
    for words in ("Proposed", "Sent back", "Edited", "Aligned", "Agreed.", "revisit on"):
        assert words in history


def test_an_aligned_period_is_not_edited_or_aligned_again(people) -> None:
    period = aligned(people)
    admin = as_(people, "admin")
    edit = admin.get(reverse("focus:edit", args=[people.team.slug, period.pk]))
    assert edit.status_code == 302
    response = admin.post(
        reverse("focus:align", args=[people.team.slug, period.pk]), {"decision": "align"}
    )
    assert response.status_code == 200
    assert FocusEvent.objects.filter(period=period, kind="aligned").count() == 1


# --- revisit and the focus page --------------------------------------------------------


def test_revisit_shows_the_evaluation_so_far_and_closes(people) -> None:
    period = aligned(people)
    client = as_(people, "manager")
    url = reverse("focus:revisit", args=[people.team.slug, period.pk])
    page = client.get(url).content.decode()
    assert "So far: not enough data" in page
    response = client.post(url, {"decision": "close", "note": ""})
    assert response.status_code == 200
    assert "Say in a sentence why" in response.content.decode()
    response = client.post(url, {"decision": "close", "note": "Done; numbers are fine."})
    assert response.status_code == 302
    period.refresh_from_db()
    assert (period.status, period.ends_on) == (Status.CLOSED, today())
    assert period.events.last().note == "Done; numbers are fine."


def test_focus_page_says_what_is_waiting_for_whom_and_past_verdicts(people) -> None:
    past = FocusPeriodFactory(
        team=people.team,
        starts_on=today() - dt.timedelta(days=120),
        ends_on=today() - dt.timedelta(days=61),
        status=Status.CLOSED,
    )
    period = aligned(people, revisit_on=today() - dt.timedelta(days=3))
    page = (
        as_(people, "member").get(reverse("focus:team", args=[people.team.slug])).content.decode()
    )
    assert "Revisit due since 3 days" in page
    assert reverse("focus:period", args=[people.team.slug, past.pk]) in page
    assert "not enough data" in page  # the past period's verdict
    assert "Propose a focus" not in page  # a member reads
    assert reverse("focus:revisit", args=[people.team.slug, period.pk]) not in page
    manager_page = as_(people, "manager").get(reverse("focus:team", args=[people.team.slug]))
    assert (
        reverse("focus:revisit", args=[people.team.slug, period.pk])
        in manager_page.content.decode()
    )


def test_a_proposal_waiting_for_sign_off(people) -> None:
    period = proposed(people, starts_on=today())
    FocusPeriod.objects.filter(pk=period.pk).update(
        proposed_at=timezone.now() - dt.timedelta(days=4)
    )
    page = as_(people, "admin").get(reverse("focus:team", args=[people.team.slug])).content.decode()
    assert "Waiting for sign-off by an admin for 4 days" in page
    assert "Align or send back" in page


# --- the overview and the team page lead here ------------------------------------------


def test_revisit_due_chip_and_team_header_link_the_focus_page(people) -> None:
    period = aligned(people, revisit_on=today() - dt.timedelta(days=3))
    rollups_recompute_all()  # the pages cache what they build once the rollups exist
    client = as_(people, "manager")
    focus_url = reverse("focus:team", args=[people.team.slug])
    overview = client.get(reverse("teams:overview")).content.decode()
    assert f'href="{focus_url}"' in overview
    assert "revisit due" in overview
    team_page = client.get(reverse("teams:detail", args=[people.team.slug])).content.decode()
    assert f'href="{focus_url}"' in team_page

    # Closed today, the period still covers today: the cached card must drop the chip.
    client.post(
        reverse("focus:revisit", args=[people.team.slug, period.pk]),
        {"decision": "close", "note": "Done."},
    )
    overview = client.get(reverse("teams:overview")).content.decode()
    assert "revisit due" not in overview.split("more team")[0]
