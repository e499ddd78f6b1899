"""factory_boy factories shared by every test package."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.focus.models import FocusKind, FocusPeriod
from apps.focus.services import focus_kinds_ensure_builtin
from apps.incidents.models import Incident
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.releases.models import Release
from apps.teams.models import Membership, Team

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AdminFactory(UserFactory):
    is_staff = True
    is_superuser = True


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = Membership.Role.MEMBER


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release

    team = factory.SubFactory(TeamFactory)
    service = "api"
    version = factory.Sequence(lambda n: f"1.0.{n}")
    deployed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=2))
    status = Release.Status.SUCCEEDED
    change_count = 3


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    team = factory.SubFactory(TeamFactory)
    title = factory.Sequence(lambda n: f"Incident {n}")
    severity = Incident.Severity.SEV3
    service = "api"
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    cause = Incident.Cause.UNKNOWN


def focus_kind(slug: str = FocusKind.STABILITY) -> FocusKind:
    return focus_kinds_ensure_builtin()[slug]


class FocusPeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FocusPeriod

    team = factory.SubFactory(TeamFactory)
    kind = factory.LazyFunction(focus_kind)
    starts_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    ends_on = None
    rationale = "Recover faster after last quarter's outages."


class OutcomeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Outcome

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Outcome {n}")
    unit = "%"
    direction = Outcome.Direction.UP
    baseline = 10.0
    target = 20.0


class OutcomeMeasurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutcomeMeasurement

    outcome = factory.SubFactory(OutcomeFactory)
    measured_on = factory.LazyFunction(timezone.localdate)
    value = 12.0
