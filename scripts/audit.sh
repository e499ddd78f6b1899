#!/usr/bin/env bash
# pip-audit of the lock files (requirements/dev.txt, which holds the runtime pins too, and
# requirements/tools.txt) against a vulnerability database: PyPI's by default,
# AUDIT_SERVICE=osv for OSV. The locks pin every file by hash, so pip-audit reads them
# without resolving or installing anything.
#
# Exit 1 when a locked version has a known vulnerability. When the service cannot answer
# (unreachable, or no data for some packages), the audit did not happen: that is said
# loudly, and fails the run with AUDIT_REQUIRED=1 (set it where the service is reachable).
set -uo pipefail
cd "$(dirname "$0")/.."

PY="${VENV:-.venv}/bin/python"
TOOLS="${LOCK_TOOLS_VENV:-var/lock-tools}"
if [ ! -x "$TOOLS/bin/pip-audit" ]; then
    echo "creating $TOOLS (uv, pip-audit) from requirements/tools.txt"
    "$PY" -m venv "$TOOLS" || exit 1
    "$TOOLS/bin/python" -m pip install --quiet --require-hashes --no-deps \
        -r requirements/tools.txt || exit 1
fi

mkdir -p var
reports=()
for lock in dev tools; do  # one at a time: the two may pin a shared package differently
    report="var/pip-audit-$lock.json"
    rm -f "$report"
    "$TOOLS/bin/pip-audit" --disable-pip --progress-spinner off --timeout 20 \
        --vulnerability-service "${AUDIT_SERVICE:-pypi}" --format json --output "$report" \
        -r "requirements/$lock.txt"
    reports+=("$report")
done

"$PY" - "${AUDIT_REQUIRED:-0}" "${reports[@]}" <<'PYEOF'
import json
import sys

required = sys.argv[1] in {"1", "true", "yes"}
deps, unanswered = [], 0
for path in sys.argv[2:]:
    try:
        with open(path) as handle:
            deps += json.load(handle).get("dependencies", [])
    except (OSError, ValueError):
        unanswered += 1  # pip-audit stopped before writing its report
vulnerable = [d for d in deps if d.get("vulns")]
skipped = [d for d in deps if "skip_reason" in d]
audited = len(deps) - len(skipped)
bar = "!" * 70
for dep in vulnerable:
    ids = ", ".join(v["id"] for v in dep["vulns"])
    fixes = ", ".join(sorted({f for v in dep["vulns"] for f in v.get("fix_versions", [])}))
    print(f"VULNERABLE {dep['name']} {dep['version']}: {ids} (fixed in: {fixes or 'no fix yet'})")
print(f"pip-audit: {audited} locked packages audited, {len(vulnerable)} vulnerable, "
      f"{len(skipped)} could not be audited")
if vulnerable:
    sys.exit(1)
if skipped or unanswered:
    print(f"\n{bar}\n!!!! THE VULNERABILITY AUDIT DID NOT RUN for {len(skipped) or 'all'} "
          "package(s): the vulnerability service could not answer")
    for dep in skipped[:5]:
        print(f"!!!!   {dep['name']} {dep.get('version', '')}: {dep['skip_reason']}")
    print(f"!!!! (AUDIT_SERVICE=osv tries OSV instead; AUDIT_REQUIRED=1 makes this fail.)\n{bar}\n")
    sys.exit(1 if required else 0)
PYEOF
