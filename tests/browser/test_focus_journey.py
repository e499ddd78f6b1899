"""A focus period's life in a real browser: a manager proposes a stability focus with its
trade-off (a mistake first), an admin sends it back with a comment, the manager edits it and
proposes it again, the admin aligns it, and a manager revisits it and closes it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from apps.focus.models import FocusPeriod
from apps.focus.services import focus_kinds_ensure_builtin
from apps.teams.models import Membership
from tests.browser.conftest import assert_clean, screenshot
from tests.factories import AdminFactory, MembershipFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_out(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")


def test_a_focus_is_proposed_sent_back_edited_aligned_and_closed(page, live_server, login):
    focus_kinds_ensure_builtin()  # an earlier journey's flush may have removed them
    team = TeamFactory(name="Payments", slug="payments")
    manager = MembershipFactory(
        team=team, role=Membership.Role.MANAGER, user__username="maria.manager"
    ).user
    admin = AdminFactory(username="dana.director")
    focus_url = f"{live_server.url}/teams/payments/focus/"
    starts = timezone.localdate() - dt.timedelta(days=28)

    # The manager proposes; first without saying why.
    login(page, live_server, manager)
    page.goto(focus_url)
    page.get_by_role("button", name="Propose a focus").click()
    form = page.locator("#focus-form")
    form.get_by_label("Focus", exact=True).select_option(label="Stability")
    form.get_by_label("Starts on").fill(starts.isoformat())
    form.get_by_label("Signal 1: metric").select_option("time_to_restore")
    form.get_by_label("Signal 1: comparator").select_option("<")
    form.get_by_label("Signal 1: target").fill("4 h")
    form.get_by_label("Deployment frequency").check()
    form.get_by_label("Why the team accepts it").fill("Fewer deploys while we add canaries.")
    form.get_by_role("button", name="Propose", exact=True).click()
    page.get_by_text("Say why the team chose this focus.").first.wait_for()
    assert page.locator("#focus-form").get_by_label("Signal 1: target").input_value() == "4 h"
    screenshot(page, "focus-propose-error")

    form = page.locator("#focus-form")
    form.get_by_label("Why this focus, now?").fill("Three SEV1s last month.")
    form.get_by_role("button", name="Propose", exact=True).click()
    page.get_by_text("Waiting for sign-off by an admin").first.wait_for()
    period = FocusPeriod.objects.get(team=team)
    assert period.status == FocusPeriod.Status.PROPOSED
    assert period.tradeoff_metrics == ["deployment_frequency"]
    log_out(page)

    # The admin sends it back with a comment.
    login(page, live_server, admin)
    page.goto(focus_url)
    page.get_by_role("button", name="Align or send back").click()
    page.get_by_label("Send it back to the manager with a comment").check()
    page.get_by_role("textbox", name="Your comment").fill(
        "Add a change failure rate signal, please."
    )
    page.get_by_role("button", name="Record the decision").click()
    page.get_by_text("Sent back to the team's managers").wait_for()
    log_out(page)

    # The manager sees the comment, edits and proposes again.
    login(page, live_server, manager)
    page.goto(focus_url)
    page.get_by_text("Add a change failure rate signal, please.").first.wait_for()
    page.get_by_role("button", name="Edit and propose again").click()
    form = page.locator("#focus-form")
    form.get_by_label("Signal 2: metric").select_option("change_failure_rate")
    form.get_by_label("Signal 2: comparator").select_option("<=")
    form.get_by_label("Signal 2: target").fill("10 %")
    form.get_by_role("button", name="Save and propose").click()
    page.get_by_text("proposed again for sign-off").wait_for()
    log_out(page)

    # The admin aligns it.
    login(page, live_server, admin)
    page.goto(focus_url)
    page.get_by_role("button", name="Align or send back").click()
    page.get_by_label("Align: sign it off").check()
    page.get_by_role("textbox", name="Your comment").fill("Agreed in our 1:1.")
    page.get_by_role("button", name="Record the decision").click()
    page.get_by_text("the sign-off is recorded").wait_for()
    period.refresh_from_db()
    assert (period.status, period.aligned_by) == (FocusPeriod.Status.ALIGNED, admin)
    log_out(page)

    # The revisit date has come: the manager revisits and closes it, with the numbers shown.
    login(page, live_server, manager)
    page.goto(focus_url)
    page.get_by_text("Revisit due").first.wait_for()
    screenshot(page, "focus-page-revisit-due")
    page.get_by_role("button", name="Revisit", exact=True).click()
    page.get_by_role("heading", name="So far:").wait_for()
    page.get_by_label("Close it: end it today").check()
    page.get_by_role("button", name="Record the decision").click()
    page.get_by_text("Say in a sentence why").first.wait_for()
    page.get_by_role("textbox", name="Note").fill("Recovery is under 4 h; back to throughput next.")
    page.get_by_role("button", name="Record the decision").click()
    page.get_by_text("Focus closed.").wait_for()
    period.refresh_from_db()
    assert (period.status, period.ends_on) == (FocusPeriod.Status.CLOSED, timezone.localdate())
    for words in ("Proposed", "Sent back", "Edited", "Aligned", "Closed"):
        page.locator(".focus-history").get_by_text(words, exact=True).first.wait_for()
    screenshot(page, "focus-period-history")
    assert_clean(page)


def test_picking_knowledge_sharing_fills_the_bus_factor_signal(page, live_server, login):
    focus_kinds_ensure_builtin()
    team = TeamFactory(name="Search", slug="search")
    manager = MembershipFactory(
        team=team, role=Membership.Role.MANAGER, user__username="sam.manager"
    ).user
    login(page, live_server, manager)
    page.goto(f"{live_server.url}/teams/search/focus/propose/")
    form = page.locator("#focus-form")
    # A kind without a default signal leaves the rows as they are.
    form.get_by_label("Focus", exact=True).select_option(label="Stability")
    form.get_by_label("Signal 1: metric").select_option("lead_time")
    form.get_by_label("Focus", exact=True).select_option(label="Knowledge sharing")
    page.wait_for_load_state("networkidle")
    assert form.get_by_label("Signal 1: metric").input_value() == "lead_time"  # typed: kept
    form.get_by_label("Signal 1: metric").select_option("")
    form.get_by_label("Focus", exact=True).select_option(label="Stability")
    page.wait_for_load_state("networkidle")
    form.get_by_label("Focus", exact=True).select_option(label="Knowledge sharing")
    metric = form.get_by_label("Signal 1: metric")
    page.wait_for_function(
        "() => document.querySelector('[name=signal_1_metric]').value === 'bus_factor'"
    )
    assert metric.input_value() == "bus_factor"
    assert form.get_by_label("Signal 1: comparator").input_value() == ">="
    assert form.get_by_label("Signal 1: target").input_value() == "2"
    screenshot(page, "focus-propose-knowledge-sharing")
    assert_clean(page)
