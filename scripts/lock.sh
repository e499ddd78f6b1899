#!/usr/bin/env bash
# Rebuild the lock files (requirements/*.txt, every file pinned with its hashes) from
# pyproject.toml, keeping every pin that still satisfies it:
#
#   scripts/lock.sh                           after editing pyproject.toml
#   scripts/lock.sh --upgrade-package django  move one package to its newest allowed version
#   scripts/lock.sh --upgrade                 move everything
#
# uv resolves (it reads PEP 735 dependency groups and is quick); pip installs from the
# result (`make install`, the Dockerfile, CI) with --require-hashes. The locks are universal (Linux, macOS, Windows; Python 3.12 and later).
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${VENV:-.venv}/bin/python"
TOOLS="${LOCK_TOOLS_VENV:-var/lock-tools}"
if [ ! -x "$TOOLS/bin/uv" ]; then
    echo "creating $TOOLS (uv, pip-audit) from requirements/tools.txt"
    "$PY" -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --require-hashes --no-deps -r requirements/tools.txt
fi

pip_config() { "$PY" -m pip config get "$1" 2>/dev/null || true; }
# uv resolves against pip's index: PIP_INDEX_URL or `pip config`'s index-url (PyPI when
# neither is set), with pip's certificate bundle. pip's extra indexes and find-links are
# left out on purpose: they are local mirrors holding some of the index's files, and uv
# records the hashes of the index it took a version from, so a lock made from a mirror
# would list only the files that machine happens to hold. From the index, the lock lists
# every file of each version; pip still installs from the mirrors, since their files are
# the same (same hashes).
index="${PIP_INDEX_URL:-$(pip_config global.index-url)}"
if [ -n "$index" ]; then export UV_DEFAULT_INDEX="$index"; fi
cert="${PIP_CERT:-$(pip_config global.cert)}"
if [ -n "$cert" ]; then export SSL_CERT_FILE="$cert"; fi

compile() {
    "$TOOLS/bin/uv" pip compile --quiet --universal --python-version 3.12 --generate-hashes \
        --custom-compile-command "scripts/lock.sh" "$@"
}

# What the image runs; then everything `make install` puts in .venv (runtime + dev +
# setuptools, the project's build requirement), with the runtime pins as constraints.
compile pyproject.toml -o requirements/runtime.txt "${@}"
compile pyproject.toml requirements/build.in --group dev -c requirements/runtime.txt \
    -o requirements/dev.txt "${@}"
compile requirements/tools.in -o requirements/tools.txt "${@}"
echo "requirements/runtime.txt, dev.txt and tools.txt are up to date; commit them."
