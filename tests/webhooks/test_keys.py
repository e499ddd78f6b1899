"""Records written by webhooks are keyed per webhook: the same provider id sent by two
webhooks of one team (github.com and a GitHub Enterprise Server both have a deployment 2)
names two records, and each webhook's later deliveries update its own."""

from __future__ import annotations

import pytest

from apps.incidents.models import Incident
from apps.releases.models import Release
from apps.webhooks.services import webhook_create
from tests.webhooks.conftest import deployment, load, post_github, post_pagerduty

pytestmark = pytest.mark.django_db


def test_two_github_webhooks_of_one_team_sending_deployment_2_make_two_releases(api, team) -> None:
    dotcom, dotcom_secret = webhook_create(team=team, kind="github")
    enterprise, enterprise_secret = webhook_create(team=team, kind="github")
    first = post_github(api, dotcom, dotcom_secret, deployment(deployment_id=2, status_id=10))
    second = post_github(
        api,
        enterprise,
        enterprise_secret,
        deployment(deployment_id=2, status_id=10, state="failure"),
    )
    assert (first.status_code, second.status_code) == (201, 201)
    releases = {r.external_id: r for r in Release.objects.filter(team=team)}
    assert set(releases) == {f"webhook-{dotcom.pk}:2", f"webhook-{enterprise.pk}:2"}
    assert releases[f"webhook-{dotcom.pk}:2"].status == Release.Status.SUCCEEDED
    assert releases[f"webhook-{enterprise.pk}:2"].status == Release.Status.FAILED

    # A later status of deployment 2 from github.com updates github.com's release only.
    later = deployment(
        deployment_id=2, status_id=11, state="error", created_at="2026-01-14T10:20:00Z"
    )
    again = post_github(api, dotcom, dotcom_secret, later)
    assert again.status_code == 200, again.content
    assert again.json()["release"]["id"] == releases[f"webhook-{dotcom.pk}:2"].pk
    assert Release.objects.filter(team=team).count() == 2
    statuses = dict(Release.objects.values_list("external_id", "status"))
    assert statuses == {
        f"webhook-{dotcom.pk}:2": Release.Status.FAILED,
        f"webhook-{enterprise.pk}:2": Release.Status.FAILED,
    }


def test_two_pagerduty_webhooks_sending_one_incident_id_make_two_incidents(api, team) -> None:
    first, first_secret = webhook_create(team=team, kind="pagerduty")
    second, second_secret = webhook_create(team=team, kind="pagerduty")
    post_pagerduty(api, first, first_secret, load("pagerduty_incident_triggered"))
    post_pagerduty(api, second, second_secret, load("pagerduty_incident_triggered"))
    assert Incident.objects.filter(team=team).count() == 2
    # The resolution sent to the first resolves the first's incident only.
    post_pagerduty(api, first, first_secret, load("pagerduty_incident_resolved"))
    open_ids = set(
        Incident.objects.filter(resolved_at__isnull=True).values_list("external_id", flat=True)
    )
    assert open_ids == {second.record_key("Q1ABCDEF234567")}


def test_the_same_id_in_two_teams_stays_two_records(api, team) -> None:
    from tests.factories import TeamFactory

    ours, our_secret = webhook_create(team=team, kind="github")
    theirs, their_secret = webhook_create(team=TeamFactory(), kind="github")
    post_github(api, ours, our_secret, deployment(deployment_id=2))
    post_github(api, theirs, their_secret, deployment(deployment_id=2))
    assert Release.objects.count() == 2
