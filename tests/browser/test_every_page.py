"""Every page of the app in a real browser, with hostile names in the data.

One organization is seeded once, its team, services, versions, incident titles, outcome and
focus names all carrying XSS payloads. Then:

- the CSP pass: one context per role (an admin who also manages the team, and nobody logged
  in) opens every page, the admin's included, and sees no Content Security Policy violation
  (the `securitypolicyviolation` events an init script collects, and Chromium's "Refused to
  …" console lines), no console error, no dialog, and the team page's charts drawn; hovering
  a chart marker that carries the payload shows it as text;
- the accessibility pass: a separate context with `bypass_csp` (axe-core is injected by the
  test, it is not served by the app) runs axe-core on each of the app's own pages (not the
  Django admin) and finds no WCAG 2.2 AA violation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD
from tests.security.hostile import IMG, app_pages, seed_hostile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Collects the page's CSP violations where the test can read them (the init script runs
# before the page's own scripts, on every navigation).
CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
    " at " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""

# What a payload that got through would have become in the DOM.
LIVE_PAYLOADS = """() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes) {
      if (a.name.startsWith("on")) found.push(el.tagName + " " + a.name);
    }
  }
  for (const el of document.querySelectorAll('img[src="x"], a[href^="javascript:" i]')) {
    found.push(el.outerHTML);
  }
  for (const el of document.querySelectorAll('script:not([type="application/json"])')) {
    if (el.textContent.includes("alert(")) found.push(el.outerHTML);
  }
  return found;
}"""

# The centre, in the page, of the first point of the trace named `name`.
MARKER_CENTRE = """(gd, name) => {
  for (const trace of gd.querySelectorAll(".scatterlayer .trace")) {
    const data = trace.__data__ && trace.__data__[0];
    const point = trace.querySelector(".point");
    if (data && data.trace && data.trace.name === name && point) {
      const box = point.getBoundingClientRect();
      return {x: box.x + box.width / 2, y: box.y + box.height / 2};
    }
  }
  return null;
}"""


def admin_pages(data: dict[str, Any]) -> list[str]:
    """The Django admin: its index, and a changelist and a change form of a few models."""
    pages = [reverse("admin:index")]
    for model, obj in (
        ("teams_team", data["team"]),
        ("incidents_incident", data["incident"]),
        ("releases_release", data["release"]),
        ("focus_focusperiod", data["focus"]),
        ("api_apitoken", data["token"]),
        ("webhooks_webhook", data["webhook"]),
    ):
        pages.append(reverse(f"admin:{model}_changelist"))
        pages.append(reverse(f"admin:{model}_change", args=[obj.pk]))
    return [*pages, "/api/v1/docs"]


class Watched:
    """A context whose pages report CSP violations, console errors and dialogs."""

    def __init__(self, browser: Any, **options: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
        self.context.set_default_timeout(15_000)
        self.context.add_init_script(CSP_LISTENER)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.dialogs: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                self.console.append(m.text)
                if m.type == "error" or m.text.startswith("Refused to")
                else None
            ),
        )
        self.page.on("pageerror", lambda error: self.console.append(str(error)))

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        self.page.on("dialog", on_dialog)

    def open(self, url: str) -> None:
        self.console.clear()
        self.page.goto(url, wait_until="networkidle")
        charts = self.page.locator("[data-plotly]")
        for i in range(charts.count()):
            self.page.locator("[data-plotly]").nth(i).locator("svg").first.wait_for()
        self.page.locator('[data-plotly][data-drawn="pending"]').first.wait_for(state="detached")

    def problems(self, *, allow: tuple[str, ...] = ()) -> list[str]:
        violations = self.page.evaluate("window.__csp || []")
        console = [c for c in self.console if not any(a in c for a in allow)]
        return [*(f"CSP: {v}" for v in violations), *console, *self.dialogs]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def data(settings: Any, tmp_path: Path) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path / "media"
    return seed_hostile()


@pytest.fixture
def watched(browser: Any) -> Iterator[Any]:
    opened: list[Watched] = []

    def make(**options: Any) -> Watched:
        opened.append(Watched(browser, **options))
        return opened[-1]

    yield make
    for context in opened:
        context.close()


def log_in(watched: Watched, live_server: Any, user: Any) -> None:
    page = watched.page
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")


def test_every_page_keeps_the_policy_and_the_payloads_stay_text(live_server, data, watched):
    found: dict[str, list[str]] = {}

    anonymous = watched()
    anonymous.open(f"{live_server.url}/accounts/login/")
    found["/accounts/login/"] = anonymous.problems()

    admin = watched()
    log_in(admin, live_server, data["admin"])
    for path in [*app_pages(data), *admin_pages(data)]:
        admin.open(f"{live_server.url}{path}")
        found[path] = admin.problems()
        assert admin.page.evaluate(LIVE_PAYLOADS) == [], path
    admin.open(f"{live_server.url}/no-such-page/")
    # The 404 page's own status is the one console line expected.
    found["404"] = admin.problems(allow=("status of 404",))
    assert admin.page.get_by_role("heading", level=1).count() == 1

    # The team page: four charts drawn, and a marker carrying the payload hovered.
    admin.open(f"{live_server.url}/teams/{data['team'].slug}/")
    assert admin.page.locator(".js-plotly-plot").count() >= 4
    chart = admin.page.locator('[data-plotly="figure-time-to-restore"]')
    chart.scroll_into_view_if_needed()
    # The incident marker: a point of the trace named after it, where plotly drew it.
    centre = chart.evaluate(MARKER_CENTRE, "SEV1/SEV2 incident")
    assert centre is not None
    admin.page.mouse.move(centre["x"], centre["y"])
    hover = chart.locator(".hoverlayer .hovertext")
    hover.first.wait_for()
    assert IMG in hover.first.text_content()
    assert chart.locator(".hoverlayer img, .hoverlayer svg[onload]").count() == 0
    screenshot(admin.page, "security-hover")
    found["team page hover"] = admin.problems()

    # Another range swaps the charts in with htmx; they are drawn again, within the policy.
    admin.page.get_by_role("link", name="Last 52 weeks").click()
    admin.page.wait_for_url("**range=52w")
    admin.page.locator(
        '[data-plotly="figure-time-to-restore"][data-drawn="true"] svg'
    ).first.wait_for()
    found["team page, another range"] = admin.problems()

    found = {path: problems for path, problems in found.items() if problems}
    assert found == {}, json.dumps(found, indent=1)

    # The watch itself works: an inline script is refused, and the refusal is seen.
    admin.page.evaluate(
        "() => document.body.appendChild(document.createElement('script')).textContent = '1'"
    )
    admin.page.wait_for_function("window.__csp.length > 0")
    assert any("script-src" in problem for problem in admin.problems())


def test_the_apps_pages_pass_axe_wcag_22_aa(live_server, data, watched):
    # axe-core is the test's script, not the app's: only this context lets it past the CSP.
    axe = watched(bypass_csp=True)
    log_in(axe, live_server, data["admin"])
    found: dict[str, list[str]] = {}
    pages = [*app_pages(data), "/no-such-page/"]
    for path in pages:
        axe.open(f"{live_server.url}{path}")
        found[path] = run_axe(axe.page)
    axe.page.get_by_role("button", name="Log out").click()
    axe.page.wait_for_url("**/accounts/login/")
    found["/accounts/login/"] = run_axe(axe.page)
    found = {path: violations for path, violations in found.items() if violations}
    assert found == {}, json.dumps(found, indent=1)


def run_axe(page: Any) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: "tag", values: tags}})
             .then(r => r.violations.map(v => v.id + " (" + v.impact + "): " + v.help + " — " +
               v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | ")))""",
        AXE_TAGS,
    )
    return list(result)
