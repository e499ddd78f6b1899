"""`/me/`: the username as plain text, behind the login, reading only the session and user."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_me_answers_the_username_as_plain_text(client: Client) -> None:
    user = UserFactory(username="ada")
    client.force_login(user)

    response = client.get(reverse("me"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"ada"


def test_me_reads_only_the_session_and_the_user(client: Client) -> None:
    client.force_login(UserFactory())

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("me"))

    assert response.status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 2
    assert "django_session" in sql[0]
    assert "auth_user" in sql[1]


def test_me_sends_anonymous_visitors_to_the_login(client: Client) -> None:
    response = client.get(reverse("me"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_me_answers_get_only(client: Client) -> None:
    client.force_login(UserFactory())

    assert client.post(reverse("me")).status_code == 405
