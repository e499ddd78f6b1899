"""`.env.example` is read by docker compose (`cp .env.example .env`) and by a POSIX shell
(`scripts/run_stack.sh` sources `./.env` with `set -a`): both must read every variable it
sets with the same value."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.foundation.compose_env import Unsupported, compose_dotenv

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.example"
SHELLS = [shell for shell in ("sh", "bash") if shutil.which(shell)]


def shell_reads(shell: str, path: Path) -> dict[str, str]:
    """The environment after `set -a; . FILE` in a clean shell (nothing inherited)."""
    done = subprocess.run(
        ["env", "-i", shell, "-c", 'set -a; . "$0"; env -0', str(path)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert not done.stderr, done.stderr.decode()
    pairs = (item.partition("=") for item in done.stdout.decode().split("\0") if item)
    return {key: value for key, _, value in pairs}


@pytest.mark.parametrize("shell", SHELLS)
def test_compose_and_a_posix_shell_read_the_same_variables(shell: str) -> None:
    composed = compose_dotenv(EXAMPLE.read_text())
    assert {"SECRET_KEY", "DATABASE_URL", "DEFAULT_FROM_EMAIL"} <= set(composed)
    sourced = shell_reads(shell, EXAMPLE)
    for key, value in composed.items():
        assert sourced.get(key) == value, key
    assert composed["DEFAULT_FROM_EMAIL"] == "execdash <execdash@example.com>"


@pytest.mark.parametrize("shell", SHELLS)
def test_the_comparison_catches_what_the_readers_take_differently(
    shell: str, tmp_path: Path
) -> None:
    """The faults the test above exists for: a value with a space or a `#` unquoted."""
    unquoted = tmp_path / "spaces.env"
    unquoted.write_text("FROM=execdash <execdash@example.com>\n")
    assert compose_dotenv(unquoted.read_text()) == {"FROM": "execdash <execdash@example.com>"}
    with pytest.raises(AssertionError):
        shell_reads(shell, unquoted)

    hashed = tmp_path / "hash.env"
    hashed.write_text('PASSWORD=abc#def\nexport QUOTED=\'a b\'  # a comment\nESC="x\\"y"\n')
    assert compose_dotenv(hashed.read_text()) == {"PASSWORD": "abc", "QUOTED": "a b", "ESC": 'x"y'}
    sourced = shell_reads(shell, hashed)
    assert sourced["PASSWORD"] == "abc#def"  # which compose reads as "abc"
    assert (sourced["QUOTED"], sourced["ESC"]) == ("a b", 'x"y')

    with pytest.raises(Unsupported):
        compose_dotenv("URL=http://$HOST/\n")
