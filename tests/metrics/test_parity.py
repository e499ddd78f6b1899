"""SQLite / PostgreSQL parity: the same history gives the same answers, to the last digit.

`golden.json` holds the answers of a seeded random history (durations to the microsecond,
a non-UTC time zone). Both databases must reproduce it exactly, and it must equal the
pure-Python reading of METRICS.md. Regenerate it with
`EXECDASH_WRITE_GOLDEN=1 .venv/bin/pytest tests/metrics/test_parity.py` (SQLite).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from apps.core.timezones import org_tz
from apps.incidents.models import Incident
from apps.metrics.rollups import rollups_recompute_all
from apps.releases.models import Release
from tests.factories import TeamFactory
from tests.metrics import handmade, reference
from tests.metrics.answers import api_metrics
from tests.metrics.handmade import END, ORGANIZATION, PAYMENTS, START, without_freshness

GOLDEN = Path(__file__).with_name("golden.json")
BASE = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
WINDOWS = [
    (dt.date(2026, 1, 5), dt.date(2026, 4, 6)),
    (dt.date(2026, 2, 1), dt.date(2026, 3, 3)),
    (dt.date(2026, 3, 23), dt.date(2026, 3, 30)),  # the DST week in Berlin
]


def seeded_history() -> tuple[list[Any], list[Any]]:
    rng = random.Random(20260105)
    teams = [TeamFactory(slug=slug, name=slug.title()) for slug in ("payments", "search")]
    people = ["ann", "bob", "cat", "dan", ""]

    def moment() -> dt.datetime:
        return BASE + dt.timedelta(microseconds=rng.randrange(91 * 86_400 * 10**6))

    releases = []
    for i in range(300):
        deployed = moment()
        lead = rng.choice([None, rng.randrange(-(10**9), 4 * 86_400 * 10**6)])
        releases.append(
            Release.objects.create(
                team=rng.choice(teams),
                service=rng.choice(["api", "web", "batch"]),
                version=str(i),
                deployed_at=deployed,
                status=rng.choice(["succeeded"] * 6 + ["failed", "rolled_back"]),
                first_commit_at=None
                if lead is None
                else deployed - dt.timedelta(microseconds=lead),
                change_count=rng.randrange(20),
                deployed_by=rng.choice(people),
            )
        )
    incidents = []
    for i in range(200):
        team = rng.choice(teams)
        started = moment()
        earlier = [r for r in releases if r.team_id == team.id and r.deployed_at <= started]
        cause = rng.choice(earlier) if earlier and rng.random() < 0.5 else None
        resolved = (
            None
            if rng.random() < 0.1
            else started + dt.timedelta(microseconds=rng.randrange(2 * 86_400 * 10**6))
        )
        incidents.append(
            Incident.objects.create(
                team=team,
                title=str(i),
                started_at=started,
                resolved_at=resolved,
                cause="release" if cause else "unknown",
                caused_by=cause,
                resolved_by=rng.choice(people),
                service=rng.choice(["api", "web", ""]),
            )
        )
        if rng.random() < 0.2:
            fixer = rng.choice([r for r in releases if r.team_id == team.id])
            fixer.fixes_incident = incidents[-1]
            fixer.save(update_fields=["fixes_incident"])
    return teams, releases, incidents


def strip(answer: dict[str, Any]) -> dict[str, Any]:
    answer = dict(answer)
    answer.pop("computed_at")
    answer["weeks"] = [{k: v for k, v in w.items() if k != "computed_at"} for w in answer["weeks"]]
    return answer


def answers(settings) -> dict[str, Any]:
    settings.EXECDASH_TIME_ZONE = "Europe/Berlin"
    teams, releases, incidents = seeded_history()
    rollups_recompute_all()
    out = {}
    for start, end in WINDOWS:
        for team in (teams[0], None):
            key = f"{team.slug if team else 'organization'} {start}..{end}"
            out[key] = strip(api_metrics(team=team, start=start, end=end))
            expected = reference.window(
                releases=releases,
                incidents=incidents,
                team_ids={team.id} if team else None,
                start=start,
                end=end,
                tz=org_tz(),
            )
            assert {k: v for k, v in out[key].items() if k not in ("team", "weeks")} == expected
    return out


def check_golden(settings) -> None:
    got = answers(settings)
    if os.environ.get("EXECDASH_WRITE_GOLDEN") and connection.vendor == "sqlite":
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(GOLDEN.read_text())


@pytest.mark.django_db
def test_golden_answers_on_this_database(settings):
    check_golden(settings)


@pytest.mark.postgres
@pytest.mark.django_db
def test_golden_answers_on_postgresql(settings):
    """The PostgreSQL half: runs in the PostgreSQL pass (DATABASE_URL set)."""
    check_golden(settings)


@pytest.mark.postgres
@pytest.mark.django_db
def test_hand_computed_answers_on_postgresql():
    history = handmade.build()
    payments = api_metrics(team=history["payments"], start=START, end=END)
    assert without_freshness(payments) == PAYMENTS
    organization = api_metrics(team=None, start=START, end=END)
    assert without_freshness(organization) == ORGANIZATION
