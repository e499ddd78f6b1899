#!/usr/bin/env bash
# Print the path of a Python >= 3.12 to build the virtualenv with, or explain what to install.
#
# Candidates on PATH are actually run: pyenv shims exist for versions that are installed but
# not active, and those fail when called.
set -u

ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

for name in python3.13 python3.12 python3; do
    if command -v "$name" >/dev/null 2>&1 && ok "$name"; then
        "$name" -c 'import sys; print(sys.executable)'
        exit 0
    fi
done

if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root 2>/dev/null)"
    for pattern in "versions/3.13*/bin/python3.13" "versions/3.12*/bin/python3.12"; do
        # Newest patch release first.
        for candidate in $(ls -d "$root"/$pattern 2>/dev/null | sort -rV); do
            if ok "$candidate"; then
                echo "$candidate"
                exit 0
            fi
        done
    done
fi

cat >&2 <<'MSG'
execdash needs Python 3.12 or newer, and none was found.
Looked for python3.13, python3.12 and python3 on PATH, then in pyenv's versions.
Install one, for example:
  Debian/Ubuntu:  apt-get install python3 python3-venv   (Debian 13 / Ubuntu 24.04 ship 3.12+)
  pyenv:          pyenv install 3.13
  macOS:          brew install python@3.13
or point the Makefile at one: make PYTHON=/path/to/python3.13 install
MSG
exit 1
