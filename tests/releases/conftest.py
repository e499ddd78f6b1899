from __future__ import annotations

import pytest
from django.test import Client

from tests.core.personas import Personas, client_for


@pytest.fixture
def people(db) -> Personas:
    return Personas.make()


@pytest.fixture
def member_client(people: Personas) -> Client:
    return client_for(people.member)


@pytest.fixture
def outsider_client(people: Personas) -> Client:
    return client_for(people.outsider)
