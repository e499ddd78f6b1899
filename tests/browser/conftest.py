"""Real-browser fixtures: Playwright's sync API driving Debian's Chromium against
pytest-django's live server.

    def test_journey(page, live_server, login, user): login(page, live_server, user)

`page` records console errors and failed requests; a journey asserts that both stay empty
with `assert_clean(page)`. Screenshots go under test-artifacts/.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.servers.basehttp import WSGIServer
from django.test import testcases

from tests.conftest import CHROMIUM
from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a
# thread with a running loop unless told it is safe (the test itself is synchronous).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# The live server listens on the IPv4 loopback and the browser is sent there by address, so
# no journey depends on how "localhost" resolves on the machine.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VAR = Path(__file__).resolve().parents[2] / "var"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--headless",
]


class _LiveServerThread(testcases.LiveServerThread):
    """The live server, one request at a time while its request threads would share the
    test's in-memory SQLite connection.

    Django hands every request thread the test's connection to an in-memory database. One
    sqlite3 connection used by two threads deadlocks when one of them runs a query that
    calls a Python SQL function (the metrics register some on SQLite): it holds the
    connection's mutex and waits for the GIL, while the other holds the GIL and waits for
    the mutex. Seen as a journey that never ended, with the team page's incident and release
    panels loading side by side. On a database file (the browser pass of `make test`, see
    django_db_modify_db_settings) each request thread opens its own connection and requests
    run in parallel, as in production.
    """

    def _create_server(self, connections_override: Any = None) -> Any:
        if connections_override:
            return WSGIServer(
                (self.host, self.port),
                testcases.QuietWSGIRequestHandler,
                allow_reuse_address=False,
            )
        return super()._create_server(connections_override=connections_override)


# pytest-django's live_server looks LiveServerThread up in this module when it starts one.
testcases.LiveServerThread = _LiveServerThread  # type: ignore[misc]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """On SQLite the journeys use a database file (in WAL mode, as `make run` does) instead
    of the in-memory one: the live server's request threads then each open their own
    connection rather than all sharing the test's."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        VAR.mkdir(exist_ok=True)
        database.setdefault("TEST", {})["NAME"] = str(VAR / "test-browser.sqlite3")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh context and page; `page.console_errors` and `page.failed_requests` collect
    what went wrong while the test ran.
    """
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Generous waits: CI machines are small and run the live server in the same process.
    context.set_default_timeout(15_000)
    expect.set_options(timeout=15_000)
    tab = context.new_page()
    tab.console_errors = []
    tab.failed_requests = []
    tab.on(
        "console",
        lambda message: (
            tab.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    tab.on("pageerror", lambda error: tab.console_errors.append(str(error)))

    def on_failed(request: Any) -> None:
        # A load the browser cancelled because the page navigated on (a form posted while a
        # script was still arriving) is not a failure; error answers are caught below.
        if "ERR_ABORTED" in (request.failure or ""):
            return
        tab.failed_requests.append(f"{request.method} {request.url} ({request.failure})")

    tab.on("requestfailed", on_failed)

    def on_response(response: Any) -> None:
        # A 404 page that a test opens on purpose is expected; the caller filters those.
        if response.status >= 400:
            tab.failed_requests.append(f"{response.status} {response.url}")

    tab.on("response", on_response)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def login() -> Callable[..., None]:
    """`login(page, live_server, user)`: log in through the login form, land on the overview."""

    def do_login(page: Any, live_server: Any, user: Any, password: str = PASSWORD) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")

    return do_login


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_clean(page: Any, *, allow: tuple[str, ...] = ()) -> None:
    """No console errors and no failed requests, except those whose text contains `allow`."""
    errors = [e for e in page.console_errors if not any(a in e for a in allow)]
    failed = [f for f in page.failed_requests if not any(a in f for a in allow)]
    assert errors == [], f"console errors: {errors}"
    assert failed == [], f"failed requests: {failed}"
