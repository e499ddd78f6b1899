"""The Content Security Policy header and htmx's configuration for it (the browser pass,
tests/browser/test_every_page.py, checks that no page breaks it)."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_the_policy_allows_no_inline_script_eval_or_style_element(client):
    policy = directives(client.get("/accounts/login/")["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["style-src-elem"] == ["'self'"]
    # The one exception, written down in settings.py and the README: style attributes.
    assert policy["style-src-attr"] == ["'unsafe-inline'"]
    for name, values in policy.items():
        assert "'unsafe-eval'" not in values, name
        if name != "style-src-attr":
            assert "'unsafe-inline'" not in values, name


def test_htmx_runs_without_eval_or_injected_styles(client):
    page = client.get("/accounts/login/").content.decode()
    found = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page)
    assert found, "no htmx-config meta"
    config = json.loads(found.group(1))
    assert config == {
        "includeIndicatorStyles": False,
        "allowEval": False,
        # On: off, htmx strips the charts' JSON from swapped fragments; the CSP refuses the
        # inline scripts it would run.
        "allowScriptTags": True,
    }
