"""Deployment files: compose wiring, the image, documented variables, the Makefile's tools.

Docker cannot run on the CI machines, so the compose file is checked as data: the services,
the one image they share, the variables, the health checks and the start order.
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")
APP_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "CSRF_TRUSTED_ORIGINS",
    "EXECDASH_TIME_ZONE",
)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def settings_variables() -> set[str]:
    """Every environment variable execdash/settings.py reads."""
    source = (ROOT / "execdash" / "settings.py").read_text()
    names = set(
        re.findall(
            r"\benv(?:_bool|_int|_list|_float|_rate)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source
        )
    )
    names |= set(re.findall(r"os\.environ(?:\.get\(|\[)\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
    names.discard("DJANGO_SETTINGS_MODULE")
    return names


def test_compose_runs_the_five_services(compose: dict) -> None:
    assert set(compose["services"]) >= {"postgres", "redis", *APP_SERVICES}


def test_web_worker_and_beat_share_one_image(compose: dict) -> None:
    services = compose["services"]
    images = {services[name].get("image") for name in APP_SERVICES}
    assert len(images) == 1
    assert None not in images
    assert all(services[name].get("build") in (".", {"context": "."}) for name in APP_SERVICES)


def test_each_process_runs_what_it_should(compose: dict) -> None:
    services = compose["services"]
    web = " ".join(services["web"]["command"])
    assert "migrate" in web
    assert web.index("migrate") < web.index("gunicorn")
    assert "celery -A execdash worker" in " ".join(services["worker"]["command"])
    assert "celery -A execdash beat" in " ".join(services["beat"]["command"])
    assert "8000" in str(services["web"]["ports"])


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_get_the_configuration(compose: dict, service: str) -> None:
    environment = compose["services"][service]["environment"]
    assert set(APP_VARIABLES) <= set(environment)
    assert str(environment["DEBUG"]).lower() == "false"
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"].startswith("redis://redis:6379")
    assert "${SECRET_KEY" in environment["SECRET_KEY"]


def test_start_order_and_health_checks(compose: dict) -> None:
    services = compose["services"]
    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])
    assert "ping" in str(services["redis"]["healthcheck"]["test"])
    web_check = str(services["web"]["healthcheck"]["test"])
    assert "healthcheck.py" in web_check
    assert "/health/" in (ROOT / "scripts" / "healthcheck.py").read_text()
    for name in APP_SERVICES:
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
    for name in ("worker", "beat"):  # web migrates; its readiness waits for the worker
        assert services[name]["depends_on"]["web"]["condition"] == "service_started"
    assert "/health/ready" in (ROOT / "scripts" / "healthcheck.py").read_text()


def test_data_lives_in_volumes(compose: dict) -> None:
    volumes = compose["services"]["postgres"]["volumes"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in volumes)
    named = {v.split(":")[0] for v in volumes}
    assert named <= set(compose["volumes"])


def test_the_image() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.13-slim", dockerfile, re.M)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "collectstatic" in dockerfile
    assert "gunicorn execdash.wsgi:application" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", ".env"} <= set(ignored)


def test_every_setting_is_documented() -> None:
    variables = settings_variables()
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EXECDASH_TIME_ZONE"} <= variables
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in sorted(variables | {"SECRET_KEY_FILE"}):
        assert re.search(rf"^#?\s*{name}=", example, re.M), f"{name} missing from .env.example"
        assert f"`{name}`" in readme, f"{name} missing from the README's table"


def test_compose_variables_are_in_the_example() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    example = (ROOT / ".env.example").read_text()
    for name in set(re.findall(r"\$\{([A-Z_]+)", text)):
        assert re.search(rf"^#?\s*{name}=", example, re.M), name


def test_readme_leads_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first = readme.index("## ")
    assert readme[first:].startswith("## The two commands")
    assert "make run" in readme
    assert "make test" in readme
    for section in (
        "## Configuration",
        "## Production with docker compose",
        "## Background work",
        "## Running the tests",
        "## Screenshots",
    ):
        assert section in readme
    assert "docs/overview.png" in readme
    assert "docs/team.png" in readme


def test_makefile_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in (
        "install",
        "run",
        "test",
        "lint",
        "fmt",
        "worker",
        "beat",
        "serve-prod",
        "bench",
        "clean",
    ):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), target
    assert "--require-hashes --no-deps -r requirements/dev.txt" in makefile
    assert "$(STAMP): pyproject.toml" in makefile


def test_ci_entry_point() -> None:
    run = ROOT / ".ci" / "run"
    assert os.access(run, os.X_OK)
    text = run.read_text()
    assert "set -euo pipefail" in text
    assert "apt-get install" in text
    assert "chromium" in text
    assert "pg_ctlcluster" in text
    assert "redis-server" in text
    assert re.search(r"^make test$", text, re.M)
    assert "CI=true" in text
    subprocess.run(["bash", "-n", str(run)], check=True)
    for script in (ROOT / "scripts").glob("*.sh"):
        subprocess.run(["bash", "-n", str(script)], check=True)


def fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)


def find_python(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", str(ROOT / "scripts" / "find_python.sh")],
        env={"PATH": path, "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """A PATH holding only what the script needs besides Python."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("ls", "sort", "cat"):
        real = subprocess.run(
            ["/bin/sh", "-c", f"command -v {tool}"], capture_output=True, text=True, check=True
        ).stdout.strip()
        (bin_dir / tool).symlink_to(real)
    return bin_dir


def test_find_python_skips_shims_that_fail(tmp_path: Path, tools: Path) -> None:
    import sys

    fake(tools, "python3.13", 'echo "pyenv: python3.13: command not found" >&2; exit 127\n')
    (tools / "python3.12").symlink_to(sys.executable)
    done = find_python(str(tools))
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).exists()


def test_find_python_rejects_an_old_python_and_says_what_to_install(tools: Path) -> None:
    fake(tools, "python3", "exit 1\n")  # what `python3 -c <version check>` does on 3.11
    done = find_python(str(tools))
    assert done.returncode == 1
    assert "Python 3.12 or newer" in done.stderr
    assert "pyenv install" in done.stderr


def test_find_python_looks_in_pyenv(tmp_path: Path, tools: Path) -> None:
    import sys

    root = tmp_path / "pyenv"
    (root / "versions" / "3.13.1" / "bin").mkdir(parents=True)
    (root / "versions" / "3.13.1" / "bin" / "python3.13").symlink_to(sys.executable)
    fake(tools, "pyenv", f'[ "$1" = root ] && echo {root}\n')
    done = find_python(str(tools))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(root / "versions" / "3.13.1" / "bin" / "python3.13")
