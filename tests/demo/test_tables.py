"""The demo tables agree with each other: a typo in a slug or a focus key fails here, not as
a team silently seeded without its rationale, signals or rhythm."""

from __future__ import annotations

from apps.demo.focus import FOCUS_TABLE, RATIONALES, SIGNALS, _by_focus, focus_plans_for
from apps.demo.organization import OPEN_INCIDENTS, PROFILES, RHYTHM, STAFF, TEAMS, profile_for
from apps.demo.outcomes import OUTCOME_TABLE
from apps.focus.models import FocusKind

SLUGS = {slug for slug, _, _ in TEAMS}


def test_every_named_team_has_its_people_rhythm_focus_and_outcomes() -> None:
    assert set(STAFF) == SLUGS
    assert set(RHYTHM) == SLUGS
    assert set(OPEN_INCIDENTS) <= SLUGS
    assert {team for team, *_ in FOCUS_TABLE} == SLUGS
    assert {team for team, _ in OUTCOME_TABLE} == SLUGS
    for profile in PROFILES:
        assert len(profile.deployer_weights) == len(profile.people), profile.slug
        assert profile.focus, profile.slug
        assert profile.outcomes, profile.slug


def test_every_rationale_and_signal_belongs_to_a_planned_focus() -> None:
    planned = {f"{team}/{kind}" for team, kind, *_ in FOCUS_TABLE}
    assert set(_by_focus(RATIONALES)) == planned
    assert set(_by_focus(SIGNALS)) <= planned
    builtin = {FocusKind.STABILITY, FocusKind.THROUGHPUT, FocusKind.KNOWLEDGE_SHARING}
    assert {kind for _, kind, *_ in FOCUS_TABLE} <= builtin


def test_focus_plans_read_the_texts_in_order() -> None:
    stability, throughput = focus_plans_for("payments")
    assert stability.rationale == "Two SEV1 payment outages last quarter; recover first."
    assert stability.signals == (
        ("time_to_restore", "median < 1 h"),
        ("change_failure_rate", "≤ 5 %"),
    )
    assert throughput.signals[1] == ("lead_time", "median < 1 day")
    (identity,) = focus_plans_for("identity")
    assert identity.signals == ()


def test_teams_beyond_the_named_ones_are_numbered() -> None:
    assert profile_for(0).slug == "payments"
    extra = profile_for(len(PROFILES))
    assert extra.slug == f"team-{len(PROFILES) + 1}"
    assert extra.focus
