"""Logging in: lockout per username and per address, an admin unlock, password rules, the
session ended on the server at logout, and a login page that never says whether a
username exists."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, AdminFactory, UserFactory

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT


def _login(username: str, password: str, *, address: str = "10.0.0.1") -> Any:
    return Client(REMOTE_ADDR=address).post(
        reverse("login"), {"username": username, "password": password}
    )


def _page(response: Any, username: str) -> str:
    """The page with what legitimately differs between two answers taken out."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = re.sub(r'"X-CSRFToken": "[^"]+"', "", html)
    return html.replace(username, "USERNAME")


def test_the_lockout_settings_are_per_username_and_per_address() -> None:
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert LIMIT == 5


def test_a_username_is_locked_after_repeated_failures_from_anywhere() -> None:
    UserFactory(username="maya")
    for attempt in range(LIMIT - 1):
        assert _login("maya", "wrong", address=f"10.0.1.{attempt}").status_code == 200
    # The failure that reaches the limit is answered with the lockout already.
    assert _login("maya", "wrong", address="10.0.1.200").status_code == 429
    # The right password, from an address never seen: still refused while locked.
    response = _login("maya", PASSWORD, address="10.0.9.9")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_an_address_is_locked_after_repeated_failures_for_any_usernames() -> None:
    UserFactory(username="lee")
    for attempt in range(LIMIT):
        _login(f"nobody{attempt}", "wrong", address="10.0.2.1")
    assert _login("lee", PASSWORD, address="10.0.2.1").status_code == 429
    # Another address is not affected.
    assert _login("lee", PASSWORD, address="10.0.2.2").status_code == 302


def test_the_locked_page_keeps_the_login_form_and_says_what_to_do() -> None:
    for _ in range(LIMIT):
        _login("maya", "wrong")
    html = _login("maya", "wrong").content.decode()
    assert "Logging in is paused" in html
    assert "ask an admin to unlock" in html
    assert 'name="password"' in html


def test_an_unknown_username_and_a_wrong_password_get_the_same_answer() -> None:
    UserFactory(username="maya")
    known = _login("maya", "wrong", address="10.0.3.1")
    unknown = _login("ghost", "wrong", address="10.0.3.2")
    assert known.status_code == unknown.status_code == 200
    assert _page(known, "maya") == _page(unknown, "ghost")


def test_an_unknown_username_is_locked_out_like_a_real_one() -> None:
    """Otherwise the lockout itself would tell which usernames exist."""
    UserFactory(username="maya")
    for attempt in range(LIMIT - 1):
        a = _login("maya", "wrong", address=f"10.0.4.{attempt}")
        b = _login("ghost", "wrong", address=f"10.0.5.{attempt}")
        assert a.status_code == b.status_code
        assert _page(a, "maya") == _page(b, "ghost")
    locked_known = _login("maya", "wrong", address="10.0.4.99")
    locked_unknown = _login("ghost", "wrong", address="10.0.5.99")
    assert locked_known.status_code == locked_unknown.status_code == 429
    assert _page(locked_known, "maya") == _page(locked_unknown, "ghost")


def test_an_admin_unlocks_a_username_in_the_admin() -> None:
    UserFactory(username="maya")
    for _ in range(LIMIT):
        _login("maya", "wrong")
    assert _login("maya", PASSWORD).status_code == 429
    attempts = AccessAttempt.objects.filter(username="maya")
    assert attempts.exists()

    admin = Client()
    admin.force_login(AdminFactory())
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert "maya" in admin.get(changelist).content.decode()
    response = admin.post(
        changelist,
        {
            "action": "delete_selected",
            "_selected_action": [a.pk for a in attempts],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="maya").exists()
    assert _login("maya", PASSWORD).status_code == 302


def test_a_successful_login_clears_earlier_failures() -> None:
    UserFactory(username="maya")
    for _ in range(LIMIT - 1):
        _login("maya", "wrong")
    assert _login("maya", PASSWORD).status_code == 302
    for _ in range(LIMIT - 1):
        _login("maya", "wrong")
    assert _login("maya", PASSWORD).status_code == 302


# --- passwords ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "Tr0ub4dor&3",  # 11 characters
        "password1234",  # common
        "qwertyuiop123",  # common
        "123456789012345",  # only digits
    ],
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationError):
        password_validation.validate_password(password, UserFactory.build(username="maya"))


def test_a_twelve_character_password_is_enough() -> None:
    password_validation.validate_password("vivid-otter7", UserFactory.build(username="maya"))


def test_a_64_character_passphrase_is_accepted_and_logs_in() -> None:
    passphrase = "correct horse battery staple, then a long walk by the river Exe!"[:64]
    assert len(passphrase) == 64
    user = UserFactory(username="maya")
    password_validation.validate_password(passphrase, user)
    user.set_password(passphrase)
    user.save()
    assert _login("maya", passphrase).status_code == 302


# --- sessions ----------------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server() -> None:
    UserFactory(username="maya")
    browser = Client()
    assert browser.post(reverse("login"), {"username": "maya", "password": PASSWORD}).status_code
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=cookie).exists()
    assert browser.get(reverse("me")).status_code == 200

    assert browser.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=cookie).exists()
    # Someone who kept a copy of the old cookie gets nothing with it.
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = thief.get(reverse("me"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_logging_out_needs_a_post() -> None:
    browser = Client()
    browser.force_login(UserFactory())
    assert browser.get(reverse("logout")).status_code == 405
    assert browser.get(reverse("me")).status_code == 200
