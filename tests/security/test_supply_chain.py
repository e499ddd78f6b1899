"""Supply chain: the lock files pin every package with its hashes and agree with
pyproject.toml; make install, the Dockerfile and CI install from them; CI audits them; the
static security rules (ruff's S, bandit's rules) keep their high-severity checks on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# ruff's S rules that bandit rates high severity: never ignored outside the tests.
HIGH_SEVERITY = {
    "S201",  # Flask debug
    "S202",  # tarfile extractall without a filter
    "S324",  # MD5/SHA1 for security
    "S401",  # telnetlib
    "S413",  # pycrypto
    "S501",  # requests with verify=False
    "S502",  # SSL with a bad version
    "S503",  # SSL with bad defaults
    "S504",  # SSL without a version
    "S505",  # weak cryptographic key
    "S507",  # SSH without host key checking
    "S602",  # subprocess with shell=True
    "S605",  # a process started with a shell
    "S609",  # wildcard injection
    "S701",  # Jinja2 without autoescape
}
TEST_PATHS = ("tests/", "benchmarks/")


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {
        canonicalize_name(name): version
        for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)
    }


@pytest.mark.parametrize("lock", ["runtime.txt", "dev.txt", "tools.txt"])
def test_every_pin_has_hashes(lock: str) -> None:
    text = (ROOT / "requirements" / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(entries) > 10
    for entry in entries:
        if entry.startswith("#") or not entry.strip():
            continue
        assert re.match(r"^[A-Za-z0-9_.-]+==\S+", entry), f"not pinned: {entry[:60]}"
        assert "--hash=sha256:" in entry, f"no hash: {entry[:60]}"


def _requirements(group: str | None) -> list[Requirement]:
    listed = (
        PYPROJECT["project"]["dependencies"]
        if group is None
        else PYPROJECT["dependency-groups"][group]
    )
    return [Requirement(text) for text in listed]


@pytest.mark.parametrize(
    ("lock", "group"), [("runtime.txt", None), ("dev.txt", None), ("dev.txt", "dev")]
)
def test_the_locks_satisfy_pyproject(lock: str, group: str | None) -> None:
    """A dependency added to pyproject.toml without `make lock` fails here."""
    locked = pins(lock)
    for requirement in _requirements(group):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements/{lock}: run make lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={locked[name]}, outside {requirement}: run make lock"
        )


def test_dev_lock_keeps_the_runtime_pins() -> None:
    runtime, dev = pins("runtime.txt"), pins("dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime
    assert "setuptools" in dev  # the project's build requirement (--no-build-isolation)


def test_installs_come_from_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes --no-deps -r requirements/dev.txt" in makefile
    assert "--no-deps --no-build-isolation -e ." in makefile
    assert "$(STAMP): pyproject.toml requirements/dev.txt" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps -r requirements/runtime.txt" in dockerfile
    assert not re.search(r"pip install (?!--require-hashes)", dockerfile)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci  # make test runs make install, from the lock
    assert "scripts/audit.sh" in ci


def test_ruff_runs_the_security_rules() -> None:
    assert "S" in PYPROJECT["tool"]["ruff"]["lint"]["select"]


def test_no_high_severity_rule_is_ignored_outside_the_tests() -> None:
    lint = PYPROJECT["tool"]["ruff"]["lint"]
    assert not HIGH_SEVERITY & set(lint.get("ignore", []))
    assert "S" not in lint.get("ignore", [])
    for pattern, codes in lint.get("per-file-ignores", {}).items():
        if pattern.startswith(TEST_PATHS):
            continue
        assert not {c for c in codes if c == "S" or c in HIGH_SEVERITY}, pattern


def test_no_high_severity_finding_is_silenced_in_the_code() -> None:
    silenced = []
    for folder in ("apps", "execdash", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for code in re.findall(r"noqa:[^#]*?\b(S\d{3})", line):
                    if code in HIGH_SEVERITY:
                        silenced.append(f"{path.relative_to(ROOT)}:{number} {code}")
                if re.search(r"#\s*noqa\s*$", line) or "# nosec" in line:
                    silenced.append(f"{path.relative_to(ROOT)}:{number} (blanket)")
    assert not silenced, silenced
