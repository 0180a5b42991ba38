#!/usr/bin/env bash
# Known-vulnerability audit of every pinned dependency (issue #10), with pip-audit in a throwaway tool venv.
# pip-audit needs PyPI's per-release JSON API (https://pypi.org/pypi/NAME/VERSION/json, which carries each release's
# advisories). Without it pip-audit reports every package as "could not be audited", a false green without --strict,
# so the API is probed first with our pinned Django: when it does not answer with advisory data the audit says
# NOT RUN (exit 0 unless AUDIT_REQUIRED=1); when it answers, any known vulnerability or unauditable package fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
django="$(sed -n 's/^[Dd]jango==//p' requirements.txt)"
probe="$(curl -fsS --max-time 15 "https://pypi.org/pypi/django/$django/json" 2>/dev/null || true)"
if ! grep -q '"vulnerabilities"' <<<"$probe"; then
  echo "pip-audit NOT RUN: PyPI's per-release JSON API (advisory data) is not reachable from this machine."
  [ "${AUDIT_REQUIRED:-0}" = 1 ] && exit 1
  exit 0
fi
tool="${TMPDIR:-/tmp}/beacon-pip-audit"
[ -x "$tool/bin/pip-audit" ] || { "$PYTHON" -m venv "$tool" && "$tool/bin/pip" install -q pip-audit==2.10.1; }
"$tool/bin/pip-audit" --strict --no-deps --disable-pip --progress-spinner off \
  -r requirements.txt -r requirements-dev.txt -r requirements-bench.txt
